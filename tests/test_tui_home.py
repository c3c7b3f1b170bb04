"""The home screen (catalog, recent sessions, new-session form) and the scores screen."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from agent_helpers import fake_task
from reliability_helpers import processes_running
from textual.widgets import DataTable, Input, Log, Select, Static

from agent.controller import Controller
from records.microdata import build_micro
from sessions import events as ev
from sessions.store import Store
from tui.app import SpeedrunApp
from tui.screens.confirm import ConfirmModal
from tui.screens.home import HomeScreen, when_label, llm_key_present
from tui.screens.replay import ReplayScreen
from tui.screens.scores import ScoresScreen
from tui.screens.session import SessionScreen
from tui.widgets.fsrbars import bar
from speedrun_tui.home import runs_dir
from tests.records_helpers import write_corpus
from tui_helpers import SessionWriter, notices, screen_text, wait_for, write_demo_session

SIZE = (130, 38)


def render_plain(renderable) -> str:
    from rich.console import Console

    console = Console(width=120, record=True, file=__import__("io").StringIO())
    console.print(renderable)
    return console.export_text()


@pytest.fixture
def no_keys(monkeypatch):
    for name in [n for n in __import__("os").environ if n.endswith("_API_KEY")]:
        monkeypatch.delenv(name)


def home_app(db):
    screen = HomeScreen(db)
    return SpeedrunApp(lambda: screen), screen


def test_key_detection():
    assert not llm_key_present({"HOME": "/root", "OPENAI_API_KEY": " "})
    assert llm_key_present({"ANTHROPIC_API_KEY": "sk-x"})


@pytest.mark.asyncio
async def test_home_lists_tasks_and_sessions_and_says_there_is_no_key(tmp_path, no_keys):
    db = tmp_path / "sessions.db"
    sid = write_demo_session(db)
    app, screen = home_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen.sessions, what="the sessions")
        tasks = screen.query_one("#tasks", DataTable)
        assert "micro/1" in [row.value for row in tasks.rows]
        assert list(screen.sessions) == [sid]
        text = screen_text(app).replace("\n", " ")
        assert "No LLM API key is set" in text
        assert screen.query_one("#model").value == "reference"  # the offered fallback
        row = screen.query_one("#sessions", DataTable).get_row(sid)
        assert row[1] == "micro/1" and row[7] == "0.400"


@pytest.mark.asyncio
async def test_start_explains_what_is_missing(tmp_path, no_keys):
    app, screen = home_app(tmp_path / "sessions.db")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen.query_one("#tasks", DataTable).row_count, what="the catalog")
        await pilot.click("#start")
        await wait_for(pilot, lambda: notices(app), what="a notice")
        assert notices(app) == ["choose a task first"]
        app.clear_notifications()
        await pilot.pause(0.2)  # the toast is gone, so the click lands on the button
        screen.query_one("#task", Select).value = "micro/1"  # a fresh home has no micro data yet
        await pilot.click("#start")
        await wait_for(pilot, lambda: notices(app), what="a notice")
        assert "task micro/1 is not ready" in notices(app)[0]
        assert "speedrun-tui data micro" in notices(app)[0]
        assert not isinstance(app.screen, SessionScreen)


async def training_then_quit(pilot, session: SessionScreen) -> str:
    """Wait for the micro rung's first step line, then quit the session screen mid-run."""
    log = session.query_one(Log)
    await wait_for(pilot, lambda: any(line.startswith("step:") for line in log.lines), timeout=120,
                   what="the rung's first step")
    assert processes_running(str(runs_dir()))  # the rung trains in the session's run folder
    await pilot.press("q")
    await wait_for(pilot, lambda: not session.is_attached, timeout=30, what="the session screen to close")
    return session.state.session_id


@pytest.mark.asyncio
async def test_the_form_starts_a_real_micro_session_and_R_resumes_it(tmp_path, no_keys):
    build_micro([write_corpus(tmp_path)], log=lambda _line: None)
    db = tmp_path / "sessions.db"
    app, home = home_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: home.query_one("#tasks", DataTable).row_count, what="the catalog")
        home.query_one("#task", Select).value = "micro/1"
        home.query_one("#mode", Select).value = "auto"
        assert home.query_one("#model", Input).value == "reference"
        await pilot.click("#start")
        started = await wait_for(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen,
                                 what="the session screen")
        sid = await training_then_quit(pilot, started)
        assert app.screen is home
        # A poll that read the list while the session ran may land first; the reload after the close follows.
        await wait_for(pilot, lambda: sid in home.sessions and home.sessions[sid].status == "unfinished",
                       what="the stopped session on the home list, unfinished")
        table = home.query_one("#sessions", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(sid))
        await pilot.press("R")
        resumed = await wait_for(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen,
                                 what="the resumed session")
        assert await training_then_quit(pilot, resumed) == sid
    assert processes_running(str(runs_dir())) == []  # both runs were stopped with their screens
    with Store(db, readonly=True) as store:
        info = next(i for i in store.list_sessions() if i.id == sid)
        kinds = [e.kind for e in store.read_events(sid)]
    assert (info.task, info.model, info.mode, info.scaffold, info.hints) == ("micro/1", "reference", "auto",
                                                                             "flat", "none")
    assert kinds.count("session_resumed") == 1 and kinds.count("run_started") == 2
    assert kinds[kinds.index("session_resumed") - 1] == "session_finished"  # stopped, then picked up again


@pytest.mark.asyncio
async def test_enter_replays_and_s_opens_scores(tmp_path, no_keys):
    db = tmp_path / "sessions.db"
    write_demo_session(db)
    app, screen = home_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen.sessions, what="the sessions")
        screen.query_one("#sessions", DataTable).focus()
        await pilot.press("enter")
        replay = await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen) and app.screen, what="replay")
        await wait_for(pilot, lambda: replay.position == 34, what="the replay to load")
        await pilot.press("q")
        await wait_for(pilot, lambda: app.screen is screen, what="home again")
        await pilot.press("s")
        scores = await wait_for(pilot, lambda: isinstance(app.screen, ScoresScreen) and app.screen, what="scores")
        await wait_for(pilot, lambda: scores.scores, what="the scores")
        assert scores.scores[0].fsr == pytest.approx(0.4)


@pytest.mark.asyncio
async def test_scores_screen_bars_and_compare_by(tmp_path):
    db = tmp_path / "sessions.db"
    write_demo_session(db)
    with Store(db) as store:  # a second configuration on the same task, with no valid node
        w = SessionWriter(store, mode="auto")
        w.add(ev.SessionFinished(status="finished"))
    screen = ScoresScreen(db)
    app = SpeedrunApp(lambda: screen)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(screen.scores) == 2, what="both scores")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "copilot · scripted:demo · flat · none" in text
        assert "auto · scripted:demo · flat · none" in text
        assert "0.133 ± 0.133" in text  # top-3 mean of (0.4, 0, 0)
        assert "FSR by mode across tasks" in text
        chart = render_plain(screen.query_one("#time-chart", Static).content)
        assert "copilot" in chart and "0.400 [0.40, 0.40] n=1" in chart  # its best node scored in its last stretch
        assert "auto" in chart and "0.000" in chart
        await pilot.press("b")
        await pilot.pause(0.1)
        assert "FSR by model across tasks" in screen_text(app)


def test_sessions_show_the_time_today_and_the_date_before():
    now = time.time()
    assert when_label(now) == time.strftime("%H:%M", time.localtime(now))
    assert when_label(now - 3 * 86400) == time.strftime("%m-%d", time.localtime(now - 3 * 86400))


def test_bar_lengths():
    assert bar(1.0, 1.0, 10) == "█" * 10
    assert bar(0.5, 1.0, 10) == "█" * 5
    assert bar(0.0625, 1.0, 2) == "▏"
    assert bar(3.0, 1.0, 4) == "█" * 4  # capped at the width


@pytest.mark.asyncio
@pytest.mark.parametrize("model", ["reference", ""])
async def test_the_form_in_human_mode_opens_a_human_session_with_the_benchmark_budget(tmp_path, no_keys, model):
    app, home = home_app(tmp_path / "sessions.db")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: home.query_one("#tasks", DataTable).row_count, what="the catalog")
        home.query_one("#task", Select).value = "micro/1"
        home.query_one("#mode", Select).value = "human"
        home.query_one("#model", Input).value = model  # "reference": the form's own fallback without a key
        config = home._form_config()
    with Store(tmp_path / "sessions.db") as store:
        controller = Controller(config, store, task=fake_task(tmp_path), run_env={})
    assert (controller.config.model, controller.mode, controller.budget) == ("human", "human", 20)


@pytest.mark.asyncio
async def test_a_session_in_flight_shows_its_run_until_it_ends(tmp_path, no_keys, monkeypatch):
    monkeypatch.setattr("tui.screens.home.PROGRESS_S", 0.1)
    db = tmp_path / "sessions.db"
    with Store(db) as store:  # written by this process, alive: the session is running
        w = SessionWriter(store, mode="auto")
        sid = w.session_id
        w.add(ev.NodeCreated(node=0, parent=None, stage="root"))
        w.add(ev.RunStarted(node=0, code_sha="a"))
        w.add(ev.Metric(node=0, step=50, val_loss=3.9, train_time_ms=5000.0, total_steps=200))
        w.add(ev.Metric(node=0, step=60, train_loss=3.8, train_time_ms=6000.0, total_steps=200))
        store.flush()
        app, screen = home_app(db)
        async with app.run_test(size=SIZE) as pilot:
            table = screen.query_one("#sessions", DataTable)
            status = lambda: str(table.get_row(sid)[4]) if sid in screen.sessions else ""  # noqa: E731
            await wait_for(pilot, lambda: "node 0" in status(), what="the run in flight")
            assert status() == "running · node 0 · step 60/200 · val_loss 3.9000"
            # The rest of the line: the target, the time so far, and 14 s left of the start time's 20 s.
            assert table.border_subtitle.startswith(f"{sid} node 0 · step 60/200 · val_loss 3.9000 (target 3.28) · ")
            assert table.border_subtitle.endswith(" · about 14s left")
            w.add(ev.SessionFinished(status="stopped"))
            await wait_for(pilot, lambda: status().startswith("unfinished"), what="the session's end")
            assert table.border_subtitle is None
            # A poll that read the store while the session ran, landing after a newer read, is dropped.
            running = [replace(info, status="running") for info in screen.sessions.values()]
            screen._show_progress(running, {}, 0.0)
            assert status().startswith("unfinished")


@pytest.mark.asyncio
async def test_the_form_asks_before_it_runs_more_runs_than_cores(tmp_path, no_keys):
    from runner.machineload import available_cores

    build_micro([write_corpus(tmp_path)], log=lambda _line: None)
    db = tmp_path / "sessions.db"
    app, home = home_app(db)
    too_many = str(available_cores() + 1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: home.query_one("#tasks", DataTable).row_count, what="the catalog")
        home.query_one("#task", Select).value = "micro/1"
        home.query_one("#mode", Select).value = "auto"
        home.query_one("#parallel", Input).value = too_many
        await pilot.click("#start")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question")
        assert f"--parallel {too_many} x 1 thread per run" in screen_text(app)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is home, what="the form again")
        await pilot.click("#start")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question again")
        await pilot.press("y")
        session = await wait_for(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen,
                                 what="the session screen")
        await wait_for(pilot, lambda: session.state is not None and session.state.started, what="the session")
        await pilot.press("q")
        await wait_for(pilot, lambda: not session.is_attached, timeout=30, what="the session screen to close")
    with Store(db, readonly=True) as store:
        [info] = store.list_sessions()
    assert info.config["parallel"] == int(too_many) and info.config["oversubscribe"] is True
