"""HomeScreen: the task catalog, recent sessions with their scores, and a new-session form.

Catalog and sessions load in a thread worker; the form checks its choices (task,
model key) in a worker too, since that may import litellm.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static
from textual.worker import Worker

from agent.config import MODES, SessionConfig
from agent.scaffolds import SCAFFOLDS
from records.task import HINT_REGIMES
from sessions.progress import RunProgress, RunView
from sessions.report import fsr_text
from speedrun_tui.errors import UserError
from tui.screens.confirm import ConfirmModal
from tui.screens.failures import notify_failure
from tui.screens.help import HelpScreen

NO_KEY_MESSAGE = ("No LLM API key is set (no *_API_KEY variable in the environment). You can still "
                  "start: model `reference` applies the next record's own change, and mode `human` "
                  "lets you write each edit yourself. Set e.g. OPENAI_API_KEY to use a hosted model.")


SESSION_COLUMNS = ("id", "task", "mode", "model", "status", "nodes", "best", "FSR", "updated")
PROGRESS_S = 2.0  # how often the sessions list, and the runs of sessions in flight, are read again


def llm_key_present(environ=os.environ) -> bool:
    return any(name.endswith("_API_KEY") and value.strip() for name, value in environ.items())


class HomeScreen(Screen):
    BINDINGS = [
        Binding("n", "new", "New session"),
        Binding("enter", "open", "Replay", show=False),
        Binding("R", "resume", "Resume"),
        Binding("s", "scores", "Scores"),
        Binding("w", "sweeps", "Sweeps"),
        Binding("g", "reload", "Refresh"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit_app", "Quit"),
    ]

    def __init__(self, db_path: Path):
        super().__init__()
        self.db_path = Path(db_path)
        self.has_key = llm_key_present()
        self.sessions: dict[str, object] = {}
        self._shown_read_at = 0.0  # when the sessions the list shows were read from the store

    def compose(self) -> ComposeResult:
        yield Static(self._banner(), id="banner")
        with Horizontal(id="lists"):
            yield DataTable(id="tasks", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        with Vertical(id="new-session") as form:
            form.border_title = "New session"
            with Horizontal(classes="form-row"):
                yield Label("task", classes="field-label")
                yield Select([], prompt="task", id="task", allow_blank=True)
                yield Label("model", classes="field-label")
                yield Input(value="reference" if not self.has_key else "", id="model",
                            placeholder="litellm model, e.g. openai/gpt-4o, or reference")
            with Horizontal(classes="form-row"):
                yield Label("scaffold", classes="field-label")
                yield Select([(name, name) for name in SCAFFOLDS], value="flat", allow_blank=False, id="scaffold")
                yield Label("hints", classes="field-label")
                yield Select([(name, name) for name in HINT_REGIMES], value="none", allow_blank=False, id="hints")
                yield Label("mode", classes="field-label")
                yield Select([(name, name) for name in MODES], value="copilot", allow_blank=False, id="mode")
                yield Label("parallel", classes="field-label")
                yield Input(value="1", id="parallel", type="integer", tooltip="runs at once (--parallel)")
                yield Button("Start", variant="primary", id="start")
        yield Footer()

    def _banner(self) -> Text:
        text = Text("speedrun-tui", style="bold")
        text.append("  ·  Automated LLM Speedrunning Benchmark workspace\n", style="dim")
        if self.has_key:
            text.append("An LLM API key is set; any litellm model name works.", style="green")
        else:
            text.append(NO_KEY_MESSAGE, style="yellow")
        return text

    def on_mount(self) -> None:
        tasks = self.query_one("#tasks", DataTable)
        tasks.border_title = "Tasks"
        tasks.add_columns("task", "status", "start", "target", "hints", "title")
        sessions = self.query_one("#sessions", DataTable)
        sessions.border_title = "Recent sessions · enter replays"
        self._status_column = sessions.add_columns(*SESSION_COLUMNS)[SESSION_COLUMNS.index("status")]
        # Polls start once the first load has drawn the lists (see _show_sessions).
        self._poller = self.set_interval(PROGRESS_S, self._poll_sessions, pause=True)
        self.action_reload()

    # -- loading -------------------------------------------------------------------

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        from records.catalog import calibration_note, list_tasks, why_not_ready

        catalog = list_tasks()
        tasks = [(task, why_not_ready(task)) for task in catalog]
        note = calibration_note(catalog)
        infos, read_at = [], time.monotonic()
        if self.db_path.exists():
            from sessions.store import Store

            with Store(self.db_path, readonly=True) as store:
                infos = store.list_sessions()
        self.app.call_from_thread(self._loaded, tasks, infos, note, read_at)

    def _loaded(self, tasks: list, infos: list, note: str, read_at: float) -> None:
        banner = self._banner()
        if note:
            provisional = any(task.provisional for task, _ in tasks)
            banner.append(f"\n{note}", style="yellow" if provisional else "dim")
        self.query_one("#banner", Static).update(banner)
        table = self.query_one("#tasks", DataTable)
        table.clear()
        for task, reason in tasks:
            status = Text(reason, style="dim") if reason else (
                Text("ready, provisional", style="yellow") if task.provisional else Text("ready", style="green"))
            table.add_row(task.id, status, _secs(task.start_time_s), _secs(task.target_time_s),
                          ",".join(task.hint_levels) or "-", task.title, key=task.id)
        choices = [(task.id, task.id) for task, _ in tasks]
        picker = self.query_one("#task", Select)
        picker.set_options(choices)
        ready = [task.id for task, reason in tasks if not reason]
        if ready and picker.is_blank():
            picker.value = ready[0]
        self._show_sessions(infos, read_at)

    def _show_sessions(self, infos: list, read_at: float) -> None:
        table = self.query_one("#sessions", DataTable)
        self._shown_read_at = read_at
        selected = self._selected_session()
        table.clear()
        self.sessions = {info.id: info for info in infos}
        for info in sorted(infos, key=lambda i: i.updated_ts, reverse=True):
            table.add_row(info.id, info.task, info.mode, info.model, _status(info), str(info.nodes),
                          _secs(info.best_time_s), fsr_text(info.fsr, info.target_source, info.fsr_low, info.fsr_high),
                          when_label(info.updated_ts), key=info.id)
        if selected in self.sessions:  # a redraw keeps the person's place
            table.move_cursor(row=table.get_row_index(selected))
        table.border_subtitle = None if infos else f"none yet in {self.db_path}"
        self._poller.resume()

    # -- sessions in flight ------------------------------------------------------------

    def _poll_sessions(self) -> None:
        """While this screen shows: sessions that start or end elsewhere, and the runs in flight."""
        if self.is_current and self.db_path.exists():
            self._load_sessions()

    @work(thread=True, exclusive=True, exit_on_error=False, group="progress")
    def _load_sessions(self) -> None:
        from sessions.progress import load_runs
        from sessions.store import Store

        read_at = time.monotonic()
        try:
            with Store(self.db_path, readonly=True) as store:
                infos = store.list_sessions()
                runs = {info.id: load_runs(store, info.id) for info in infos if info.status == "running"}
        except UserError:
            return  # a reload says what is wrong; a poll would repeat it every tick
        self.app.call_from_thread(self._show_progress, infos, runs, read_at)

    def _show_progress(self, infos: list, runs: dict[str, tuple[RunProgress, ...]], read_at: float) -> None:
        if read_at < self._shown_read_at:
            return  # a poll that read the store before the last reload (a session that has since stopped)
        if [_row_numbers(info) for info in infos] != [_row_numbers(info) for info in self.sessions.values()]:
            self._show_sessions(infos, read_at)
        table = self.query_one("#sessions", DataTable)
        views = {sid: [run.view(time.time()) for run in session_runs] for sid, session_runs in runs.items()}
        for sid, session_views in views.items():
            if sid in self.sessions:
                table.update_cell(sid, self._status_column, _status(self.sessions[sid], session_views),
                                  update_width=True)
        # The cell has room for node, step and val_loss; the border says the rest (target, time, estimate).
        lines = [f"{sid} {view.line()}" for sid, session_views in views.items() for view in session_views]
        if self.sessions:
            table.border_subtitle = " | ".join(lines) or None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        notify_failure(self, event)

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        if message.data_table.id == "tasks":
            self.query_one("#task", Select).value = message.row_key.value
            self.query_one("#model", Input).focus()
        else:
            self._replay(message.row_key.value)

    # -- actions ---------------------------------------------------------------------

    def _selected_session(self) -> str | None:
        table = self.query_one("#sessions", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _replay(self, session_id: str) -> None:
        from tui.screens.replay import ReplayScreen

        self.app.push_screen(ReplayScreen(self.db_path, session_id), lambda _: self.action_reload())

    def action_open(self) -> None:
        session_id = self._selected_session()
        if session_id:
            self._replay(session_id)

    def action_new(self) -> None:
        self.query_one("#task", Select).focus()

    def action_scores(self) -> None:
        from tui.screens.scores import ScoresScreen

        self.app.push_screen(ScoresScreen(self.db_path))

    def action_sweeps(self) -> None:
        from tui.screens.sweep import SweepScreen

        self.app.push_screen(SweepScreen(self.db_path), lambda _: self.action_reload())

    def action_resume(self) -> None:
        session_id = self._selected_session()
        info = self.sessions.get(session_id) if session_id else None
        if info is None:
            return
        if info.status != "unfinished":
            self.notify(f"Session {session_id} is {info.status}; only an unfinished one can be resumed.",
                        severity="warning")
            return
        # No mode: the session comes back in the mode it last ran in (Controller._resume).
        config = SessionConfig(task_id=info.task, model=info.model, scaffold=info.scaffold, hints=info.hints)
        self._open_session(config, resume=session_id)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen("Home", self.BINDINGS, commands=False))

    def action_quit_app(self) -> None:
        self.app.exit()

    def on_button_pressed(self, message: Button.Pressed) -> None:
        if message.button.id == "start":
            self._start_from_form()

    def _form_config(self) -> SessionConfig:
        task = self.query_one("#task", Select)
        if task.is_blank():
            raise UserError("choose a task first")
        model = self.query_one("#model", Input).value.strip() or "reference"
        given = self.query_one("#parallel", Input).value.strip() or "1"
        if not given.isdigit() or int(given) < 1:
            raise UserError(f"parallel must be a whole number of at least 1, got {given!r}")
        parallel = int(given)
        return SessionConfig(task_id=str(task.value), model=model,
                             scaffold=str(self.query_one("#scaffold", Select).value),
                             hints=str(self.query_one("#hints", Select).value),
                             mode=str(self.query_one("#mode", Select).value), parallel=parallel)

    def _start_from_form(self) -> None:
        try:
            config = self._form_config()
        except UserError as err:
            self.notify(str(err), severity="error")
            return
        self._check_and_open(config)

    @work(thread=True, exclusive=True, exit_on_error=False, group="start")
    def _check_and_open(self, config: SessionConfig) -> None:
        from records.catalog import get_task, why_not_ready
        from tui.screens.session import check_model_key

        try:
            task = get_task(config.task_id)
            if reason := why_not_ready(task):
                raise UserError(f"task {task.id} is not ready: {reason}")
            check_model_key(config)
        except UserError as err:
            self.app.call_from_thread(self.notify, str(err), severity="error", timeout=10)
            return
        try:
            config.check_cores(task.threads)
        except UserError as err:  # more threads than cores: `run --parallel` refuses, the form asks
            self.app.call_from_thread(self._ask_oversubscribe, config, str(err))
            return
        self.app.call_from_thread(self._open_session, config)

    def _ask_oversubscribe(self, config: SessionConfig, why: str) -> None:
        question = why.split("; lower ")[0] + ".\n\nStart anyway? Its runs are then marked busy (times suspect)."
        self.app.push_screen(ConfirmModal("Too many runs for this machine", question, yes="Start anyway",
                                          no="Back to the form"),
                             lambda yes: self._open_session(replace(config, oversubscribe=True)) if yes else None)

    def _open_session(self, config: SessionConfig, resume: str | None = None) -> None:
        from tui.screens.session import SessionScreen

        self.app.push_screen(SessionScreen(config, self.db_path, resume=resume), lambda _: self.action_reload())


def _secs(value: float | None) -> str:
    return "-" if not value else f"{value:.1f}s"


def when_label(ts: float) -> str:
    """The time of day for today's sessions, else the date: five columns, as `ls -l` keeps it short."""
    moment = time.localtime(ts)
    today = time.localtime()[:3] == moment[:3]
    return time.strftime("%H:%M" if today else "%m-%d", moment)


def _row_numbers(info) -> tuple:
    """What a session's row shows that changes as it runs, its clock aside (no redraw every tick)."""
    return info.id, info.status, info.ended, info.nodes, info.best_time_s, info.fsr


def _status(info, runs: list[RunView] | None = None) -> Text:
    """The session's status; a running one's runs in flight after it."""
    styles = {"running": "green", "unfinished": "yellow"}
    label = info.status if info.ended in ("", info.status) else f"{info.status} ({info.ended})"
    label = " · ".join([label, *(run.short() for run in runs or [])])
    return Text(label, style=styles.get(info.status, ""))
