"""SweepScreen: one row per cell of a sweep (done, running, failed, left; best FSR so far); `enter`
opens the cell's session in the replay screen, which follows a live one.

The rows are sessions.sweep_progress's model, read from the database on a timer, so the screen
shows a sweep this process runs (`speedrun-tui sweep FILE`), another process runs, or one that
has stopped. When this process runs it, leaving the screen stops every cell, resumable.
"""

from __future__ import annotations

import threading
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from sessions.sweep_progress import COLUMNS, SweepProgress, cell_row, sweep_progress
from sessions.sweeps import sweep_names
from tui.screens.failures import notify_failure
from tui.screens.help import HelpScreen

POLL_S = 1.0


class SweepScreen(Screen):
    BINDINGS = [
        Binding("enter", "open", "Open session", show=False),
        Binding("w", "next_sweep", "Next sweep"),
        Binding("g", "reload", "Refresh"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q,escape", "close", "Back"),
    ]

    def __init__(self, db_path: Path, name: str | None = None, *, runner=None):
        """`name` None: the sweep run most recently. `runner` (an agent.sweep.SweepRunner): run it here."""
        super().__init__()
        self.db_path = Path(db_path)
        self.sweep_name = name
        self.runner = runner
        self.progress: SweepProgress | None = None
        self.outcome = None  # the runner's SweepOutcome once it has returned
        self.failure: BaseException | None = None  # what ended the runner instead
        self.driven = threading.Event()  # set while no runner runs here
        self.driven.set()
        self.names: list[str] = []  # the database's sweeps, most recent first
        self._rows: list[tuple] = []  # what the table shows now, row by row
        self._leaving = False

    def compose(self) -> ComposeResult:
        yield Static("Reading the sweep…", id="sweep-summary")
        yield DataTable(id="cells", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#cells", DataTable)
        self._columns = table.add_columns(*COLUMNS)
        table.border_title = "Cells · enter opens the session"
        self.set_interval(POLL_S, self.action_reload)
        self.action_reload()
        if self.runner is not None:
            self.driven.clear()
            self._drive()

    # -- the sweep this process runs --------------------------------------------------

    @work(thread=True, exit_on_error=False, group="drive")
    def _drive(self) -> None:
        try:
            self.outcome = self.runner.run(lambda progress: None)  # this screen reads the progress itself
        except BaseException as err:
            self.failure = err
            raise
        finally:
            self.driven.set()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        notify_failure(self, event, title="The sweep stopped" if event.worker.group == "drive" else "Reading failed")
        if event.worker.group == "drive" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self.runner = None
            if self._leaving:
                self.app.exit()
            else:
                self.action_reload()

    # -- reading --------------------------------------------------------------------

    def action_reload(self) -> None:
        if self.is_current:
            self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        names = sweep_names(self.db_path)
        name = self.sweep_name or next(iter(names), None)
        progress = sweep_progress(self.db_path, name) if name in names else None
        self.app.call_from_thread(self._show, names, progress)

    def _show(self, names: list[str], progress: SweepProgress | None) -> None:
        self.names = names
        summary = self.query_one("#sweep-summary", Static)
        if progress is None:  # not recorded yet: the runner here is about to, or there is no such sweep
            if self.runner is None:
                what = f"no sweep {self.sweep_name!r}" if self.sweep_name else "no sweeps"
                summary.update(f"There is {what} in {self.db_path} yet: run `speedrun-tui sweep FILE.toml`.")
            return
        renamed = self.progress is None or self.progress.name != progress.name
        self.progress, self.sweep_name = progress, progress.name
        running_here = " · running in this process (q stops every cell, resumable)" if self.runner else ""
        text = Text(f"sweep {progress.name}: {progress.summary()}{running_here}\n", style="bold")
        text.append(progress.settings_line(), style="dim")
        summary.update(text)
        rows = [cell_row(cell) for cell in progress.cells]
        if renamed or len(rows) != len(self._rows):
            self._fill(rows)
        else:  # only what changed: the cursor and the scroll stay where the person left them
            table = self.query_one("#cells", DataTable)
            for index, (old, new) in enumerate(zip(self._rows, rows)):
                for column, before, after in zip(self._columns, old, new):
                    if before != after:
                        table.update_cell(str(index), column, after)
        self._rows = rows

    def _fill(self, rows: list[tuple]) -> None:
        table = self.query_one("#cells", DataTable)
        table.clear()
        for index, values in enumerate(rows):
            table.add_row(*values, key=str(index))

    # -- actions ----------------------------------------------------------------------

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        self._open(int(message.row_key.value))

    def action_open(self) -> None:
        table = self.query_one("#cells", DataTable)
        if table.row_count:
            self._open(table.cursor_row)

    def _open(self, index: int) -> None:
        from tui.screens.replay import ReplayScreen

        cell = self.progress.cells[index] if self.progress else None
        if cell is None or cell.session is None:
            self.notify("This cell has no session yet.", severity="warning")
            return
        self.app.push_screen(ReplayScreen(self.db_path, cell.session.id))

    def action_next_sweep(self) -> None:
        if self.sweep_name in self.names and len(self.names) > 1:
            self.sweep_name = self.names[(self.names.index(self.sweep_name) + 1) % len(self.names)]
            self.action_reload()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen("Sweep", self.BINDINGS, commands=False))

    def on_unmount(self) -> None:
        if self.runner is not None:  # the app quits (ctrl+q) with cells running: they stop, resumable
            self.runner.stop()

    def action_close(self) -> None:
        if self.runner is not None:
            self._leaving = True
            self.notify("Stopping every cell (each stays resumable)…")
            self.runner.stop()
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()

