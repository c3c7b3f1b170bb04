"""The person's answers through the real CLI: headless sessions read them from a pipe, and the
printed resume command brings a session back in its own mode."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from agent_helpers import FAKE_TRAIN, speedup, write_script

from sessions.store import Store
from speedrun_tui.home import home_dir

FAKE_CLI = Path(__file__).resolve().parent / "fake_task_cli.py"


def cli(tmp_path: Path, *args: str, stdin: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`speedrun-tui ARGS --headless` with `stdin` piped in and closed."""
    return subprocess.run([sys.executable, str(FAKE_CLI), str(tmp_path), *args, "--headless",
                           "--db", str(tmp_path / "s.db")], input=stdin, capture_output=True, text=True,
                          timeout=timeout)


def only_session(db: Path) -> str:
    with Store(db, readonly=True) as store:
        (info,) = store.list_sessions()
    return info.id


def events(db: Path, session: str, kind: str) -> list:
    with Store(db, readonly=True) as store:
        return [e for e in store.read_events(session) if e.kind == kind]


def test_copilot_answers_come_from_a_pipe_and_its_end_stops_the_session_resumable(tmp_path):
    script = write_script(tmp_path, [speedup(0.5), speedup(0.8)])
    db = tmp_path / "s.db"
    done = cli(tmp_path, "run", "fake/1", "--model", f"scripted:{script}", "--mode", "copilot", "--max-nodes", "2",
               stdin="a\n")
    session = only_session(db)
    # One answer: node 1 runs; node 2 asks, and the end of stdin stops the session there.
    assert done.returncode == 1, done.stderr
    assert f"stdin ended: stopping; resume with `speedrun-tui run --resume {session}`" in done.stderr
    assert [(d.node, d.decision) for d in events(db, session, "human_decision")] == [(1, "approve")]
    assert [e.node for e in events(db, session, "node_scored")] == [0, 1]
    assert events(db, session, "session_finished")[-1].status == "stopped"


def wait_until(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_human_session_without_a_model_takes_piped_answers_past_one_node_and_resumes_as_printed(tmp_path):
    db = tmp_path / "s.db"
    child = subprocess.Popen([sys.executable, str(FAKE_CLI), str(tmp_path), "run", "fake/1", "--mode", "human",
                              "--headless", "--db", str(db)], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, text=True)
    try:
        # The workspace opens once the start code has run: a folder named after the session.
        (workspace,) = wait_until(lambda: list(home_dir().glob("workspaces/*/train.py")), "the workspace")
        session = workspace.parent.name
        for node, step_ms in ((1, "50.0"), (2, "25.0")):
            wait_until(lambda: len(events(db, session, "node_scored")) == node, f"the score before node {node}")
            workspace.write_text(FAKE_TRAIN.replace("STEP_MS = 100.0", f"STEP_MS = {step_ms}"))
            child.stdin.write("\n")  # Enter: run the saved train.py
            child.stdin.flush()
        wait_until(lambda: len(events(db, session, "node_scored")) == 3, "node 2's score")
        child.stdin.close()  # nothing more to say: the next save's approval stops the session
        workspace.write_text(FAKE_TRAIN.replace("STEP_MS = 100.0", "STEP_MS = 10.0"))
        assert child.wait(30) == 1
    finally:
        child.kill()
        child.wait()
    (started,) = events(db, session, "session_started")
    assert (started.model, started.mode, started.config["budget"]) == ("human", "human", 20)
    assert [(e.node, e.status) for e in events(db, session, "node_scored")] == [(0, "valid"), (1, "valid"),
                                                                                (2, "valid")]
    assert events(db, session, "session_finished")[-1].status == "stopped"

    # The printed command as printed (no TASK, no --mode): human mode again, where the saved edit waits.
    resumed = cli(tmp_path, "run", "--resume", session, stdin="")
    assert resumed.returncode == 1, resumed.stderr
    assert [e.mode for e in events(db, session, "session_resumed")] == ["human"]
    asked = events(db, session, "approval_requested")[-1]
    assert "+STEP_MS = 10.0" in asked.diff and asked.node == 4  # node 3 was dropped, interrupted before it ran
