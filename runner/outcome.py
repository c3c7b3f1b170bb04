"""From parsed metrics and how the process ended to a RunResult; shared by every backend.

Status, in order of precedence:
  cancelled / timeout  the runner killed it (killed_for); time to target is still reported
  (harness stops)      after_claim: killed for running on after its target claim (ok, records/integrity.py
                       flags it); enough_vals: stopped once the seed check had its lines (judged from the log)
  crashed              a loss became nan/inf (reason names the line), or a non-zero exit
  no_metrics           no validation line with a loss in the log
  ok                   no target set, or a validation loss at or below the target
  target_missed        validation ran, never reached the target
time_to_target_ms is the train_time of the first validation line at or below the
target. llm.c-style logs have no clock: there the target can be reached (status ok,
steps_to_target set) while time_to_target_ms stays None, so the run is not `valid`.
"""

from __future__ import annotations

import math
import signal

from runner.logparse import MetricLine
from runner.result import RunResult, ValPoint

MAX_VAL_LINES = 20_000  # validation lines kept per run; past it only the ones that decide the outcome


class MetricTrail:
    """The metric lines summarize needs, in order, with memory bounded for a flooding script."""

    def __init__(self, target_loss: float | None):
        self._target = target_loss
        self._lines: list[MetricLine] = []
        self.vals = 0  # validation lines seen
        self._kept_vals = 0
        self._last: MetricLine | None = None
        self._bad_seen = False
        self._hit_seen = False

    def add(self, metric: MetricLine) -> None:
        self.vals += metric.kind == "val"
        keep = metric.kind == "val" and self._kept_vals < MAX_VAL_LINES
        if not metric.finite and not self._bad_seen:
            keep = self._bad_seen = True
        if metric.kind == "val" and not self._hit_seen and _reaches(metric, self._target):
            keep = self._hit_seen = True
        if keep:
            self._lines.append(metric)
            self._kept_vals += metric.kind == "val"
        self._last = metric

    def lines(self) -> list[MetricLine]:
        """Kept lines plus the very last one (final loss, steps done)."""
        if self._last is not None and (not self._lines or self._lines[-1] is not self._last):
            return [*self._lines, self._last]
        return list(self._lines)


def summarize(metrics: list[MetricLine], *, exit_code: int | None, target_loss: float | None,
              wall_s: float, peak_rss_mb: float, dropped_lines: int, stderr_tail: str,
              killed_for: str | None) -> RunResult:
    vals = [m for m in metrics if m.kind == "val" and m.val_loss is not None]
    finite_vals = [m for m in vals if m.finite]
    hit = next((m for m in finite_vals if _reaches(m, target_loss)), None)
    result = RunResult(
        status="ok", exit_code=exit_code, target_loss=target_loss,
        curve=[ValPoint(m.step, m.val_loss, m.train_time_ms) for m in finite_vals if m.train_time_ms is not None],
        time_to_target_ms=hit.train_time_ms if hit else None,
        steps_to_target=hit.step if hit else None,
        final_val_loss=vals[-1].val_loss if vals else None,
        wall_s=round(wall_s, 3), peak_rss_mb=round(peak_rss_mb, 1),
        dropped_lines=dropped_lines, stderr_tail=stderr_tail)
    result.status, result.reason = _judge(metrics, finite_vals, hit, exit_code, target_loss, killed_for,
                                          wall_s, stderr_tail)
    return result


def _judge(metrics, finite_vals, hit, exit_code, target_loss, killed_for, wall_s, stderr_tail):
    bad = next((m for m in metrics if not m.finite), None)
    if killed_for == "cancelled":
        return "cancelled", f"cancelled after {wall_s:.1f} s"
    if killed_for == "timeout":
        return "timeout", f"killed at the {wall_s:.0f} s timeout"
    if bad is not None:
        nan_val = bad.val_loss is not None and not math.isfinite(bad.val_loss)
        which, value = ("val_loss", bad.val_loss) if nan_val else ("train_loss", bad.train_loss)
        return "crashed", f"{which} became {value} at step {bad.step}"
    if killed_for == "after_claim":
        where = f" at step {hit.step}" if hit is not None else ""
        return "ok", f"killed by the harness: it kept running after its target claim{where}"
    if exit_code and killed_for != "enough_vals":
        return "crashed", _exit_reason(exit_code, stderr_tail)
    if not finite_vals:
        return "no_metrics", "no validation line (`step:N/M val_loss:X train_time:Yms` or `s:N tel:X`) in the output"
    if target_loss is None:
        return "ok", "no target loss set"
    if hit is None:
        best = min(m.val_loss for m in finite_vals)
        return "target_missed", f"best val_loss {best:.4f} never reached the target {target_loss:.4f}"
    if hit.train_time_ms is None:
        return "ok", f"reached the target at step {hit.step}; the log has no train_time, so no time to target"
    return "ok", f"reached val_loss {hit.val_loss:.4f} <= {target_loss:.4f} at step {hit.step}"


def _reaches(metric: MetricLine, target_loss: float | None) -> bool:
    return target_loss is not None and metric.finite and metric.val_loss is not None and metric.val_loss <= target_loss


def _exit_reason(exit_code: int, stderr_tail: str) -> str:
    if exit_code < 0:
        try:
            what = f"killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            what = f"killed by signal {-exit_code}"
    else:
        what = f"exited with code {exit_code}"
    last = next((ln.strip() for ln in reversed(stderr_tail.splitlines()) if ln.strip()), "")
    return f"{what}: {last[:200]}" if last else what
