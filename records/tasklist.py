"""How `speedrun-tui tasks` shows the catalog: a table for people, a JSON list for scripts."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from records.task import Task


@dataclass(frozen=True)
class Here:
    """Whether a task's code can run on this machine, and on what."""

    ok: bool
    text: str


def runs_here(task: Task, gpus: list[str]) -> Here:
    """CPU tasks run anywhere; a torchrun task needs a CUDA GPU (`gpus`: nvidia-smi's names)."""
    if task.launcher != "torchrun":
        return Here(True, "cpu")
    if not gpus:
        return Here(False, "no CUDA GPU here (nvidia-smi lists none)")
    have = " + ".join(f"{count}x{name}" for name, count in Counter(gpus).items())
    same = len(gpus) == 8 and all("H100" in name for name in gpus)
    return Here(True, have if same else f"{have} (times were measured on {task.hardware})")


def this_machines_gpus() -> list[str]:
    from runner.torchrun import gpu_names

    return gpu_names()


def task_record(task: Task, here: Here) -> dict:
    """One task as the `tasks --json` contract spells it (README: Tasks)."""
    return {
        "id": task.id,
        "track": task.track,
        "record": task.record,
        "title": task.title,
        "start_time_s": task.start_time_s,
        "target_time_s": task.target_time_s,
        "target_loss": task.target_loss,
        "hints": task.hint_levels,
        "reference_diff": task.reference_diff_file is not None,
        "launcher": task.launcher,
        "calibration": _fingerprint(task),
        "provisional": task.provisional,
        "available": task.available,
        "unavailable_reason": task.unavailable_reason,
        "start_script": str(task.start_script),
        "benchmark": task.benchmark,
        "hint_source": task.hint_source,
        "hardware": task.hardware,
        "runs_here": here.ok,
        "here": here.text,
        "target_rule": task.target_rule,
    }


def _fingerprint(task: Task) -> dict | None:
    """The fingerprint of the calibration a micro task's times come from, with its name."""
    if task.track != "micro" or not task.calibration:
        return None
    from records.calibration import all_calibrations

    calibration = next(c for c in all_calibrations() if c.name == task.calibration)
    return {"name": calibration.name, **calibration.fingerprint.to_json()}


def tasks_json(tasks: list[Task], gpus: list[str]) -> str:
    return json.dumps([task_record(t, runs_here(t, gpus)) for t in tasks], indent=2)


def print_table(tasks: list[Task], gpus: list[str]) -> None:
    if not tasks:
        print("no tasks to list (the nanogpt tracks appear after `speedrun-tui import nanogpt`)")
        return
    from records.catalog import calibration_note

    note = calibration_note(tasks)
    if note:
        print(note)
    print(f"{'id':17s} {'start':>8s} {'target':>8s} {'loss':>6s}  {'hints':18s} {'hardware':8s} here  title")
    for t in tasks:
        print(_row(t, runs_here(t, gpus)))
    if any(t.benchmark for t in tasks):
        print("* one of the paper's 19 benchmark tasks")
    if any(t.hint_source == "record table" for t in tasks):
        print("(table): the hint is the record table's description of the next record, not a benchmark hint")
    here = {runs_here(t, gpus).text for t in tasks if t.launcher == "torchrun"}
    if here:
        print(f"GPU tasks here: {', '.join(sorted(here))}")


def _row(t: Task, here: Here) -> str:
    hints = (",".join(t.hint_levels) or "-") + (" (table)" if t.hint_source == "record table" else "")
    times = f"{t.start_time_s:7.1f}s {t.target_time_s:7.1f}s" if t.start_time_s else f"{'-':>8s} {'-':>8s}"
    why = "" if t.available else f"  [{t.unavailable_reason}]"
    mark = "~" if t.provisional else "*" if t.benchmark else " "
    return (f"{t.id:17s}{mark}{times} {t.target_loss:6.3f}  {hints:18s} {t.hardware:8s} "
            f"{'yes' if here.ok else 'no':4s}  {t.title}{why}")
