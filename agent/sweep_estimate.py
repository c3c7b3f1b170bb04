"""What a sweep will cost before it runs (`sweep --dry-run`): training runs per cell, CPU or GPU hours.

A cell's runs: the start code, its node budget, then either the next record's timing or K paired
verification rounds (start code, best node, next record). Each run is costed at the start code's
time from the catalog: the micro rungs' calibration on this CPU, the nanogpt records' published
times. That is the training clock only; validation passes, start-up and the harness's fresh-seed
check of each improving node come on top, so read it as a floor.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.models import default_budget
from agent.scaffolds import BENCHMARK_BUDGET
from agent.sweepfile import SweepFile
from agent.verification_phase import DEFAULT_VERIFY_REPEATS
from records.task import Task
from sessions.sweeps import Cell

RECORD_GPUS = 8  # the nanogpt tracks' record times are 8xH100 times: one run holds 8 GPUs


@dataclass(frozen=True)
class CellCost:
    cell: Cell
    runs: int
    run_s: float | None  # one run's training time; None: the task has no time here (not calibrated)
    track: str
    threads: int  # CPU threads of a micro run

    @property
    def cpu_s(self) -> float:
        """Core-seconds of a micro cell (0 for GPU cells and unknown times)."""
        return self.runs * self.run_s * self.threads if self.run_s and self.track == "micro" else 0.0

    @property
    def gpu_s(self) -> float:
        return self.runs * self.run_s * RECORD_GPUS if self.run_s and self.track != "micro" else 0.0


def estimate(sweep: SweepFile) -> list[CellCost]:
    tasks = {task.id: task for task in sweep.tasks}
    return [_cost(sweep, cell, tasks[cell.task]) for cell in sweep.cells]


def _cost(sweep: SweepFile, cell: Cell, task: Task) -> CellCost:
    base = sweep.base
    run_s = task.start_time_s or None
    search = base.max_nodes or default_budget(cell.model) or BENCHMARK_BUDGET
    if base.time_budget_s is not None and run_s:  # the search stops when its wall-clock budget is spent
        search = min(search, max(1, int(base.time_budget_s * base.parallel // run_s)))
    repeats = base.verify_repeats if base.verify_repeats is not None else (
        DEFAULT_VERIFY_REPEATS if task.track == "micro" else 0)
    timed_next = base.time_target and task.target_script is not None
    after = repeats * (3 if timed_next else 2) if repeats else int(timed_next)
    return CellCost(cell, 1 + search + after, run_s, task.track, task.threads)


def wall_s(costs: list[CellCost], runs_at_once: int) -> float:
    """The sweep's training time on this machine with `runs_at_once` runs side by side (micro cells)."""
    return sum(c.runs * c.run_s for c in costs if c.run_s and c.track == "micro") / max(1, runs_at_once)
