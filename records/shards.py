"""Token shards in the llm.c / modded-nanogpt `.bin` format: read, verify, write.

Layout: a header of 256 little-endian int32 (magic 20240520, version 1, token
count, then zeros), followed by the tokens as little-endian uint16. The micro
track writes byte-level shards in the same format, so one reader serves both.
"""

from __future__ import annotations

import os
import struct
import sys
from array import array
from pathlib import Path

from speedrun_tui.errors import UserError

MAGIC = 20240520
VERSION = 1
HEADER_INTS = 256
HEADER_BYTES = HEADER_INTS * 4
TOKEN_BYTES = 2


class ShardError(UserError):
    """A shard whose header or size is wrong; the message names the file and the fault."""


def read_header(path: Path) -> int:
    """The token count a shard's header declares, after checking magic and version."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(HEADER_BYTES)
    except FileNotFoundError:
        raise ShardError(f"{path}: no such file") from None
    if len(raw) < HEADER_BYTES:
        raise ShardError(f"{path}: {len(raw)} bytes, shorter than the {HEADER_BYTES}-byte header")
    magic, version, num_tokens = struct.unpack_from("<3i", raw)
    if magic != MAGIC:
        raise ShardError(f"{path}: magic number {magic}, expected {MAGIC} (not a token shard)")
    if version != VERSION:
        raise ShardError(f"{path}: version {version}, expected {VERSION}")
    if num_tokens <= 0:
        raise ShardError(f"{path}: header declares {num_tokens} tokens")
    return num_tokens


def verify_shard(path: Path) -> int:
    """The shard's token count, after checking its header and that its size matches that count."""
    path = Path(path)
    num_tokens = read_header(path)
    size = path.stat().st_size
    expected = HEADER_BYTES + num_tokens * TOKEN_BYTES
    if size != expected:
        raise ShardError(
            f"{path}: {size:,} bytes, but its {num_tokens:,} tokens need {expected:,} (truncated or partial download)"
        )
    return num_tokens


def write_shard(path: Path, tokens) -> Path:
    """Write `tokens` (bytes, or ints in 0..65535) as a shard, atomically; returns the path."""
    if isinstance(tokens, (bytes, bytearray)):
        # Byte-level tokens: each byte becomes the low half of a little-endian uint16.
        body = bytearray(2 * len(tokens))
        body[0::2] = tokens
        count = len(tokens)
    else:
        values = array("H", tokens)
        if sys.byteorder != "little":
            values.byteswap()
        body, count = values.tobytes(), len(values)
    header = struct.pack("<3i", MAGIC, VERSION, count) + bytes(HEADER_BYTES - 12)
    return write_atomic(Path(path), header + bytes(body))


def write_atomic(path: Path, data: bytes) -> Path:
    """Write through a temporary file and rename, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
