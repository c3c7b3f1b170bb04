"""FineWeb10B GPT-2 token shards for the nanogpt track: download, verify, link, and the run environment.

Shards come from the Hugging Face dataset `kjj0/fineweb10B-gpt2` (100M tokens
each): `fineweb_val_000000.bin` always, plus `fineweb_train_000001.bin` ... as
asked. They land in `$SPEEDRUN_TUI_HOME/data/fineweb10B/`. huggingface_hub is
imported only here, when a download actually starts.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from records.shards import ShardError, verify_shard
from speedrun_tui.errors import UserError
from speedrun_tui.home import data_dir

REPO_ID = "kjj0/fineweb10B-gpt2"
VAL_SHARD = "fineweb_val_000000.bin"
DEFAULT_TRAIN_SHARDS = 103  # all of FineWeb10B: the early records read billions of tokens
VAL_TOKENS = 10_485_760  # the benchmark's fixed validation slice
CONNECT_TIMEOUT_S = 5.0

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def shard_names(train_shards: int) -> list[str]:
    if train_shards < 1:
        raise UserError(f"--shards must be at least 1, got {train_shards}")
    return [VAL_SHARD, *(f"fineweb_train_{i:06d}.bin" for i in range(1, train_shards + 1))]


def fineweb_dir() -> Path:
    return data_dir() / "fineweb10B"


def download(train_shards: int = DEFAULT_TRAIN_SHARDS, *, log: Log = _stderr) -> Path:
    """Fetch the val shard and `train_shards` train shards; verified shards already present are kept."""
    names = shard_names(train_shards)
    out = fineweb_dir()
    missing = [name for name in names if not _is_good(out / name)]
    if not missing:
        log(f"all {len(names)} FineWeb shards already in {out}, verified")
        return out
    endpoint = _check_online()
    for i, name in enumerate(names, 1):
        target = out / name
        if name not in missing:
            log(f"[{i}/{len(names)}] {name}: already here, verified")
            continue
        log(f"[{i}/{len(names)}] {name}: downloading")
        _fetch(name, out, endpoint)
        tokens = _verify_or_remove(target)
        log(f"[{i}/{len(names)}] {name}: {tokens:,} tokens, verified")
    return out


def link_from(source: Path, train_shards: int | None = None, *, log: Log = _stderr) -> Path:
    """Link shards already on disk into the data folder, after verifying each one."""
    source = Path(source).expanduser().resolve()
    if not source.is_dir():
        raise UserError(f"--from {source}: not a folder")
    if train_shards is None:
        train = sorted(p.name for p in source.glob("fineweb_train_*.bin"))
        names = [VAL_SHARD, *train]
    else:
        names = shard_names(train_shards)
    absent = [name for name in names if not (source / name).is_file()]
    if absent or len(names) < 2:
        raise UserError(f"--from {source}: missing {', '.join(absent) or 'train shards (fineweb_train_*.bin)'}")
    for i, name in enumerate(names, 1):  # all verified before any is linked
        log(f"[{i}/{len(names)}] {name}: {verify_shard(source / name):,} tokens, verified")
    out = fineweb_dir()
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        link = out / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(source / name)
    log(f"linked {len(names)} shards from {source} into {out}")
    return out


def require_data() -> Path:
    """The data folder, when it holds the val shard and at least one train shard."""
    out = fineweb_dir()
    if not (out / VAL_SHARD).is_file() or not any(out.glob("fineweb_train_*.bin")):
        raise UserError(f"no FineWeb shards in {out}: run `speedrun-tui data fineweb` first")
    return out


def run_env(folder: Path) -> dict[str, str]:
    """What a nanogpt run needs in its environment (the names llm-speedrunner's templates read)."""
    return {
        "NANOGPT_TRAIN_FILES": str(folder / "fineweb_train_*.bin"),
        "NANOGPT_VAL_FILES": str(folder / "fineweb_val_*.bin"),
        "NANOGPT_VAL_TOKENS": str(VAL_TOKENS),
        "SPEEDRUN_FINEWEB_DIR": str(folder),
    }


def _is_good(path: Path) -> bool:
    try:
        verify_shard(path)
    except ShardError:
        return False
    return True


def _verify_or_remove(path: Path) -> int:
    try:
        return verify_shard(path)
    except ShardError:
        path.unlink(missing_ok=True)  # a bad file must not pass as "already here" next time
        raise


def _check_online() -> str | None:
    """Fail at once, in one line, when the hub can't be reached; returns the endpoint to use."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise UserError("offline: HF_HUB_OFFLINE is set, so FineWeb shards can't be downloaded; "
                        "use `speedrun-tui data fineweb --from DIR` with shards already on disk")
    endpoint = os.environ.get("HF_ENDPOINT") or None
    url = urlparse(endpoint or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise UserError(f"offline: cannot reach {url.hostname}:{port} ({err.strerror or err}); "
                        "use `speedrun-tui data fineweb --from DIR` with shards already on disk") from None
    return endpoint


def _fetch(name: str, out: Path, endpoint: str | None) -> None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        # Resumable: an interrupted file stays as .incomplete under out/.cache and is continued.
        hf_hub_download(repo_id=REPO_ID, filename=name, repo_type="dataset", local_dir=out,
                        endpoint=endpoint, etag_timeout=CONNECT_TIMEOUT_S)
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"download of {name} from {REPO_ID} failed: {first_line}") from None
