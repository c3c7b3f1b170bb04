"""How `speedrun-tui tasks` shows the catalog: a table for people, a JSON list for scripts."""

from __future__ import annotations

import json

from records.task import Task


def task_record(task: Task) -> dict:
    """One task as the `tasks --json` contract spells it (docs/readme/records.md)."""
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
    }


def _fingerprint(task: Task) -> dict | None:
    """The fingerprint of the calibration a micro task's times come from, with its name."""
    if task.track != "micro" or not task.calibration:
        return None
    from records.calibration import all_calibrations

    calibration = next(c for c in all_calibrations() if c.name == task.calibration)
    return {"name": calibration.name, **calibration.fingerprint.to_json()}


def tasks_json(tasks: list[Task]) -> str:
    return json.dumps([task_record(t) for t in tasks], indent=2)


def print_table(tasks: list[Task]) -> None:
    if not tasks:
        print("no tasks (the nanogpt track appears after `speedrun-tui import nanogpt`)")
        return
    from records.catalog import calibration_note

    note = calibration_note(tasks)
    if note:
        print(note)
    print(f"{'id':12s} {'start':>8s} {'target':>8s} {'loss':>6s}  {'hints':18s} title")
    for t in tasks:
        hints = ",".join(t.hint_levels) or "-"
        times = f"{t.start_time_s:7.1f}s {t.target_time_s:7.1f}s" if t.start_time_s else f"{'-':>8s} {'-':>8s}"
        why = "" if t.available else f"  [{t.unavailable_reason}]"
        mark = "~" if t.provisional else " "
        print(f"{t.id:12s}{mark}{times} {t.target_loss:6.3f}  {hints:18s} {t.title}{why}")
