"""Starting a sweep: what would fail every cell alike is said once, up front; then the sweep runs
headless (a live table on stderr) or in the TUI's sweep screen. Also `sweep --dry-run`."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from agent.sweep import SweepOutcome, SweepRunner
from agent.sweepfile import SweepFile
from speedrun_tui.console import stdout_console
from speedrun_tui.errors import UserError


def dry_run(sweep: SweepFile, db_path: Path, parallel: int) -> int:
    from agent.sweep_display import cost_lines, plan_table
    from agent.sweep_estimate import estimate
    from sessions.sweep_progress import cells_progress

    states = None
    if db_path.exists():
        states = {cell.cell.key: cell.state for cell in cells_progress(db_path, sweep.name, sweep.cells)}
    console = stdout_console()
    costs = estimate(sweep)
    console.print(plan_table(costs, states))
    for line in left_out_lines(sweep) + cost_lines(costs, parallel * sweep.base.parallel, sweep.base.backend):
        console.print(line, highlight=False)
    return 0


def launch(sweep: SweepFile, db_path: Path, args: argparse.Namespace) -> int:
    from agent.sweep_commands import DEFAULT_MAX_JOBS
    from runner.slurm import cap_jobs

    slurm = sweep.base.backend == "slurm"
    workers = (args.max_jobs or sweep.max_jobs or DEFAULT_MAX_JOBS) if slurm else args.parallel
    if workers < 1:
        raise UserError(f"{'--max-jobs' if slurm else '--parallel'} must be at least 1, got {workers}")
    preflight(sweep, workers, oversubscribe=args.oversubscribe)
    runner = SweepRunner(sweep, db_path, workers=workers, oversubscribe=args.oversubscribe)
    runner.claim()  # another process running it is said now, before any screen opens
    cap_jobs(workers if slurm else None)
    try:
        if args.ui == "headless":
            return run_headless_sweep(runner)
        # The UI sits above this layer: found at run time, as `run` finds its interfaces.
        outcome = importlib.import_module("tui.app").run_sweep(runner)
        if outcome is not None:
            print("\n".join([f"sweep {sweep.name}: {outcome.progress.summary()}", *outcome_lines(outcome)]))
        return 0 if outcome and _all_done(outcome) else 1
    finally:
        cap_jobs(None)


def preflight(sweep: SweepFile, workers: int, *, oversubscribe: bool) -> None:
    """The checks every cell would fail the same way: a task not ready here, a model without its
    key or file, more runs than cores, a bad Slurm config."""
    from agent.llm import missing_key_message
    from agent.models import is_builtin
    from records.catalog import why_not_ready

    for task in sweep.tasks:
        if reason := why_not_ready(task):
            raise UserError(f"task {task.id} is not ready: {reason}")
    for model in sorted({cell.model for cell in sweep.cells}):
        if model.startswith("scripted:") and not Path(model.split(":", 1)[1]).is_file():
            raise UserError(f"scripted model: no file {model.split(':', 1)[1]!r}")
        if not is_builtin(model) and (message := missing_key_message(model, sweep.base.api_base)):
            raise UserError(message)
    base = sweep.base
    if base.backend == "slurm":
        from runner.backends import runner_for

        runner_for("slurm", base.slurm_config)
    elif not oversubscribe:
        from runner.machineload import refuse_oversubscription

        refuse_oversubscription(workers * base.parallel, max(task.threads for task in sweep.tasks), option="--parallel")


def run_headless_sweep(runner: SweepRunner) -> int:
    from rich.console import Console

    from agent.sweep_display import SweepDisplay

    console = Console(stderr=True)
    display = SweepDisplay(console)
    for line in left_out_lines(runner.sweep):
        console.print(line, highlight=False)
    outcome = runner.run(display)
    display.close(outcome.progress)
    for line in outcome_lines(outcome):
        console.print(line, highlight=False)
    return 0 if _all_done(outcome) else 1


def _all_done(outcome: SweepOutcome) -> bool:
    return outcome.progress.count("done") == len(outcome.progress.cells)


def outcome_lines(outcome: SweepOutcome) -> list[str]:
    """Why cells could not run (each reason once), and how to go on."""
    by_reason: dict[str, list] = {}
    for cell, reason in outcome.errors.items():
        by_reason.setdefault(reason, []).append(cell)
    lines = [f"{len(cells)} cell(s) failed ({cells[0].label}{', ...' if len(cells) > 1 else ''}): {reason}"
             for reason, cells in by_reason.items()]
    if not _all_done(outcome):
        lines.append("stopped: every cell is resumable; run the same command again to go on" if outcome.stopped
                     else "some cells did not finish; run the same command again to resume them")
    return lines


def left_out_lines(sweep: SweepFile) -> list[str]:
    return [f"left out {task.id}: {task.unavailable_reason}" for task in sweep.left_out]
