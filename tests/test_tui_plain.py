"""Plain mode: the same controller driven by typed lines; replay --plain prints a session as lines."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
import types

import pytest
from agent_helpers import config, open_controller, speedup, write_script
from prompt_toolkit.document import Document
from rich.console import Console

from sessions import events as ev
from sessions.store import Store
from speedrun_tui.errors import UserError
from tui.plain import PlainSession, command_completer, event_lines
from tui.slash import COMMANDS, parse_command
from tui_helpers import write_demo_session


class Output(io.StringIO):
    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.getvalue():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in:\n{self.getvalue()}")
            time.sleep(0.02)


def plain_session(tmp_path, replies, commands, **overrides):
    cfg = config(write_script(tmp_path, replies), mode="copilot", **overrides)
    controller, store = open_controller(tmp_path, cfg)
    out = Output()
    return PlainSession(controller, store, interactive=False, out=out, commands=commands), out, store


def human_decisions(store, session_id):
    return [(e.decision, e.text) for e in store.read_events(session_id) if e.kind == "human_decision"]


def test_approve_from_a_script(tmp_path):
    session, out, store = plain_session(tmp_path, [speedup(0.5, "Halve the step cost.")], io.StringIO("/approve\n"))
    try:
        assert session.run() == 0
        text = out.getvalue()
        assert "node 1 plan: Halve the step cost." in text
        assert "+STEP_MS *= 0.5" in text  # the diff, printed with the approval request
        assert "[1] step:10/10 val_loss:1.0000" in text  # the node's log lines
        assert "session finished" in text
        assert human_decisions(store, session.controller.session_id) == [("approve", "")]
    finally:
        store.close()


def test_reject_with_a_reason_then_approve(tmp_path):
    commands = io.StringIO("/reject too timid\n/approve\n")
    session, out, store = plain_session(tmp_path, [speedup(0.9), speedup(0.5)], commands)
    try:
        assert session.run() == 0
        assert human_decisions(store, session.controller.session_id) == [("reject", "too timid"), ("approve", "")]
        assert session.controller.state.nodes[1].time_s == pytest.approx(0.45, rel=0.01)
    finally:
        store.close()


def test_ask_gets_an_answer_without_an_edit_and_quit_leaves_it_resumable(tmp_path):
    read, write = os.pipe()
    commands = os.fdopen(read)
    session, out, store = plain_session(tmp_path, [speedup(0.5), "The step cost dominates the time."], commands)
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(code=session.run()))
    thread.start()
    with os.fdopen(write, "w") as typed:
        out.wait_for("waits for approval")
        typed.write("/ask what limits the speed?\n")
        typed.flush()
        out.wait_for("answer: The step cost dominates the time.")
        typed.write("/quit\n")
        typed.flush()
        thread.join(30)
    try:
        assert result["code"] == 1
        assert "can be resumed with `speedrun-tui run --resume" in out.getvalue()
        sid = session.controller.session_id
        assert human_decisions(store, sid) == [("ask", "what limits the speed?")]
        assert store.session_status(sid) != "running"
        assert not [e for e in store.read_events(sid) if e.kind == "edit_applied"]
    finally:
        store.close()


def test_unknown_commands_get_a_hint(tmp_path):
    with pytest.raises(UserError, match="did you mean /approve"):
        parse_command("/appr")
    assert parse_command("make it faster").name == "steer"
    assert parse_command("/ask why so slow?").arg == "why so slow?"
    assert parse_command("   ") is None


def test_completion_offers_every_command():
    completer = command_completer()
    offered = [c.text for c in completer.get_completions(Document("/a"), None)]
    assert offered == ["/approve", "/ask", "/auto"]
    assert set(COMMANDS) == {"/approve", "/reject", "/steer", "/ask", "/fork", "/edit", "/step", "/pause", "/auto",
                             "/copilot", "/cancel", "/quit", "/help"}


def test_replay_plain_prints_the_session(tmp_path):
    db = tmp_path / "sessions.db"
    sid = write_demo_session(db)
    done = subprocess.run([sys.executable, "-m", "speedrun_tui", "replay", sid[:4], "--plain", "--db", str(db)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("session started: task micro/1")
    assert "[0] using device cpu" in lines
    assert "node 2 human decision steer: keep 200 steps, try warmup instead" in lines
    assert lines[-1] == "session finished"
    with Store(db, readonly=True) as store:
        events = store.read_events(sid)
    assert len([line for line in lines if line.startswith("[")]) == sum(len(e.lines) for e in events
                                                                          if e.kind == "log_lines")


def test_replay_of_an_unknown_session_is_one_line(tmp_path):
    db = tmp_path / "sessions.db"
    write_demo_session(db)
    done = subprocess.run([sys.executable, "-m", "speedrun_tui", "replay", "nope", "--db", str(db)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no session 'nope'" in done.stderr


def test_event_lines_skip_metrics():
    from sessions import events as ev

    assert event_lines(ev.Metric(node=1, step=3, val_loss=2.0)) == []
    assert event_lines(ev.LogLines(node=4, lines=["a", "b"])) == ["[4] a", "[4] b"]


def test_a_script_driven_session_shows_the_run_in_flight_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")  # Rich draws no live display on a dumb terminal
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)]), mode="copilot"))
    console = Console(file=io.StringIO(), force_terminal=True, record=True, width=200)
    session = PlainSession(controller, store, interactive=False, out=Output(), commands=io.StringIO("/approve\n"),
                           console=console)
    try:
        assert session.run() == 0
    finally:
        store.close()
    # The same row as headless: node, bar, step/total, val_loss against the target, time so far, time left.
    text = console.export_text()
    assert re.search(r"node 0 \S+ step 5/10 val_loss 2\.5000 \(target 1\.5\) \S+ about 0\.4s left", text)
    assert re.search(r"node 1 \S+ step 4/10 val_loss 2\.8000 \(target 1\.5\) \S+ at most 0\.3s left", text)


def test_the_prompt_shows_the_runs_in_flight_as_its_bottom_toolbar(tmp_path):
    session, _out, store = plain_session(tmp_path, [], io.StringIO(""))
    session._prompt = types.SimpleNamespace(bottom_toolbar=None)  # the attribute prompt_toolkit draws
    try:
        session.progress.tracker.apply(session.controller.state.started)
        session._follow_runs(ev.RunStarted(node=0, code_sha="a", ts=time.time() - 65))
        session._follow_runs(ev.Metric(node=0, step=5, val_loss=2.5, train_time_ms=500.0, total_steps=10))
        toolbar = session._prompt.bottom_toolbar()
        assert toolbar.startswith("node 0 · step 5/10 · val_loss 2.5000 (target 1.5) · 1m0")
        assert toolbar.endswith(" · about 0.4s left")
        session._follow_runs(ev.RunFinished(node=0, result={}))
        assert session._prompt.bottom_toolbar is None  # no run in flight: no toolbar
    finally:
        store.close()
