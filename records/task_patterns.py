"""Task ids as a sweep names them: one id (`micro/3`), a range of records (`nanogpt/1-5`) or a glob (`micro/*`)."""

from __future__ import annotations

import fnmatch
import re

from records import catalog
from records.task import Task
from speedrun_tui.errors import UserError

_RANGE = re.compile(r"^(?P<track>[a-z-]+)/(?P<low>\d+)-(?P<high>\d+)$")


def expand(patterns: list[str]) -> tuple[list[Task], list[Task]]:
    """(the tasks the patterns name, in order and once each; the unavailable tasks a range or glob left out).

    An id names its task even when it is unavailable here (the session then says why); a pattern
    that matches nothing, or an unknown id, is a one-line UserError naming it."""
    chosen: dict[str, Task] = {}
    left_out: dict[str, Task] = {}
    for pattern in patterns:
        matched = _matches(pattern)
        for task in matched:
            if task.available or len(matched) == 1 and matched[0].id == pattern:
                chosen.setdefault(task.id, task)
            else:
                left_out.setdefault(task.id, task)
    return list(chosen.values()), [task for tid, task in left_out.items() if tid not in chosen]


def _matches(pattern: str) -> list[Task]:
    text = pattern.strip()
    track = text.split("/", 1)[0]
    if any(ch in text for ch in "*?["):
        candidates = catalog.list_tasks(track if track in catalog.TRACKS else None)
        tasks = [t for t in candidates if fnmatch.fnmatchcase(t.id, text)]
    elif found := _RANGE.match(text):
        low, high = int(found["low"]), int(found["high"])
        if low > high:
            raise UserError(f"task range {pattern!r}: {low} is above {high}")
        tasks = [t for t in catalog.list_tasks(found["track"]) if low <= t.record <= high]
    else:
        return [catalog.get_task(text)]
    if not tasks:
        hint = " (run `speedrun-tui import nanogpt` first)" if track.startswith("nanogpt") else ""
        raise UserError(f"tasks {pattern!r} match no task in the catalog{hint}; see `speedrun-tui tasks`")
    return tasks
