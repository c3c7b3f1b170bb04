"""A whole co-pilot session in the TUI: the real controller, scripted model, real runs and store."""

from __future__ import annotations

import sys

import pytest
from agent_helpers import FAKE_TRAIN, config, fake_task, open_controller, speedup, write_script
from textual.widgets import Log

from sessions.store import Store
from tui.app import SpeedrunApp
from tui.screens.approval import ApprovalModal
from tui.screens.replay import ReplayScreen
from tui.screens.session import SessionScreen
from tui.widgets.diffpane import DiffPane
from tui_helpers import pane_content, screen_text, wait_for

SIZE = (140, 40)


def session_app(tmp_path, replies, **overrides):
    """The app as `speedrun-tui run` opens it: the controller first, then the screen that runs it."""
    script = write_script(tmp_path, replies)
    cfg = config(script, **{"mode": "copilot", **overrides})
    controller, store = open_controller(tmp_path, cfg)
    screen = SessionScreen(cfg, store.path, controller=controller)
    return SpeedrunApp(lambda: screen), [screen]


def decisions(db, session_id):
    with Store(db, readonly=True) as store:
        return [(e.decision, e.by, e.text) for e in store.read_events(session_id) if e.kind == "human_decision"]


async def approval(pilot) -> ApprovalModal:
    modal = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ApprovalModal) and pilot.app.screen,
                           what="the approval modal")
    await pilot.pause(0.1)  # one frame, so that it is painted
    return modal


async def finished(pilot, screen):
    await wait_for(pilot, lambda: screen.state.finished is not None, what="the session to finish")


@pytest.mark.asyncio
async def test_approve_shows_plan_diff_and_log_and_records_the_decision(tmp_path):
    app, screens = session_app(tmp_path, [speedup(0.5, "Halve the cost of each step.")])
    async with app.run_test(size=SIZE) as pilot:
        modal = await approval(pilot)
        text = screen_text(app)
        assert "Halve the cost of each step." in text  # plan, in the modal and the chat
        assert "STEP_MS *= 0.5" in text  # the diff pane, behind the modal
        assert "approve this edit?" in text
        await pilot.press("a")
        screen = screens[0]
        await finished(pilot, screen)
        log = screen.query_one(Log)
        await wait_for(pilot, lambda: any("step:10/10" in line for line in log.lines), what="the node's log")
        assert screen.state.finished.status == "finished"
        assert screen.state.best_node == 1
        assert "+STEP_MS *= 0.5" in screen.query_one(DiffPane)._diff
        assert modal.request.node == 1
    assert decisions(tmp_path / "sessions.db", screen.state.session_id) == [("approve", "human", "")]


@pytest.mark.asyncio
async def test_reject_then_approve_the_revision(tmp_path):
    app, screens = session_app(tmp_path, [speedup(0.5), speedup(0.25, "Quarter it instead.")])
    async with app.run_test(size=SIZE) as pilot:
        first = await approval(pilot)
        await pilot.press("r")
        second = await wait_for(pilot, lambda: isinstance(app.screen, ApprovalModal) and app.screen is not first
                                and app.screen, what="the revised proposal")
        assert "STEP_MS *= 0.25" in second.request.diff
        await pilot.press("a")
        await finished(pilot, screens[0])
    assert decisions(tmp_path / "sessions.db", screens[0].state.session_id) == [
        ("reject", "human", ""), ("approve", "human", "")]


@pytest.mark.asyncio
async def test_steer_sends_the_typed_message(tmp_path):
    app, screens = session_app(tmp_path, [speedup(0.5), speedup(0.5, "Steered: halve it, as asked.")])
    async with app.run_test(size=SIZE) as pilot:
        first = await approval(pilot)
        await pilot.press("s")
        await pilot.press(*"use a warmup")
        await pilot.press("enter")
        second = await wait_for(pilot, lambda: isinstance(app.screen, ApprovalModal) and app.screen is not first
                                and app.screen, what="the steered proposal")
        assert "Steered: halve it, as asked." in screen_text(app)
        await pilot.press("a")
        await finished(pilot, screens[0])
        chat = screen_text(app)
        assert "use a warmup" in chat  # the steer shows in the chat pane
    assert decisions(tmp_path / "sessions.db", screens[0].state.session_id)[0] == ("steer", "human", "use a warmup")
    assert second.request.node == 1


@pytest.mark.asyncio
async def test_edit_opens_editor_and_runs_the_edited_code(tmp_path, monkeypatch):
    editor = tmp_path / "editor.py"
    editor.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('STEP_MS *= 0.5', 'STEP_MS *= 0.2'))\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    app, screens = session_app(tmp_path, [speedup(0.5)])
    async with app.run_test(size=SIZE) as pilot:
        await approval(pilot)
        await pilot.press("e")
        screen = screens[0]
        await finished(pilot, screen)
        node = screen.state.nodes[1]
        assert "+STEP_MS *= 0.2" in node.diff
        assert node.time_s == pytest.approx(0.9 * 0.2, rel=0.01)
    db = tmp_path / "sessions.db"
    assert [d[0] for d in decisions(db, screen.state.session_id)] == ["edit"]
    with Store(db, readonly=True) as store:
        edit = next(e for e in store.read_events(screen.state.session_id) if e.kind == "human_decision")
        assert "STEP_MS *= 0.2" in store.get_blob(edit.code_sha)


SLOW_TRAIN = FAKE_TRAIN.replace("def main():", "import time\n\ndef main():").replace(
    "        train_time += STEP_MS", "        train_time += STEP_MS\n        sys.stdout.flush()\n"
    "        if os.environ.get('SLOW'):\n            time.sleep(1.0)")


@pytest.mark.asyncio
async def test_quit_mid_run_leaves_a_resumable_session(tmp_path):
    db = tmp_path / "sessions.db"
    script = write_script(tmp_path, [speedup(0.5)])
    cfg = config(script, mode="auto")
    task = fake_task(tmp_path, SLOW_TRAIN)
    live = SessionScreen(cfg, db, task=task, run_env={"SLOW": "1"})
    app = SpeedrunApp(lambda: live)
    async with app.run_test(size=SIZE) as pilot:
        log = live.query_one(Log)
        await wait_for(pilot, lambda: any("step:2/10" in line for line in log.lines), what="the root run")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="the app to exit", timeout=15)
    assert app.return_value == live.state.session_id
    with Store(db, readonly=True) as store:
        ended = [e for e in store.read_events(live.state.session_id) if e.kind == "session_finished"]
        assert [e.status for e in ended] == ["stopped"]
        assert not [e for e in store.read_events(live.state.session_id) if e.kind == "run_finished"]

    resumed = SessionScreen(cfg, db, resume=live.state.session_id, task=task, run_env={})
    app = SpeedrunApp(lambda: resumed)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: resumed.state.finished and resumed.state.finished.status == "finished",
                       what="the resumed session")
        assert resumed.state.nodes[0].time_s == pytest.approx(0.9, rel=0.01)  # the interrupted run, redone
        assert resumed.state.nodes[1].time_s == pytest.approx(0.45, rel=0.01)


@pytest.mark.asyncio
async def test_replay_shows_what_the_live_session_showed(tmp_path):
    app, screens = session_app(tmp_path, [speedup(0.5, "Halve it."), speedup(0.25, "Quarter it.")])
    async with app.run_test(size=SIZE) as pilot:
        await approval(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalModal)
                       and "0.25" in app.screen.request.diff, what="the revision")
        await pilot.press("a")
        live = screens[0]
        await finished(pilot, live)
        await pilot.pause(0.2)
        live_panes = pane_content(live)
    assert any("step:10/10" in line for line in live_panes["log"])

    replay = ReplayScreen(tmp_path / "sessions.db", live.state.session_id)
    app = SpeedrunApp(lambda: replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay.state.finished is not None, what="the replay to load")
        await pilot.pause(0.2)
        assert pane_content(replay) == live_panes


def status(screen, node_id):
    node = screen.state.nodes.get(node_id)
    return node.status if node else None


# The start code waits while $HOLD_FLAG exists, so that the pause lands while the root runs, however late
# the key is handled (the flag sits in a folder of its own: the sandbox shows a run the folders its env names).
HELD_TRAIN = FAKE_TRAIN.replace("def main():", "import time\n\ndef main():\n"
                                "    while os.path.exists(os.environ.get('HOLD_FLAG', '')):\n        time.sleep(0.05)")


@pytest.mark.asyncio
async def test_pause_step_and_resume_keys(tmp_path):
    flag = tmp_path / "hold" / "flag"
    flag.parent.mkdir()
    flag.touch()
    script = write_script(tmp_path, [speedup(0.5), speedup(0.5, variant=1)])
    cfg = config(script, mode="auto", max_nodes=2)
    controller, store = open_controller(tmp_path, cfg, task=fake_task(tmp_path, HELD_TRAIN),
                                        run_env={"HOLD_FLAG": str(flag)})
    screen = SessionScreen(cfg, store.path, controller=controller)
    app = SpeedrunApp(lambda: screen)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: status(screen, 0) == "running", what="the root run")
        await pilot.press("p")
        await wait_for(pilot, lambda: "paused" in screen_text(app), what="the pause")
        flag.unlink()
        await wait_for(pilot, lambda: status(screen, 0) == "valid", what="the root")
        await pilot.pause(1.0)
        assert 1 not in screen.state.nodes  # paused: no new node starts
        await pilot.press("n")
        await wait_for(pilot, lambda: status(screen, 1) == "valid", what="one stepped node")
        await pilot.pause(1.0)
        assert 2 not in screen.state.nodes  # a step lets exactly one node through
        await pilot.press("p")
        await finished(pilot, screen)
        assert status(screen, 2) == "valid"


@pytest.mark.asyncio
async def test_switching_to_auto_approves_the_pending_edit(tmp_path):
    app, screens = session_app(tmp_path, [speedup(0.5)])
    async with app.run_test(size=SIZE) as pilot:
        await approval(pilot)
        await pilot.press("escape")  # decide later
        await wait_for(pilot, lambda: not isinstance(app.screen, ApprovalModal), what="the modal to close")
        assert "waiting for you" in screen_text(app)
        await pilot.press("m")
        await finished(pilot, screens[0])
        assert screens[0].control.mode == "auto"
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: "Session · keys" in screen_text(app), what="the help screen")
        assert "/ask" in screen_text(app)
    assert decisions(tmp_path / "sessions.db", screens[0].state.session_id) == [
        ("approve", "policy", "switched to auto")]


@pytest.mark.asyncio
async def test_cancel_stops_the_training_in_flight(tmp_path):
    script = write_script(tmp_path, [speedup(0.5)])
    screen = SessionScreen(config(script, mode="auto"), tmp_path / "sessions.db",
                           task=fake_task(tmp_path, SLOW_TRAIN), run_env={"SLOW": "1"})
    app = SpeedrunApp(lambda: screen)
    async with app.run_test(size=SIZE) as pilot:
        log = screen.query_one(Log)
        await wait_for(pilot, lambda: any("step:1/10" in line for line in log.lines), what="the root run")
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.state.nodes[0].status == "cancelled", what="the cancelled run",
                       timeout=15)
        assert screen.state.nodes[0].result.status == "cancelled"


@pytest.mark.asyncio
async def test_human_mode_edit_then_run(tmp_path, monkeypatch):
    editor = tmp_path / "editor.py"
    editor.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('# speedups', '# speedups\\nSTEP_MS *= 0.25'))\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    app, screens = session_app(tmp_path, ["(no model call in human mode)"], mode="human")
    async with app.run_test(size=SIZE) as pilot:
        screen = screens[0]
        await wait_for(pilot, lambda: screen.control and getattr(screen.control.controller, "workspace_path", None),
                       what="human mode's train.py")
        await pilot.press("e")
        modal = await approval(pilot)
        assert "run your edit?" in screen_text(app)
        assert "+STEP_MS *= 0.25" in modal.request.diff
        await pilot.press("a")
        await finished(pilot, screen)
        node = screen.state.nodes[1]
        assert node.stage == "human"
        assert node.time_s == pytest.approx(0.9 * 0.25, rel=0.01)


@pytest.mark.parametrize("task, message", [("micro/99", "unknown task 'micro/99'"),
                                           ("micro/1", "micro data is missing")])
def test_run_with_bad_input_is_one_line_before_any_screen(tmp_path, task, message):
    import subprocess

    done = subprocess.run([sys.executable, "-m", "speedrun_tui", "run", task, "--db", str(tmp_path / "s.db")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr
    assert "\x1b[" not in done.stdout  # no screen was drawn


@pytest.mark.asyncio
async def test_fork_from_a_node_of_the_tree_with_a_steer(tmp_path):
    from tui.widgets.timeline import Timeline
    from tui.widgets.tree import SearchTree

    app, screens = session_app(tmp_path, [speedup(0.9), speedup(0.5), speedup(0.8)], max_nodes=3)
    async with app.run_test(size=SIZE) as pilot:
        await approval(pilot)
        await pilot.press("a")
        second = await wait_for(pilot, lambda: isinstance(app.screen, ApprovalModal) and app.screen.request.node == 2
                                and app.screen, what="node 2's proposal")
        await pilot.press("escape")  # later: back to the session screen, node 2 still waits
        screen = screens[0]
        await wait_for(pilot, lambda: app.screen is screen, what="the session screen")
        tree = screen.query_one(SearchTree)
        await wait_for(pilot, lambda: 1 in tree._items, what="node 1 in the tree")
        tree.focus()
        tree.move_cursor(tree._items[1])
        await pilot.press("b")
        await pilot.pause(0.1)
        assert screen.query_one("#command").value == "/fork 1 "
        await pilot.press(*"smaller steps", "enter")
        await pilot.press(*"/approve", "enter")  # node 2 runs as proposed; the fork is about the next edit
        third = await wait_for(pilot, lambda: isinstance(app.screen, ApprovalModal) and app.screen.request.node == 3
                               and app.screen, what="the forked proposal")
        assert third is not second and "STEP_MS *= 0.9" in third.request.diff  # made on node 1's code
        await pilot.press("a")
        await finished(pilot, screen)
        await pilot.pause(0.2)
        assert "#3 improve fork" in screen_text(app)
        assert "you · fork from node 1" in screen_text(app)
    db, sid = tmp_path / "sessions.db", screen.state.session_id
    with Store(db, readonly=True) as store:
        [prompt] = [e for e in store.read_events(sid) if e.kind == "llm_request" and e.node == 3]
    assert "smaller steps" in prompt.messages[-1]["content"]
    assert ("fork", "human", "smaller steps") in decisions(db, sid)
    assert [(n.parent, n.forked) for n in screen.state.nodes.values()][1:] == [(0, False), (0, False), (1, True)]

    replay = ReplayScreen(db, sid)
    app = SpeedrunApp(lambda: replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay.state.finished is not None, what="the replay to load")
        marks = replay.query_one(Timeline).marks.decisions
        assert "fork" in marks.values() and "#3 improve fork" in screen_text(app)
