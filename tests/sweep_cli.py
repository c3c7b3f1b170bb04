"""The real `speedrun-tui` CLI, as its own process, with two fake micro tasks that train in milliseconds;
and the small sweep of the tests over them.

    python sweep_cli.py TMP ARGS...    (ARGS: what would follow `speedrun-tui`)

micro/1 and micro/2 are agent_helpers' fake trainer, so a sweep of them needs no data and no
torch; their runs get $HANG_FLAG when it is set, for an edit that waits while that file exists.
Only the catalog differs: argument parsing, the sweep, its sessions and its display are the CLI's own.
"""

import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent_helpers import FAKE_TRAIN, HANG, fake_task, speedup, write_script  # noqa: E402

import records.catalog as catalog  # noqa: E402
from speedrun_tui.cli import main  # noqa: E402
from speedrun_tui.errors import UserError  # noqa: E402


def fake_micro_tasks(tmp: Path, code: str = FAKE_TRAIN) -> list:
    tasks = []
    for k in (1, 2):
        folder = tmp / f"task{k}"
        folder.mkdir(parents=True, exist_ok=True)
        tasks.append(dataclasses.replace(fake_task(folder, code), id=f"micro/{k}", record=k, title=f"fake trainer {k}"))
    return tasks


SMALL = """name = "small"
tasks = ["micro/1-2"]
models = ["scripted:fast.txt", "scripted:slow.txt"]
seeds = [0, 1]
max_nodes = 1
verify_repeats = 0
"""


def small_sweep(tmp_path: Path, text: str = SMALL) -> Path:
    """The sweep file `text` (default: 2 fake micro tasks x 2 scripted models x 2 seeds, one node each) beside
    its two models: `fast` halves the step cost, `slow` waits while $HANG_FLAG exists (agent_helpers.HANG)."""
    write_script(tmp_path, [speedup(0.5)], name="fast.txt")
    write_script(tmp_path, [HANG], name="slow.txt")
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


def catalog_of(tasks: list, env: dict[str, str]) -> dict:
    """Stand-ins for records.catalog's list_tasks, get_task and task_env that serve `tasks` only."""

    def get_task(task_id):
        found = [t for t in tasks if t.id == task_id]
        if not found:
            raise UserError(f"unknown task {task_id!r}; valid ids: {', '.join(t.id for t in tasks)}")
        return found[0]

    return {"list_tasks": lambda track=None: list(tasks) if track in (None, "micro") else [],
            "get_task": get_task, "task_env": lambda task, **kwargs: dict(env)}


def with_fake_micro_tasks(tmp: Path) -> None:
    flag = os.environ.get("HANG_FLAG")
    for name, stand_in in catalog_of(fake_micro_tasks(tmp), {"HANG_FLAG": flag} if flag else {}).items():
        setattr(catalog, name, stand_in)


if __name__ == "__main__":
    with_fake_micro_tasks(Path(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))
