"""The headless app on the fake task, as its own process, for kill tests.

    python reliability_app.py TMP REPLIES SESSION|- MAX_NODES [--db PATH] [--flag PATH]

It is `speedrun-tui run --headless` minus the catalog lookup (the fake task is not in
the catalog): the same Store, Controller and run_headless, so the same signal handling.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent_helpers import FAKE_TRAIN, config, fake_task  # noqa: E402

from agent.controller import Controller  # noqa: E402
from agent.headless import run_headless  # noqa: E402
from sessions.store import Store  # noqa: E402
from speedrun_tui.errors import UserError  # noqa: E402
from speedrun_tui.interrupts import restore_ctrl_c  # noqa: E402

# Each step takes real time, so a run is long enough to be killed in the middle of it.
SLOW_TRAIN = FAKE_TRAIN.replace("        train_time += STEP_MS\n",
                                "        train_time += STEP_MS\n        __import__('time').sleep(0.03)\n")


def main(argv: list[str]) -> int:
    restore_ctrl_c()  # as speedrun_tui.cli.main does: the tests start this app in the background too
    parser = argparse.ArgumentParser()
    for name in ("tmp", "replies", "session", "max_nodes"):
        parser.add_argument(name)
    parser.add_argument("--db")
    parser.add_argument("--flag", help="a file the HANG reply waits on (tests/test_reliability_crash.py)")
    args = parser.parse_args(argv)
    tmp = Path(args.tmp)
    task = fake_task(tmp, SLOW_TRAIN)
    run_env = {"HANG_FLAG": args.flag} if args.flag else {}
    try:
        with Store(Path(args.db) if args.db else tmp / "sessions.db") as store:
            controller = Controller(config(Path(args.replies), max_nodes=int(args.max_nodes)), store, task=task,
                                    run_env=run_env, session_id=None if args.session == "-" else args.session)
            print(controller.session_id, flush=True)
            score = run_headless(controller)
    except UserError as err:
        print(f"speedrun-tui: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("speedrun-tui: interrupted", file=sys.stderr)
        return 130
    return 0 if score.finished else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
