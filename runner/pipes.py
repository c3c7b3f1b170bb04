"""Read a child's pipes concurrently and hand complete lines to one queue.

Each pipe gets a daemon thread that reads whatever is available (so lines arrive
as they are produced), splits it into lines, and puts (stream, lines) batches on a
bounded queue: a consumer that falls behind slows the child down instead of
growing memory. A line longer than MAX_LINE_BYTES is cut into pieces.
"""

from __future__ import annotations

import os
import queue
import threading

MAX_LINE_BYTES = 64 * 1024
_CHUNK = 64 * 1024
EOF = None  # the batch a reader puts last


def start_reader(fd: int, stream: str, out: queue.Queue) -> threading.Thread:
    thread = threading.Thread(target=_read_lines, args=(fd, stream, out),
                              name=f"runner-{stream}", daemon=True)
    thread.start()
    return thread


def _read_lines(fd: int, stream: str, out: queue.Queue) -> None:
    pending = b""
    try:
        while chunk := os.read(fd, _CHUNK):
            *complete, pending = (pending + chunk).split(b"\n")
            while len(pending) > MAX_LINE_BYTES:
                complete.append(pending[:MAX_LINE_BYTES])
                pending = pending[MAX_LINE_BYTES:]
            if complete:
                out.put((stream, [_decode(raw) for raw in complete]))
    except OSError:  # the fd was closed under us: treat as end of output
        pass
    if pending:
        out.put((stream, [_decode(pending)]))
    out.put((stream, EOF))


def _decode(raw: bytes) -> str:
    return raw.rstrip(b"\r").decode("utf-8", errors="replace")
