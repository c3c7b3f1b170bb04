"""RunOutput: what every backend does with a run's lines as they arrive.

stdout lines are parsed for metrics (stderr never is: forged metrics there don't
count), stderr keeps its tail for the crash reason, the output cap decides what is
kept in run.log and passed on, and at the end the lines become a RunResult.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path

from runner.lines import LogLine, OutputKeeper
from runner.logparse import parse_line
from runner.outcome import MetricTrail, summarize
from runner.result import RunResult
from runner.spec import RunSpec
from runner.treeclock import MARK_PREFIX, ClockTrail
from runner.workspace import LOG_NAME

STDERR_TAIL_LINES = 40


class RunOutput:
    def __init__(self, spec: RunSpec, workdir: Path, on_line: Callable[[LogLine], None] | None,
                 not_stderr_of_script: tuple[str, ...] = ()):
        self.target_loss = spec.target_loss
        self.on_line = on_line
        self.keeper = OutputKeeper(workdir / LOG_NAME, spec.keep_bytes)
        self.trail = MetricTrail(spec.target_loss)
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._harness_prefixes = not_stderr_of_script  # our own notices, kept out of the crash reason
        self.clock: ClockTrail | None = None  # set by a backend that can read the run's process tree

    def take(self, stream: str, text: str) -> None:
        metric = parse_line(text) if stream == "stdout" else None
        if metric is not None:
            self.trail.add(metric)
            if self.clock is not None:
                self.clock.metric(metric.kind, metric.train_time_ms, metric.val_loss)
        elif self.clock is not None and stream == "stdout" and text.startswith(MARK_PREFIX):
            self.clock.mark(text[len(MARK_PREFIX):].strip())
        if stream == "stderr" and not (self._harness_prefixes and text.startswith(self._harness_prefixes)):
            self.stderr_tail.append(text[:1000])
        kept = self.keeper.offer(LogLine(text, stream, metric))
        if kept is not None:
            self._deliver(kept)

    def flush(self) -> None:
        self.keeper.flush()

    def close(self) -> None:
        """The run is over: write and pass on what the cap still holds back."""
        for line in self.keeper.finish():
            self._deliver(line)

    def summarize(self, *, exit_code: int | None, wall_s: float, peak_rss_mb: float,
                  killed_for: str | None, total_cpu_s: float | None = None) -> RunResult:
        result = summarize(self.trail.lines(), exit_code=exit_code, target_loss=self.target_loss,
                           wall_s=wall_s, peak_rss_mb=peak_rss_mb, dropped_lines=self.keeper.dropped_lines,
                           stderr_tail="\n".join(self.stderr_tail), killed_for=killed_for)
        if self.clock is not None:
            result.clock = self.clock.finish(total_cpu_s)
        return result

    def _deliver(self, line: LogLine) -> None:
        if self.on_line is not None:
            self.on_line(line)
