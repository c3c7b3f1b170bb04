"""The task catalog: micro tasks built in, nanogpt tasks read from the imported catalog.

Task `micro/k` starts from rung k's train.py and aims at rung k+1's calibrated time,
with transition k -> k+1's hints and reference diff. Tasks `nanogpt/k` and
`nanogpt-medium/k` come from `speedrun-tui import nanogpt` (records/nanogpt_catalog.py).
"""

from __future__ import annotations

from pathlib import Path

from records.calibration import DEFAULT_TARGET_LOSS, DEFAULT_THREADS, Choice, all_calibrations, choose, significant
from records.ladder import DIFF_FILE, HINT_FILES, RUNGS, Rung, hints_dir
from records.microdata import heldout_path
from records.task import Task
from speedrun_tui.errors import UserError

TRACKS = ("micro", "nanogpt", "nanogpt-medium")
GPU_TRACKS = ("nanogpt", "nanogpt-medium")


def list_tasks(track: str | None = None, *, benchmark: bool = False) -> list[Task]:
    """All tasks of `track` (or of every track), unavailable ones included with their reasons;
    with `benchmark`, only the paper's 19."""
    if track is not None and track not in TRACKS:
        raise UserError(f"unknown track {track!r}: use one of {', '.join(TRACKS)}")
    tasks = []
    if track in (None, "micro") and not benchmark:
        tasks += micro_tasks()
    if track in (None, *GPU_TRACKS):
        from records.nanogpt_catalog import load_tasks

        tasks += load_tasks(track)
    return [t for t in tasks if t.benchmark or not benchmark]


def get_task(task_id: str) -> Task:
    prefix = task_id.split("/", 1)[0]
    tasks = list_tasks(prefix if prefix in TRACKS else None)
    for task in tasks:
        if task.id == task_id:
            return task
    valid = ", ".join(t.id for t in tasks) or "none (run `speedrun-tui import nanogpt` for that track)"
    raise UserError(f"unknown task {task_id!r}; valid ids: {valid}")


def micro_tasks() -> list[Task]:
    from records.fingerprint import this_cpu

    calibrations = all_calibrations()
    here = this_cpu(DEFAULT_THREADS)
    return [_micro_task(start, goal, choose((start.slug, goal.slug), here, calibrations))
            for start, goal in zip(RUNGS, RUNGS[1:])]


def _micro_task(start: Rung, goal: Rung, choice: Choice | None) -> Task:
    folder = hints_dir(start.number)
    calibration = choice.calibration if choice else None
    start_s = calibration.mean_s(start.slug) if calibration else 0.0
    goal_s = calibration.mean_s(goal.slug) if calibration else 0.0
    return Task(
        id=f"micro/{start.number}",
        track="micro",
        record=start.number,
        title=f"rung {start.number} -> {goal.number}: {goal.title}",
        start_script=start.script,
        start_time_s=start_s,
        target_time_s=goal_s,
        target_loss=calibration.target_loss if calibration else DEFAULT_TARGET_LOSS,
        start_time_std_s=calibration.std_s(start.slug) if calibration else 0.0,
        seed_times_s=tuple(zip(calibration.seed_times_s(start.slug), calibration.seed_times_s(goal.slug)))
        if calibration else (),
        hint_files={level: folder / name for level, name in HINT_FILES.items() if (folder / name).is_file()},
        reference_diff_file=folder / DIFF_FILE if (folder / DIFF_FILE).is_file() else None,
        target_script=goal.script,
        calibration=calibration.name if calibration else "",
        provisional=choice is not None and not choice.exact,
        threads=calibration.threads if calibration else DEFAULT_THREADS,
        heldout_bin=heldout_path(),
        available=not _unavailable(start, goal, choice),
        unavailable_reason=_unavailable(start, goal, choice),
        hint_source="micro ladder",
    )


def _unavailable(start: Rung, goal: Rung, choice: Choice | None) -> str:
    """Why the task cannot be scored here ("" when it can)."""
    if choice is None:
        return "not calibrated: run `speedrun-tui calibrate micro`"
    calibration = choice.calibration
    if choice.exact and not significant(calibration.rung(goal.slug), calibration.rung(start.slug)):
        return (f"rung {goal.number} is not significantly faster than rung {start.number} on this CPU "
                f"(calibration {calibration.name}), so the task cannot be scored here")
    return ""


def calibration_note(tasks: list[Task]) -> str:
    """One line on where the micro times come from: this CPU's calibration, or the nearest one and the fix."""
    from records.fingerprint import this_cpu

    micro = [t for t in tasks if t.track == "micro" and t.calibration]
    if not micro:
        return ""
    here = this_cpu(DEFAULT_THREADS)
    names = sorted({t.calibration for t in micro})
    provisional = sorted({t.id for t in micro if t.provisional}, key=lambda i: int(i.split("/")[1]))
    if not provisional:
        return f"micro times: calibration {', '.join(names)} (this CPU: {here.describe()})"
    nearest = sorted({t.calibration for t in micro if t.provisional})
    return (f"no calibration of this CPU ({here.describe()}) for {', '.join(provisional)}: the times come "
            f"from the nearest, {', '.join(nearest)}, and the scores are provisional; "
            "calibrate this machine with `speedrun-tui calibrate micro`")


def why_not_ready(task: Task) -> str:
    """"" when `task` can run here now; else the reason, naming the command that fixes it."""
    if not task.available:
        return task.unavailable_reason
    try:
        task_env(task)
    except UserError:  # the data is not prepared yet
        return f"no data yet: run `speedrun-tui data {'fineweb' if task.track in GPU_TRACKS else 'micro'}`"
    return ""


def task_env(task: Task, *, seed: int = 0, threads: int | None = None, device: str = "cpu",
             save_model: Path | None = None) -> dict[str, str]:
    """The child environment a run of `task` needs: data paths, seed, device, threads, target."""
    if task.track in GPU_TRACKS:
        from records.fineweb import require_data, run_env

        env = {**run_env(require_data()), "SPEEDRUN_SEED": str(seed)}
    else:
        env = micro_env(seed=seed, threads=threads or task.threads, target_loss=task.target_loss, device=device)
    if save_model is not None:
        env["SPEEDRUN_SAVE_MODEL"] = str(save_model)
    return env


def micro_env(*, seed: int, threads: int, target_loss: float | None, device: str = "cpu") -> dict[str, str]:
    """The SPEEDRUN_* variables every micro rung reads (records/micro/README.md lists them)."""
    from records.microdata import require_micro

    if device not in ("cpu", "cuda"):
        raise UserError(f"unknown device {device!r}: use cpu or cuda")
    if threads < 1:
        raise UserError(f"threads must be at least 1, got {threads}")
    data = require_micro()
    env = {
        "SPEEDRUN_TRAIN_BIN": str(data.train_path),
        "SPEEDRUN_VAL_BIN": str(data.val_path),
        "SPEEDRUN_SEED": str(seed),
        "SPEEDRUN_DEVICE": device,
        "SPEEDRUN_THREADS": str(threads),
        "OMP_NUM_THREADS": str(threads),  # no idle OpenMP pool spinning on the other cores
    }
    if target_loss is not None:
        env["SPEEDRUN_TARGET_LOSS"] = repr(float(target_loss))
    return env
