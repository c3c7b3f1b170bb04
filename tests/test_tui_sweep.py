"""The sweep screen: one row per cell from the database; enter opens a cell's session in the replay screen."""

from __future__ import annotations

import pytest
from sessions_helpers import node_events, started
from textual.widgets import DataTable, Static
from tui_helpers import notices, wait_for

from sessions import events as ev
from sessions.store import Store
from sessions.sweeps import Cell, claim, release
from tui.app import SpeedrunApp
from tui.screens.replay import ReplayScreen
from tui.screens.sweep import SweepScreen

CELLS = [Cell("micro/1", "reference", "flat", "none", "auto", seed) for seed in (0, 1, 2)]


def demo_sweep(db) -> tuple[str, str]:
    """Cell 0 finished (start 100 s, best 80 s), cell 1 killed after its start code, cell 2 not started."""
    claim(db, "demo", CELLS, {"max_nodes": 1, "time_budget_s": None}, "demo.toml")
    release(db, "demo")
    with Store(db) as store:
        done = store.new_session(started(config={"sweep": "demo", "seed": 0}))
        for node, time_s in ((0, 100.0), (1, 80.0)):
            for event in node_events(node, None if node == 0 else 0, "root" if node == 0 else "draft", "sha", time_s):
                store.append(done, event)
        store.append(done, ev.SessionFinished())
        killed = store.new_session(started(config={"sweep": "demo", "seed": 1}))
        for event in node_events(0, None, "root", "sha", 100.0):
            store.append(killed, event)
    return done, killed


@pytest.mark.asyncio
async def test_the_sweep_screen_lists_every_cell_and_opens_a_cells_session(tmp_path):
    db = tmp_path / "sessions.db"
    done, killed = demo_sweep(db)
    screen = SweepScreen(db)  # no name: the sweep run last
    app = SpeedrunApp(lambda: screen)
    async with app.run_test(size=(150, 30)) as pilot:
        table = screen.query_one("#cells", DataTable)
        await wait_for(pilot, lambda: table.row_count == 3, what="the cells")
        summary = str(screen.query_one("#sweep-summary", Static).render())
        assert "sweep demo: 1 done · 0 running · 0 failed · 2 left of 3 cells" in summary
        assert "max_nodes 1 · from demo.toml" in summary
        rows = [[str(value) for value in table.get_row_at(i)] for i in range(3)]
        assert [row[6:9] for row in rows] == [["done", done, "2"], ["left (resumable)", killed, "1"],
                                              ["left", "-", "-"]]
        assert rows[0][9] == "1.000"  # (100 - 80) / (100 - 80): the best FSR so far
        table.focus()
        table.move_cursor(row=2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: notices(app), what="a notice")
        assert notices(app) == ["This cell has no session yet."]
        table.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen), what="the replay screen")
        assert app.screen.session_ref == done
        await pilot.press("q")
        await wait_for(pilot, lambda: app.screen is screen, what="the sweep screen again")


@pytest.mark.asyncio
async def test_a_sweep_run_in_the_tui_stops_every_cell_resumable_when_the_screen_is_left(tmp_path, monkeypatch):
    import records.catalog as catalog
    from agent.sweep import SweepRunner
    from agent.sweepfile import load_sweep_file
    from sweep_cli import catalog_of, fake_micro_tasks, small_sweep

    flag = tmp_path / "flags" / "hang.flag"
    flag.parent.mkdir()
    flag.touch()
    for name, stand_in in catalog_of(fake_micro_tasks(tmp_path), {"HANG_FLAG": str(flag)}).items():
        monkeypatch.setattr(catalog, name, stand_in)
    path = small_sweep(tmp_path, 'name = "tui"\ntasks = ["micro/1"]\nmodels = ["scripted:slow.txt"]\nmax_nodes = 1\n'
                                 'verify_repeats = 0\n')
    db = tmp_path / "sessions.db"
    runner = SweepRunner(load_sweep_file(path), db, workers=1)
    screen = SweepScreen(db, "tui", runner=runner)
    app = SpeedrunApp(lambda: screen)
    try:
        async with app.run_test(size=(150, 30)) as pilot:
            summary = screen.query_one("#sweep-summary", Static)
            await wait_for(pilot, lambda: "1 running" in str(summary.render()), what="the cell running", timeout=60)
            assert "running in this process" in str(summary.render())
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, what="the sweep to stop and the app to exit", timeout=60)
    finally:  # a failure above must not leave the cell's run waiting on the flag
        runner.stop()
        flag.unlink()
    [cell] = screen.outcome.progress.cells
    assert cell.state == "left" and cell.resumable and cell.session.ended == "stopped"
