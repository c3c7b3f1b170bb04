"""A session whose process is SIGKILLed mid-run continues from the store with --resume."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agent_helpers import HANG, Recorder, config, open_controller, run_in_thread, speedup, write_script

from sessions.store import Store
from speedrun_tui.errors import UserError

TESTS = Path(__file__).resolve().parent
CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from agent_helpers import config, open_controller
tmp, script, flag = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
controller, store = open_controller(tmp, config(script, max_nodes=3), run_env={{"HANG_FLAG": flag}})
print(controller.session_id, flush=True)
controller.run()
"""


def wait_for_run(db: Path, session: str, node: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            with Store(db, readonly=True) as store:
                if any(e.kind == "run_started" and e.node == node for e in store.read_events(session)):
                    return
        time.sleep(0.1)
    raise AssertionError(f"node {node} never started")


def test_resume_after_sigkill_continues_where_it_stopped(tmp_path):
    script = write_script(tmp_path, [speedup(0.9), HANG, speedup(0.5)])
    flag = tmp_path / "flags" / "hang.flag"  # a folder of its own: the sandbox shows a run the folders of its env paths
    flag.parent.mkdir()
    flag.touch()
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(tests=str(TESTS)), str(tmp_path), str(script),
                              str(flag)], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        session = child.stdout.readline().strip()
        wait_for_run(tmp_path / "sessions.db", session, node=2)
        time.sleep(0.3)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    flag.unlink()

    with Store(tmp_path / "sessions.db", readonly=True) as store:
        assert store.session_status(session) == "unfinished"
        before = store.event_count(session)

    controller, store = open_controller(tmp_path, config(script, max_nodes=3), session_id=session,
                                        run_env={"HANG_FLAG": str(flag)})
    score = controller.run()
    events = store.read_events(session)
    store.close()
    nodes = controller.state.nodes
    assert sorted(nodes) == [0, 1, 2, 3]
    assert [n.status for n in nodes.values()] == ["valid"] * 4
    assert [e.node for e in events if e.kind == "run_started"] == [0, 1, 2, 2, 3]  # node 2 ran again
    assert nodes[3].plan == "Scale the step cost by 0.5."  # the next canned reply, none reused
    assert len(events) > before and score.finished and score.best_time_s == pytest.approx(0.45)


def test_a_finished_session_cannot_be_resumed(tmp_path):
    script = write_script(tmp_path, [speedup(0.5)])
    controller, store = open_controller(tmp_path, config(script))
    controller.run()
    store.close()
    with pytest.raises(UserError, match="has finished"):
        open_controller(tmp_path, config(script), session_id=controller.session_id)


def stopped_human_session(tmp_path, script):
    """A human session stopped while it waits for the first save (no model call, no edit)."""
    controller, store = open_controller(tmp_path, config(script, mode="human", parallel=2))
    recorder = Recorder()
    controller.subscribe(recorder)
    thread, _ = run_in_thread(controller)
    recorder.wait_for(lambda e: e.kind == "note" and "in your editor" in e.text)
    controller.stop()
    thread.join(30)
    store.close()
    return controller.session_id


def test_a_resumed_session_keeps_its_mode_and_parallelism_unless_they_are_given(tmp_path):
    script = write_script(tmp_path, [speedup(0.5)])
    session = stopped_human_session(tmp_path, script)

    kept, store = open_controller(tmp_path, config(script), session_id=session)  # mode, parallel: not given
    assert (kept.mode, kept.config.parallel) == ("human", 2)
    kept.stop()
    kept.run()
    store.close()

    given, store = open_controller(tmp_path, config(script, mode="copilot", parallel=1), session_id=session)
    assert (given.mode, given.config.parallel) == ("copilot", 1)
    store.close()  # never run: left unfinished, as a killed process leaves it
    again, store = open_controller(tmp_path, config(script), session_id=session)
    assert (again.mode, again.config.parallel) == ("copilot", 1)  # what it was last resumed with
    store.close()
