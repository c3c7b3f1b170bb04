"""How `calibrate micro` shows itself: a live Rich progress display, then the ladder table."""

from __future__ import annotations

import statistics
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from records.calibrate import Job, LadderRow, Progress as CalibrationProgress
from records.calibration import RunTime
from records.fingerprint import CpuFingerprint


class RichProgress(CalibrationProgress):
    """One bar per run in flight (rung, seed, step of its expected steps, val_loss) and one for all runs,
    started again for each phase: the runs to the target, then the short runs that time a step.

    The overall bar counts training steps, each run's expected from an earlier calibration of
    its seed (steps to the target are fixed by the seed), so its time estimate weighs long rungs."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.bars = self._fresh_bars()

    def _fresh_bars(self) -> Progress:
        self.running: dict[Job, TaskID] = {}
        self.steps: dict[Job, int] = {}
        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[note]}"), TimeRemainingColumn(), console=self.console)

    def start(self, jobs: list[Job], fingerprint: CpuFingerprint, out: Path) -> None:
        self.bars = self._fresh_bars()
        if not jobs:
            return
        what = "timing the cost of a step" if jobs[0].cost_round is not None else "calibrating"
        self.console.print(f"{what}: {len(jobs)} run(s) on {fingerprint.describe()}; writing {out}")
        self.overall = self.bars.add_task("all runs", total=sum(j.expected_steps for j in jobs) or None,
                                          note=f"0/{len(jobs)} runs")
        self.jobs, self.finished = len(jobs), 0
        self.bars.start()

    def step(self, job: Job, step: int, total: int, val_loss: float | None) -> None:
        if job not in self.running:
            self.running[job] = self.bars.add_task(job.label, total=total, note="")
        note = "" if val_loss is None else f"val_loss {val_loss:.3f}"
        self.bars.update(self.running[job], completed=step, total=max(total, step), note=note)
        self.bars.advance(self.overall, step - self.steps.get(job, 0))
        self.steps[job] = step

    def done(self, job: Job, run: RunTime | None, error: str = "") -> None:
        if job in self.running:
            self.bars.remove_task(self.running.pop(job))
        self.finished += 1
        self.bars.update(self.overall, note=f"{self.finished}/{self.jobs} runs")
        if error:
            what = error
        elif job.cost_round is not None:
            what = f"{1000 * run.time_s / run.steps:.1f} ms a step ({run.steps} steps)"
        else:
            what = f"{run.time_s:.1f} s ({run.wall_s:.1f} s wall), {run.steps} steps"
        self.console.print(f"{job.label} ({job.rung.slug}): {what}")

    def stop(self) -> None:
        self.bars.stop()


def ladder_table(rows: list[LadderRow], title: str) -> Table:
    """The calibrated ladder: time per rung, speedups, and which steps are significant here."""
    table = Table(title=title)
    for name, justify in (("rung", "left"), ("idea", "left"), ("steps", "right"), ("step (ms)", "right"),
                          ("time to target (s)", "right"), ("vs rung 1", "right"), ("vs previous", "right")):
        table.add_column(name, justify=justify)
    for row in rows:
        t = row.times
        previous = "" if row.vs_previous is None else f"{row.vs_previous:.2f}x" + (
            "" if row.significant else " n.s.")
        cost = f"{statistics.fmean(t.step_ms):.0f} ± {statistics.stdev(t.step_ms):.0f}" if len(t.step_ms) > 1 \
            else "".join(f"{c:.0f}" for c in t.step_ms)
        table.add_row(f"{row.rung.number} {row.rung.slug}", row.rung.title, ", ".join(map(str, t.steps)), cost,
                      f"{t.mean_s:.1f} ± {t.std_s:.1f}",
                      "" if row.vs_first is None else f"{row.vs_first:.2f}x", previous)
    return table


def more_rounds_hint(rows: list[LadderRow]) -> str | None:
    """When a step is n.s. and the step costs were timed, the command that adds three rounds: a noisy
    sitting's costs spread 4-10 % a round, and more rounds shrink their standard error."""
    unsettled = [row for row in rows if row.significant is False and row.times.step_ms]
    if not unsettled:
        return None
    rounds = max(len(row.times.step_ms) for row in rows) + 3
    names = ", ".join(f"{row.rung.number - 1} -> {row.rung.number}" for row in unsettled)
    return (f"not significant here: {names}; more rounds of step costs may settle them "
            f"(the same command with --cost-rounds {rounds} adds only the missing rounds)")
