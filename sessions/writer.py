"""Who is writing a session, and whether that writer is still alive.

A writer killed with SIGKILL never gets to mark its session; so the session row records
the writer's host, pid and the pid's start time (pids get reused), and readers check
them. On another host, a heartbeat older than HEARTBEAT_STALE_S means the writer is gone.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

HEARTBEAT_STALE_S = 60.0


def _process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux /proc), or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; fields after it are space-separated.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


@dataclass(frozen=True)
class WriterIdentity:
    pid: int
    start: str
    host: str

    @classmethod
    def current(cls) -> WriterIdentity:
        pid = os.getpid()
        return cls(pid, _process_start(pid) or "", socket.gethostname())

    def columns(self) -> tuple[int, str, str]:
        return self.pid, self.start, self.host


def writer_alive(row: dict) -> bool:
    """Whether the writer recorded in a sessions row is still running."""
    pid = row.get("writer_pid")
    if pid is None:
        return False
    if row.get("writer_host") != socket.gethostname():
        return time.time() - (row.get("heartbeat_ts") or 0.0) < HEARTBEAT_STALE_S
    if Path("/proc/self/stat").exists():
        start = _process_start(pid)
        return start is not None and start == (row.get("writer_start") or start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
