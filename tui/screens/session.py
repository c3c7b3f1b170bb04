"""SessionScreen: a live session, co-pilot or autonomous.

The controller runs in a thread worker and publishes each stored event into an
EventFeed; this screen drains the feed once per wake-up, applies the batch to its
SessionState (in seq order) and repaints what the batch touched. Keys and typed
commands go to the controller through SessionControl; nothing here blocks on SQLite
or a subprocess except $EDITOR, which has the terminal to itself.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from agent.config import SessionConfig
from agent.decisions import Decision
from sessions.scoring import score_session
from sessions.state import SessionState
from speedrun_tui.errors import UserError
from tui.control import DECISION_COMMANDS, UI_COMMANDS, SessionControl
from tui.feed import EventFeed, EventsReady, InOrder
from tui.screens.approval import ApprovalModal, Choice
from tui.screens.help import HelpScreen
from tui.slash import parse_command
from tui.widgets.command_input import CommandInput
from tui.widgets.statusbar import StatusBar, status_of
from tui.widgets.workspace import Workspace


class SessionScreen(Screen):
    BINDINGS = [
        Binding("a", "decide('approve')", "Approve"),
        Binding("A", "decide('approve_all')", "Approve all"),
        Binding("r", "decide('reject')", "Reject"),
        Binding("s", "steer", "Steer"),
        Binding("e", "edit", "Edit"),
        Binding("n,space", "step", "Step", key_display="n"),
        Binding("p", "pause", "Pause"),
        Binding("m", "mode", "Auto/co-pilot"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("f", "follow", "Follow newest node", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit_session", "Quit"),
    ]

    def __init__(self, config: SessionConfig, db_path: Path, *, resume: str | None = None):
        super().__init__()
        self.config = config
        self.db_path = Path(db_path)
        self.resume = resume
        self.state = SessionState(session_id=resume or "")
        self.control: SessionControl | None = None
        self._feed = EventFeed(self)
        self._order = InOrder(self.state)
        self._driver: Worker | None = None
        self._modal: ApprovalModal | None = None
        self._deferred: set[int | None] = set()  # approvals the user chose to answer later
        self._quitting = False
        self.result = None  # the controller's Score once the session ends

    def compose(self) -> ComposeResult:
        yield Workspace(CommandInput(id="command"))
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._driver = self.run_worker(self._drive, thread=True, name="controller", exit_on_error=False)
        self.set_interval(1.0, self._show_status)
        self._show_status()

    # -- the controller's thread ---------------------------------------------------

    def _drive(self):
        from agent.controller import Controller
        from sessions.store import Store

        store = Store(self.db_path)
        try:
            controller = Controller(self.config, store, session_id=self.resume)
            controller.subscribe(self._feed.push)
            # What is already stored (SessionStarted, a resumed session's past) comes first.
            store.flush()
            for event in store.read_events(controller.session_id):
                self._feed.push(event)
            self.app.call_from_thread(self._attach, controller)
            return controller.run()
        finally:
            store.close()

    def _attach(self, controller) -> None:
        self.control = SessionControl(controller, self.config.mode)
        self.state.session_id = controller.session_id
        if self._quitting:
            controller.stop()

    # -- events in -------------------------------------------------------------------

    def on_events_ready(self, message: EventsReady) -> None:
        applied = self._order.take(self._feed.drain())
        if not applied:
            return
        self.query_one(Workspace).show(self.state, applied)
        self._show_status()
        self._sync_approval()

    def _show_status(self) -> None:
        score = score_session(self.state) if self.state.started else None
        status = status_of(self.state, mode=self.control.mode if self.control else None,
                           fsr=score.fsr if score else None, now=time.time(), activity=self._activity())
        self.query_one(StatusBar).show(status)

    def _activity(self) -> str:
        state = self.state
        if state.finished is not None:
            return f"session {state.finished.status}"
        if self._quitting:
            return "stopping…"
        if state.pending_approval is not None:
            return "waiting for you"
        if self.control is None:
            return "starting…"
        if self.control.paused:
            return "paused"
        running = [str(node.id) for node in state.nodes.values() if node.status == "running"]
        return f"training node {', '.join(running)}" if running else "agent working"

    def _sync_approval(self) -> None:
        pending = self.state.pending_approval
        if pending is None:
            if self._modal is not None:
                self._modal.dismiss(None)
            return
        if self._modal is not None or pending.seq in self._deferred:
            return
        if self.control is not None and self.control.mode == "auto":
            return  # the auto-approve policy answers it
        node = self.state.node(pending.node)
        self._modal = ApprovalModal(pending, node.plan if node else "")
        self.app.push_screen(self._modal, self._answered)

    def _answered(self, choice: Choice) -> None:
        request = self._modal.request if self._modal else None
        self._modal = None
        if choice is None:
            if request is not None:
                self._deferred.add(request.seq)
        elif choice == "edit":
            self.action_edit()
        else:
            self._decide(choice)

    # -- keys ------------------------------------------------------------------------

    def _decide(self, decision: Decision) -> None:
        if self.control is None or self.state.pending_approval is None:
            self.notify("No edit is waiting for approval.", severity="warning")
            return
        self.control.decide(decision)
        self._show_status()

    def action_decide(self, kind: str) -> None:
        self._decide(Decision(kind))

    def action_steer(self) -> None:
        self.query_one(CommandInput).focus()

    def action_step(self) -> None:
        if self.control is not None:
            self.control.step()
            self.notify("One more node, then pause.")

    def action_pause(self) -> None:
        if self.control is not None:
            self.notify("Paused." if self.control.toggle_pause() else "Resumed.")
            self._show_status()

    def action_mode(self) -> None:
        if self.control is not None:
            self.notify(f"Mode: {self.control.toggle_mode()}.")
            self._show_status()
            self._sync_approval()

    def action_cancel_run(self) -> None:
        if self.control is not None:
            self.control.cancel_run()
            self.notify("Cancelling the training in flight.")

    def action_follow(self) -> None:
        self.query_one(Workspace).pin(None)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen("Session", self.BINDINGS, commands=True))

    def action_quit_session(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        if self.control is not None:
            self.control.stop()
        self._show_status()
        if self._driver is None or self._driver.is_finished:
            self.app.exit(self.state.session_id)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._driver or not event.worker.is_finished:
            return
        if event.state == WorkerState.SUCCESS:
            self.result = event.worker.result
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            message = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
            self.notify(message, title="The session stopped", severity="error", timeout=30)
        if self._quitting:
            self.app.exit(self.state.session_id)

    # -- the input line ----------------------------------------------------------------

    def on_input_submitted(self, message: CommandInput.Submitted) -> None:
        if not isinstance(message.input, CommandInput):
            return
        message.input.value = ""
        try:
            command = parse_command(message.value)
        except UserError as err:
            self.notify(str(err), severity="error")
            return
        if command is None:
            return
        if command.name in UI_COMMANDS:
            {"edit": self.action_edit, "help": self.action_help, "quit": self.action_quit_session}[command.name]()
        elif self.control is None:
            self.notify("The session is still starting.", severity="warning")
        elif command.name in DECISION_COMMANDS - {"steer"} and self.state.pending_approval is None:
            self.notify("No edit is waiting for approval.", severity="warning")
        else:
            self.notify(self.control.run(command))

    # -- $EDITOR ---------------------------------------------------------------------

    def action_edit(self) -> None:
        pending = self.state.pending_approval
        if pending is None or self.control is None:
            self.notify("No edit is waiting for approval.", severity="warning")
            return
        self._load_code(pending.code_sha)

    @work(thread=True, exit_on_error=False)
    def _load_code(self, sha: str) -> None:
        from sessions.store import Store

        with Store(self.db_path, readonly=True) as store:
            code = store.get_blob(sha)
        self.app.call_from_thread(self._edit_in_editor, code)

    def _edit_in_editor(self, code: str) -> None:
        with tempfile.TemporaryDirectory(prefix="speedrun-edit-") as folder:
            path = Path(folder) / "train.py"
            path.write_text(code)
            try:
                with self.app.suspend():
                    returncode = _run_editor(path)
            except SuspendNotSupported:  # headless (tests): the editor is a script
                returncode = _run_editor(path)
            edited = path.read_text()
        if returncode != 0:
            self.notify(f"The editor exited with status {returncode}; nothing sent.", severity="error")
        elif edited == code:
            self.notify("No change made; the edit is still waiting.", severity="warning")
        else:
            self._decide(Decision("edit", code=edited))


def _run_editor(path: Path) -> int:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        return subprocess.run([*shlex.split(editor), str(path)]).returncode
    except FileNotFoundError:
        return 127
