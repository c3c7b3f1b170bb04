"""The real `speedrun-tui` CLI, as its own process, with the fake trainer of agent_helpers as task fake/1.

    python fake_task_cli.py TMP ARGS...    (ARGS: what would follow `speedrun-tui`)

Only the catalog lookup differs: fake/1 is not in the catalog and needs no data. Argument
parsing, the session, the headless interface and its stdin are the CLI's own.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent_helpers import fake_task  # noqa: E402

import records.catalog as catalog  # noqa: E402
from speedrun_tui.cli import main  # noqa: E402


def with_fake_task(tmp: Path) -> None:
    task = fake_task(tmp)
    real_get_task, real_task_env = catalog.get_task, catalog.task_env
    catalog.get_task = lambda task_id: task if task_id == task.id else real_get_task(task_id)
    catalog.task_env = lambda t, **kwargs: {} if t.id == task.id else real_task_env(t, **kwargs)


if __name__ == "__main__":
    with_fake_task(Path(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))
