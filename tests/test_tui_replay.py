"""The replay screen on a stored session: jumps, steps, playing, the timeline, following a live writer."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from textual.widgets import Log

from sessions.store import Store
from tui.app import SpeedrunApp
from tui.screens.replay import ReplayScreen
from tui.widgets.diffpane import DiffPane
from tui.widgets.timeline import Timeline
from tui.widgets.workspace import Workspace
from tui_helpers import notices, screen_text, wait_for, write_demo_session

SIZE = (140, 40)


def replay_app(db: Path, session: str, **kwargs) -> tuple[SpeedrunApp, ReplayScreen]:
    screen = ReplayScreen(db, session, **kwargs)
    return SpeedrunApp(lambda: screen), screen


async def loaded(pilot, screen: ReplayScreen, position: int | None = None) -> None:
    await wait_for(pilot, lambda: screen.replay is not None and (position is None or screen.position == position),
                   what=f"the replay at event {position}")
    await pilot.pause(0.05)


@pytest.fixture
def demo(tmp_path):
    db = tmp_path / "sessions.db"
    return db, write_demo_session(db)


@pytest.mark.asyncio
async def test_opens_at_the_end_with_every_pane(demo):
    db, sid = demo
    app, screen = replay_app(db, sid)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, screen, 34)
        text = screen_text(app)
        assert "#1 improve best 0.8s" in text
        assert "#2 improve rejected" in text
        assert "keep 200 steps, try warmup instead" in text  # the steer, in the chat
        assert "+steps = 100" in screen.query_one(DiffPane)._diff
        assert "event 34/34" in text
        assert "FSR 0.400" in text


@pytest.mark.asyncio
async def test_jumps_to_first_best_and_numbered_nodes_and_steps(demo):
    db, sid = demo
    app, screen = replay_app(db, sid)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, screen, 34)
        workspace = screen.query_one(Workspace)
        log = screen.query_one(Log)

        await pilot.press("home")
        await loaded(pilot, screen, screen.marks.node_last[0] + 1)
        assert workspace.focus_node(screen.state) == 0
        assert "using device cpu" in log.lines
        assert screen.state.nodes[0].status == "valid" and 1 not in screen.state.nodes

        await pilot.press("b")
        await loaded(pilot, screen, screen.marks.node_last[1] + 1)
        assert workspace.focus_node(screen.state) == 1
        assert "+lr = 0.003" in screen.query_one(DiffPane)._diff
        assert any("step:150/200 val_loss:2.9000" in line for line in log.lines)

        before = screen.position
        await pilot.press("left")
        await loaded(pilot, screen, before - 1)
        await pilot.press("right")
        await loaded(pilot, screen, before)

        await pilot.press("g", "2", "enter")
        await loaded(pilot, screen, screen.marks.node_last[2] + 1)
        assert workspace.focus_node(screen.state) == 2

        await pilot.press("g", "9", "enter")
        await pilot.pause(0.1)
        assert any("No node '9'" in text for text in notices(app))
        assert screen.position == screen.marks.node_last[2] + 1

        await pilot.press("end")
        await loaded(pilot, screen, 34)


@pytest.mark.asyncio
async def test_plays_at_max_speed_and_paced_at_1x(demo):
    db, sid = demo
    app, screen = replay_app(db, sid, start="start")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, screen, 0)
        await pilot.press("1", "space")  # 1x: the demo's events are one second apart
        await pilot.pause(1.5)
        assert 1 <= screen.position <= 4
        await pilot.press("space", "4", "space")  # pause, max speed, play
        await loaded(pilot, screen, 34)
        assert screen.state.finished is not None
        assert "replay max" in screen_text(app)


@pytest.mark.asyncio
async def test_timeline_marks_the_human_interventions(demo):
    db, sid = demo
    app, screen = replay_app(db, sid)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, screen, 34)
        assert sorted(screen.marks.decisions.values()) == ["approve", "reject", "steer"]
        bar = screen_text(app).splitlines()[-4]  # timeline, cursor line, status bar, footer
        assert bar.count("✓") == 1 and bar.count("➜") == 1 and bar.count("✗") == 1
        assert bar.count("┬") == 3  # one per node
        assert screen.query_one(Timeline).position == 34


WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from sessions import events as ev
    from sessions.store import Store
    from tui_helpers import SessionWriter
    store = Store(Path({db!r}))
    w = SessionWriter(store)
    print(w.session_id, flush=True)
    w.add(ev.NodeCreated(node=0, parent=None, stage="root"))
    w.add(ev.RunStarted(node=0, code_sha=""))
    for step in range(12):
        time.sleep(0.25)
        w.add(ev.LogLines(node=0, lines=[f"live line {{step}}"]))
        store.flush()
    w.add(ev.SessionFinished(status="finished"))
    store.close()
""")


@pytest.mark.asyncio
async def test_follows_a_session_another_process_is_writing(tmp_path):
    db = tmp_path / "sessions.db"
    code = WRITER.format(tests=str(Path(__file__).parent), db=str(db))
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        sid = writer.stdout.readline().strip()
        app, screen = replay_app(db, sid)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, screen)
            assert screen.state.finished is None
            log = screen.query_one(Log)
            await wait_for(pilot, lambda: "live line 11" in log.lines, what="the last live line", timeout=20)
            await wait_for(pilot, lambda: screen.state.finished is not None, what="the end of the session")
            assert [line for line in log.lines if line.startswith("live line")] == [f"live line {i}" for i in range(12)]
    finally:
        writer.wait(timeout=20)
    with Store(db, readonly=True) as store:
        assert store.event_count(sid) == screen.position


@pytest.mark.asyncio
async def test_choosing_a_node_in_the_tree_pins_the_panes(demo):
    from tui.widgets.tree import SearchTree

    db, sid = demo
    app, screen = replay_app(db, sid)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, screen, 34)
        tree = screen.query_one(SearchTree)
        tree.focus()
        tree.move_cursor(tree._items[0])
        await pilot.press("enter")
        await pilot.pause(0.1)
        workspace = screen.query_one(Workspace)
        assert workspace.pinned == 0
        assert "Log · node 0" in screen_text(app)
        assert "using device cpu" in screen.query_one(Log).lines
        await pilot.press("enter")  # the pinned node again: follow the newest
        await pilot.pause(0.1)
        assert workspace.pinned is None and workspace.focus_node(screen.state) == 2


@pytest.mark.asyncio
async def test_a_broken_database_is_one_line_on_screen(tmp_path):
    db = tmp_path / "sessions.db"
    db.write_text("not a database")
    app, screen = replay_app(db, "abc")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: notices(app), what="the error")
        assert notices(app) == [f"{db}: not a speedrun-tui session database (file is not a database)"]
        assert "Traceback" not in screen_text(app)
