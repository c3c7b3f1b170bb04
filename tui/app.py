"""SpeedrunApp: the Textual application, and the entry points the CLI calls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import App
from textual.screen import Screen

TUI_DIR = Path(__file__).parent


def stylesheets() -> list[Path]:
    """Every widget's and screen's .tcss, kept beside its module."""
    return sorted(TUI_DIR.rglob("*.tcss"))


class SpeedrunApp(App):
    CSS_PATH = stylesheets()
    TITLE = "speedrun-tui"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, first_screen: Callable[[], Screen]):
        super().__init__()
        self._first_screen = first_screen

    def get_default_screen(self) -> Screen:
        return self._first_screen()


def run_session(config, db_path: Path, *, session_id: str | None = None) -> int:
    """`speedrun-tui run ...` in the terminal UI; returns the exit status.

    The controller opens before the app starts, so a bad task, config or session id is a
    one-line error on the command line rather than a screen.
    """
    from agent.controller import Controller
    from sessions.store import Store
    from tui.screens.session import SessionScreen

    with Store(db_path) as store:
        controller = Controller(config, store, session_id=session_id)
        screen = SessionScreen(config, db_path, controller=controller)
        SpeedrunApp(lambda: screen).run()
    return _farewell(controller.session_id, screen)


def _farewell(session_id: str, screen) -> int:
    finished = screen.state.finished
    if finished is None or finished.status == "stopped":
        print(f"session {session_id} stopped; resume it with `speedrun-tui run --resume {session_id}`")
        return 1
    reason = f": {finished.reason}" if finished.reason else ""
    print(f"session {session_id} {finished.status}{reason}; replay it with `speedrun-tui replay {session_id}`")
    return 0 if finished.status == "finished" else 1


def run_replay(db_path: Path, session: str, *, start: str = "end") -> int:
    from tui.screens.replay import ReplayScreen

    SpeedrunApp(lambda: ReplayScreen(db_path, session, start=start)).run()
    return 0


def run_sweep(runner):
    """`speedrun-tui sweep FILE` in the terminal UI: the sweep screen while `runner` (agent.sweep's)
    runs the cells; returns its SweepOutcome (None when the app ended before it started), or raises what
    ended it."""
    from tui.screens.sweep import SweepScreen

    screen = SweepScreen(runner.db_path, runner.sweep.name, runner=runner)
    SpeedrunApp(lambda: screen).run()
    screen.driven.wait()  # the screen stopped the cells as it closed
    if screen.failure is not None:
        raise screen.failure
    return screen.outcome


def run_home(db_path: Path) -> int:
    from tui.screens.home import HomeScreen

    SpeedrunApp(lambda: HomeScreen(db_path)).run()
    return 0
