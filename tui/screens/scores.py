"""ScoresScreen: the `score` and `compare` tables, and FSR per task and configuration as bars."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker

from sessions.commands import COMPARE_BY
from tui.screens.failures import notify_failure
from tui.screens.help import HelpScreen
from tui.widgets.fsrbars import FsrBars


class ScoresScreen(Screen):
    BINDINGS = [
        Binding("b", "compare_by", "Compare by…"),
        Binding("r", "reload", "Reload"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q,escape", "close", "Back"),
    ]

    def __init__(self, db_path: Path):
        super().__init__()
        self.db_path = Path(db_path)
        self.by = "mode"
        self.scores: list = []
        self.groups: dict = {}

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="scores-body"):
            yield Static("Scoring sessions…", id="scores-table")
            yield Static("FSR per task and configuration (mean of the top 3 sessions)", classes="heading")
            yield FsrBars(id="fsr-bars")
            yield Static("", id="task-table")
            yield Static("", id="compare-table")
            yield Static("Best FSR against elapsed time, by mode (equal time; `compare --at`)", classes="heading")
            yield Static("", id="time-chart")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._score()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _score(self) -> None:
        from sessions.elapsed import fsr_over_span
        from sessions.replay import load_state
        from sessions.scoring import score_session, summarize
        from sessions.store import Store

        scores, over_time = [], ([], [])
        if self.db_path.exists():
            with Store(self.db_path, readonly=True) as store:
                ids = [info.id for info in store.list_sessions() if info.status != "running"]
                states = [load_state(store, sid, with_logs=False) for sid in ids]
                scores = [score_session(state) for state in states]
                over_time = fsr_over_span(store, states, by="mode")
        # The bootstraps take a moment: every grouping is computed here, off the UI thread.
        tasks = [t for group in summarize(scores) for t in group.tasks]
        groups = {by: summarize(scores, by=(by,)) for by in COMPARE_BY}
        self.app.call_from_thread(self._show, scores, tasks, groups, over_time)

    def _show(self, scores: list, tasks: list, groups: dict, over_time: tuple = ([], [])) -> None:
        from tui.widgets.fsrbars import fsr_time_chart

        from sessions.report import scores_table, task_table

        self.scores, self.groups = scores, groups
        if not scores:
            self.query_one("#scores-table", Static).update(
                f"No finished sessions in {self.db_path} yet. Start one from the home screen.")
            return
        self.query_one("#scores-table", Static).update(scores_table(scores))
        self.query_one(FsrBars).show(tasks)
        self.query_one("#task-table", Static).update(task_table(tasks))
        self.query_one("#time-chart", Static).update(fsr_time_chart(*over_time))
        self._show_compare()

    def _show_compare(self) -> None:
        from sessions.report import compare_table

        self.query_one("#compare-table", Static).update(compare_table(self.groups[self.by], self.by, 0))

    def action_compare_by(self) -> None:
        self.by = COMPARE_BY[(COMPARE_BY.index(self.by) + 1) % len(COMPARE_BY)]
        self.notify(f"Comparing by {self.by}.")
        if self.scores:
            self._show_compare()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        notify_failure(self, event, title="Scoring failed")

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen("Scores", self.BINDINGS, commands=False))

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()
