"""Output lines of a run, and the cap on how much of them is kept.

A flooding script must not fill memory or disk, nor the session store downstream,
so the cap applies to run.log and to the live callback alike. Metric lines get a
reserved slice of the budget (training progress keeps flowing after a flood of
junk), and the last lines before the end are kept in a small ring and recovered
when the run finishes (that is where tracebacks and final results are).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runner.logparse import MetricLine

_LINE_OVERHEAD = 64  # bytes a kept line costs beyond its text (object headers, deque slot)
_TAIL_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class LogLine:
    text: str
    stream: Literal["stdout", "stderr"]
    metric: MetricLine | None  # parsed from stdout only; stderr metric lines are never metrics
    dropped_before: int = 0  # lines the cap dropped between the previous delivered line and this one


class OutputKeeper:
    """Decides which lines are kept, writes the kept ones to run.log, counts the rest."""

    def __init__(self, log_path: Path, keep_bytes: int):
        self._log = open(log_path, "w", encoding="utf-8", errors="replace")
        self._free = keep_bytes - keep_bytes // 8  # for any line
        self._metric_reserve = keep_bytes // 8  # only metric lines may spend it
        self._tail: deque[LogLine] = deque()
        self._tail_bytes = 0
        self._tail_max = min(keep_bytes // 8, _TAIL_MAX_BYTES)
        self._gap = 0  # dropped lines not yet announced
        self.dropped_lines = 0

    def offer(self, line: LogLine) -> LogLine | None:
        """The line to deliver live (with its gap count) if kept, else None."""
        cost = len(line.text) + _LINE_OVERHEAD
        if cost <= self._free:
            self._free -= cost
        elif line.metric is not None and cost <= self._metric_reserve:
            self._metric_reserve -= cost
        else:
            self._drop(line, cost)
            return None
        return self._write(line)

    def finish(self) -> list[LogLine]:
        """Recover the ring of last dropped lines, write them, close run.log; returns them."""
        recovered = list(self._tail)
        self.dropped_lines -= len(recovered)
        self._gap -= len(recovered)
        self._tail.clear()
        kept = [self._write(line) for line in recovered]
        if self._gap:
            self._log.write(_marker(self._gap))
        self._log.close()
        return kept

    def flush(self) -> None:
        self._log.flush()

    def _drop(self, line: LogLine, cost: int) -> None:
        self.dropped_lines += 1
        self._gap += 1
        self._tail.append(line)
        self._tail_bytes += cost
        while self._tail_bytes > self._tail_max:
            gone = self._tail.popleft()
            self._tail_bytes -= len(gone.text) + _LINE_OVERHEAD

    def _write(self, line: LogLine) -> LogLine:
        if self._gap:
            self._log.write(_marker(self._gap))
            line = LogLine(line.text, line.stream, line.metric, dropped_before=self._gap)
            self._gap = 0
            self._tail.clear()  # dropped lines before a kept one stay lost: run.log keeps order
            self._tail_bytes = 0
        self._log.write(line.text + "\n")
        return line


def _marker(count: int) -> str:
    return f"[speedrun-tui: {count} lines dropped here: output over the keep_bytes cap]\n"
