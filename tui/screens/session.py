"""SessionScreen: a live session, co-pilot or autonomous.

The controller runs in a thread worker and publishes each stored event into an
EventFeed; this screen drains the feed once per wake-up, applies the batch to its
SessionState (in seq order) and repaints what the batch touched. Keys and typed
commands go to the controller through SessionControl; nothing here blocks on SQLite
or a subprocess except $EDITOR, which has the terminal to itself.
"""

from __future__ import annotations

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
from tui.control import NOTHING_PENDING, UI_COMMANDS, SessionControl
from tui.editor import edit_code, edit_outcome, run_editor
from tui.feed import EventFeed, EventsReady, InOrder
from tui.screens.approval import ApprovalModal, Choice
from tui.screens.failures import notify_failure
from tui.screens.help import HelpScreen
from tui.slash import parse_command
from tui.widgets.command_input import CommandInput
from tui.widgets.statusbar import Status, StatusBar, status_of
from tui.widgets.tree import SearchTree
from tui.widgets.workspace import Workspace


class SessionScreen(Screen):
    BINDINGS = [
        Binding("a", "decide('approve')", "Approve"),
        Binding("A", "decide('approve_all')", "Approve all"),
        Binding("r", "decide('reject')", "Reject"),
        Binding("s", "steer", "Steer"),
        Binding("b", "fork", "Fork from node"),
        Binding("e", "edit", "Edit"),
        Binding("n,space", "step", "Step", key_display="n"),
        Binding("p", "pause", "Pause"),
        Binding("m", "mode", "Auto/co-pilot"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("f", "follow", "Follow newest node", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit_session", "Quit"),
    ]

    def __init__(self, config: SessionConfig, db_path: Path, *, resume: str | None = None, controller=None,
                 task=None, run_env: dict[str, str] | None = None):
        """Runs `controller` if given (opened by the caller, which reports bad input before any
        screen), else opens one in the worker. `task`/`run_env`: a task of your own instead of
        the catalog's (the Controller's own options)."""
        super().__init__()
        self.config = config
        self.db_path = Path(db_path)
        self.resume = resume
        self._given_controller = controller
        self._task_override, self._run_env_override = task, run_env
        self.state = SessionState(session_id=resume or "")
        self.control: SessionControl | None = None
        self._feed = EventFeed(self)
        self._order = InOrder(self.state)
        self._controller_worker: Worker | None = None
        self._approval_modal: ApprovalModal | None = None
        self._handled: set[int | None] = set()  # approvals answered, or put off with escape
        self._quitting = False
        self.result = None  # the controller's Score once the session ends

    def compose(self) -> ComposeResult:
        yield Workspace(CommandInput(id="command"))
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._controller_worker = self.run_worker(self._drive, thread=True, name="controller", exit_on_error=False)
        self.set_interval(1.0, self._show_status)
        self._show_status()

    # -- the controller's thread ---------------------------------------------------

    def _drive(self):
        if self._given_controller is not None:
            return self._run(self._given_controller)
        from agent.controller import Controller
        from sessions.store import Store

        store = Store(self.db_path)
        try:
            return self._run(Controller(self.config, store, session_id=self.resume, task=self._task_override,
                                        run_env=self._run_env_override))
        finally:
            store.close()

    def _run(self, controller):
        """Subscribe, replay what is stored so far, then run the session (a missing API key ends it here)."""
        controller.subscribe(self._feed.push)
        # What is already stored (SessionStarted, a resumed session's past) comes first.
        controller.store.flush()
        for event in controller.store.read_events(controller.session_id):
            self._feed.push(event)
        self.app.call_from_thread(self._controller_ready, controller)
        return controller.run()

    def _controller_ready(self, controller) -> None:
        self.control = SessionControl(controller, controller.mode)  # a resumed session's own mode
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

    def current_status(self) -> Status:
        score = score_session(self.state) if self.state.started else None
        return status_of(self.state, mode=self.control.mode if self.control else None,
                         fsr=score.fsr if score else None, now=time.time(), activity=self._activity(),
                         provisional=score is not None and score.provisional)

    def _show_status(self) -> None:
        self.query_one(StatusBar).show(self.current_status())

    def _activity(self) -> str:
        state = self.state
        worker = self._controller_worker
        # A resumed session's past holds the SessionFinished of its earlier stop: only the end counts.
        if state.finished is not None and worker is not None and worker.is_finished:
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
            if self._approval_modal is not None:
                self._approval_modal.dismiss(None)
            return
        if self._approval_modal is not None or pending.seq in self._handled:
            return
        if self.control is not None and self.control.mode == "auto":
            return  # the auto-approve policy answers it
        node = self.state.node(pending.node)
        self._approval_modal = ApprovalModal(pending, node.plan if node else "",
                                             yours=node is not None and node.stage == "human")
        self.app.push_screen(self._approval_modal, self._answered)

    def _answered(self, choice: Choice) -> None:
        if self._approval_modal is not None:
            # Not asked again, even in the frames before the controller's answer arrives.
            self._handled.add(self._approval_modal.request.seq)
        self._approval_modal = None
        if choice is None:
            return
        if choice == "edit":
            self.action_edit()
        else:
            self._decide(choice)

    # -- keys ------------------------------------------------------------------------

    def _decide(self, decision: Decision) -> None:
        if self.control is None or self.state.pending_approval is None:
            self.notify(NOTHING_PENDING, severity="warning")
            return
        self.control.decide(decision)
        self._show_status()

    def action_decide(self, kind: str) -> None:
        self._decide(Decision(kind))

    def action_steer(self) -> None:
        self.query_one(CommandInput).focus()

    def action_fork(self) -> None:
        """Start `/fork N ` in the input line for the node under the tree's cursor; the person adds a steer."""
        item = self.query_one(SearchTree).cursor_node
        if item is None or item.data is None:
            self.notify("Move the tree's cursor to the node to fork from.", severity="warning")
            return
        command = self.query_one(CommandInput)
        command.value = f"/fork {item.data} "
        command.focus()
        # after the focus, which selects the whole line: the steer is typed after the command, not over it
        self.call_after_refresh(lambda: setattr(command, "cursor_position", len(command.value)))

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
        if self._controller_worker is None or self._controller_worker.is_finished:
            self._leave()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._controller_worker or not event.worker.is_finished:
            return
        if event.state == WorkerState.SUCCESS:
            self.result = event.worker.result
        else:
            notify_failure(self, event, title="The session stopped")
        if self._quitting:
            self._leave()

    def on_unmount(self) -> None:
        # However the app ends (ctrl+c included), the controller stops and the session stays resumable.
        if self.control is not None:
            self.control.stop()
        else:
            self._quitting = True

    def _leave(self) -> None:
        """Back to the home screen when opened from there, else out of the app."""
        if self.app.screen_stack[0] is self:
            self.app.exit(self.state.session_id)
            return
        while self.app.screen is not self:  # an approval or help modal is still open
            self.app.pop_screen()
        self.dismiss(self.state.session_id)

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
        else:
            self.notify(self.control.run(command, pending=self.state.pending_approval is not None))

    # -- $EDITOR ---------------------------------------------------------------------

    def action_edit(self) -> None:
        if self.control is None:
            self.notify("The session is still starting.", severity="warning")
            return
        pending = self.state.pending_approval
        if pending is not None:
            self._load_code(pending.code_sha)
            return
        workspace = getattr(self.control.controller, "workspace_path", None)
        if workspace is not None:  # human mode: each save of train.py proposes a node
            self._suspended_editor(workspace)
            return
        self.notify(NOTHING_PENDING, severity="warning")

    @work(thread=True, exit_on_error=False)
    def _load_code(self, sha: str) -> None:
        from sessions.store import Store

        with Store(self.db_path, readonly=True) as store:
            code = store.get_blob(sha)
        self.app.call_from_thread(self._edit_pending, code)

    def _edit_pending(self, code: str) -> None:
        status, edited = edit_code(code, run=self._suspended_editor)
        problem = edit_outcome(status, code, edited)
        if problem:
            self.notify(problem.capitalize() + ".", severity="error" if status else "warning")
        else:
            self._decide(Decision("edit", code=edited))

    def _suspended_editor(self, path: Path) -> int:
        """The editor gets the terminal; headless (tests) it runs as is, being a script there."""
        try:
            with self.app.suspend():
                return run_editor(path)
        except SuspendNotSupported:
            return run_editor(path)


def check_model_key(config: SessionConfig) -> None:
    """UserError naming the missing API key variable, before a session is recorded (imports litellm)."""
    from agent.llm import missing_key_message
    from agent.models import is_builtin

    if config.mode != "human" and not is_builtin(config.model):
        message = missing_key_message(config.model, config.api_base)
        if message:
            raise UserError(message)
