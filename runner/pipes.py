"""Turn the bytes a child writes into lines, whatever sizes its writes and our reads have.

A line longer than MAX_LINE_BYTES is cut into pieces, so a script that writes
without newlines cannot grow our memory. Bytes are decoded as UTF-8 with
replacement; a trailing \\r (Windows line ends, progress bars) is dropped.
"""

from __future__ import annotations

MAX_LINE_BYTES = 64 * 1024
READ_BYTES = 64 * 1024  # one os.read; a reader of a flood gets about this much per call


class LineSplitter:
    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[str]:
        """The lines this chunk completes."""
        *complete, self._pending = (self._pending + chunk).split(b"\n")
        while len(self._pending) > MAX_LINE_BYTES:
            complete.append(self._pending[:MAX_LINE_BYTES])
            self._pending = self._pending[MAX_LINE_BYTES:]
        return [_decode(raw) for raw in complete]

    def rest(self) -> list[str]:
        """At end of output: the last line, if it had no newline."""
        rest, self._pending = self._pending, b""
        return [_decode(rest)] if rest else []


def _decode(raw: bytes) -> str:
    return raw.rstrip(b"\r").decode("utf-8", errors="replace")
