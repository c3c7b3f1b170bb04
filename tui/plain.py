"""Plain mode: a session (or a replay) as lines of text, for SSH, screen readers and logs.

`run --plain` drives the same controller as the TUI through the same SessionControl,
with a prompt-toolkit command line (history, completion of the / commands). When
stdin is not a terminal, commands are read line by line from it instead, so a
script (or a test) can drive a session.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from rich.console import Console

from agent.liveprogress import LiveProgress
from sessions import events as ev
from sessions.progress import ProgressTracker
from sessions.state import SessionState
from speedrun_tui.errors import UserError
from tui.control import DECISION_COMMANDS, NOTHING_PENDING, SessionControl
from tui.describe import describe
from tui.slash import COMMANDS, help_lines, parse_command

PROMPT = "speedrun> "


def event_lines(event: ev.Event) -> list[str]:
    """What plain mode prints for one event: its summary, log lines, a diff to approve."""
    if isinstance(event, ev.LogLines):
        tag = "target" if event.node is None else event.node  # no node: the next record's timing
        return [f"[{tag}] {line}" for line in event.lines]
    if isinstance(event, ev.Metric):
        return []
    summary = describe(event)
    lines = [summary] if summary else []
    if isinstance(event, ev.LLMResponse) and event.text and not event.error:
        return lines  # the text itself is a plan (printed as such) or an answer (see below)
    if isinstance(event, ev.ApprovalRequested):
        lines += event.diff.rstrip("\n").splitlines()
        lines.append("answer with /approve, /reject [why], /steer TEXT (or plain text), /edit; /help lists all")
    return lines


def command_completer():
    """Completes the / commands at the start of the line."""
    from prompt_toolkit.completion import WordCompleter

    return WordCompleter(list(COMMANDS), sentence=True)


class Printer:
    """A controller subscriber writing lines to `out`; answers to /ask are printed in full."""

    def __init__(self, out: TextIO | None = None):
        self._out = out
        self._asks: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.LLMRequest) and event.purpose == "ask":
            self._asks.add(event.call_id)
        lines = event_lines(event)
        if isinstance(event, ev.LLMResponse) and event.call_id in self._asks and event.text:
            lines.append("answer: " + event.text.strip())
        if lines:
            with self._lock:
                out = self._out or sys.stdout  # at write time: the prompt patches sys.stdout
                out.write("\n".join(lines) + "\n")
                out.flush()


class RunsProgress:
    """A controller subscriber keeping the runs in flight (sessions.progress) for plain mode: the
    prompt's bottom toolbar shows them, since a live display would fight the prompt for the screen;
    a session read from a script (no prompt) gets Rich's live display below its lines instead."""

    def __init__(self, state: SessionState, live: LiveProgress | None = None):
        self.state = state
        self.tracker = ProgressTracker()
        self.live = live

    def __call__(self, event: ev.Event) -> None:
        self.tracker.apply(event)
        if self.live is not None:
            self.live.follow(event, self.tracker.runs, asking=self.state.pending_approval is not None)

    def toolbar(self) -> str:
        """One line per run in flight, the same fields as headless prints."""
        return "\n".join(view.line() for view in self.tracker.views(time.time()))

    def close(self) -> None:
        if self.live is not None:
            self.live.close()


def run_session(config, db_path: Path, *, session_id: str | None = None) -> int:
    """`speedrun-tui run ... --plain`."""
    from agent.controller import Controller
    from sessions.store import Store
    from tui.screens.session import check_model_key

    check_model_key(config)
    with Store(db_path) as store:
        controller = Controller(config, store, session_id=session_id)
        return PlainSession(controller, store, interactive=sys.stdin.isatty()).run()


class PlainSession:
    def __init__(self, controller, store, *, interactive: bool, out: TextIO | None = None,
                 commands: TextIO = sys.stdin, console: Console | None = None):
        """`console`: where a script-driven session's live progress goes (a terminal only; stdout by default)."""
        self.controller = controller
        self.commands = commands
        self.store = store
        self.control = SessionControl(controller, controller.mode)
        self.interactive = interactive
        self._out = out
        self.printer = Printer(out)
        live = None if interactive else LiveProgress(console or Console())
        self.progress = RunsProgress(controller.state, live)
        self.outcome: dict = {}
        self._prompt = None

    def run(self) -> int:
        for event in self.store.read_events(self.controller.session_id):
            self.printer(event)
            self.progress.tracker.apply(event)  # the history only: none of its runs is still going
        self.controller.subscribe(self.printer)
        self.controller.subscribe(self._follow_runs)
        worker = threading.Thread(target=self._work, name="controller", daemon=True)
        worker.start()
        try:
            self._read_commands(worker)
        except KeyboardInterrupt:
            self._say("stopping…")
            self.control.stop()
        worker.join()
        self.progress.close()
        if "error" in self.outcome:
            raise self.outcome["error"]
        finished = self.controller.state.finished
        if finished is None or finished.status != "finished":
            self._say(f"session {self.controller.session_id} can be resumed with "
                      f"`speedrun-tui run --resume {self.controller.session_id} --plain`")
        return 0 if finished is not None and finished.status == "finished" else 1

    def _work(self) -> None:
        try:
            self.outcome["score"] = self.controller.run()
        except BaseException as err:  # re-raised on the main thread
            self.outcome["error"] = err
        finally:
            self._end_prompt()

    def _say(self, line: str) -> None:
        out = self._out or sys.stdout
        out.write(line + "\n")
        out.flush()

    # -- input ---------------------------------------------------------------------

    def _read_commands(self, worker: threading.Thread) -> None:
        if self.interactive:
            self._prompt_loop(worker)
        else:
            self._script_loop(worker)

    def _script_loop(self, worker: threading.Thread) -> None:
        """Lines from a pipe, in order; an answer waits for the next approval it can answer."""
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.commands], daemon=True).start()
        answered: int | None = None
        while worker.is_alive():
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if _is_answer(line):
                pending = self._next_pending(worker, answered)
                if pending is None:
                    return
                answered = pending.seq
            if not self.handle(line):
                return

    def _next_pending(self, worker: threading.Thread, answered: int | None):
        while worker.is_alive():
            pending = self.controller.state.pending_approval
            if pending is not None and pending.seq != answered:
                return pending
            worker.join(0.05)
        return None

    def _prompt_loop(self, worker: threading.Thread) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.patch_stdout import patch_stdout

        from speedrun_tui.home import home_dir

        # Redrawn every second, so the toolbar's clock moves while a run trains.
        self._prompt = PromptSession(history=FileHistory(str(home_dir() / "plain_history")),
                                     completer=command_completer(), complete_while_typing=True,
                                     refresh_interval=1.0)
        self._toggle_toolbar()
        with patch_stdout(raw=True):
            while worker.is_alive():
                try:
                    line = self._prompt.prompt(PROMPT)
                except EOFError:
                    line = "/quit"
                if line is None or not self.handle(line):
                    return

    def _follow_runs(self, event: ev.Event) -> None:
        self.progress(event)
        self._toggle_toolbar()

    def _toggle_toolbar(self) -> None:
        """The bottom toolbar only while a run is in flight (prompt_toolkit shows any toolbar that is set)."""
        if self._prompt is not None:
            self._prompt.bottom_toolbar = self.progress.toolbar if self.progress.tracker.runs else None

    def _end_prompt(self) -> None:
        app = self._prompt.app if self._prompt is not None else None
        if app is not None and app.is_running:
            app.loop.call_soon_threadsafe(lambda: app.exit(result=None))

    def handle(self, line: str) -> bool:
        """Carry out one typed line; False once the person quits."""
        try:
            command = parse_command(line)
        except UserError as err:
            self._say(str(err))
            return True
        if command is None:
            return True
        if command.name == "quit":
            self._say("stopping…")
            self.control.stop()
            return False
        if command.name == "help":
            self._say("\n".join(help_lines()))
        elif command.name == "edit":
            self._edit()
        else:
            self._say(self.control.run(command, pending=self.controller.state.pending_approval is not None))
        return True

    def _edit(self) -> None:
        from agent.decisions import Decision
        from tui.editor import edit_code, edit_outcome, run_editor

        pending = self.controller.state.pending_approval
        if pending is None:
            workspace = getattr(self.controller, "workspace_path", None)
            if workspace is None:
                self._say(NOTHING_PENDING)
            else:
                run_editor(workspace)
            return
        code = self.store.get_blob(pending.code_sha)
        status, edited = edit_code(code)
        problem = edit_outcome(status, code, edited)
        if problem:
            self._say(problem)
        else:
            self.control.decide(Decision("edit", code=edited))
            self._say("edit sent")


def _is_answer(line: str) -> bool:
    try:
        command = parse_command(line)
    except UserError:
        return False
    return command is not None and command.name in DECISION_COMMANDS | {"edit"}


def run_replay(db_path: Path, session: str, *, follow: bool = True, out: TextIO | None = None) -> int:
    """`speedrun-tui replay SESSION --plain`: every event as lines; a live session is followed to its end."""
    from sessions.replay import Replay

    printer = Printer(out)
    stop = threading.Event()
    with Replay(db_path, session) as replay:
        try:
            events = replay.follow(0, stop=stop) if follow else replay.events()
            for event in events:
                printer(event)
        except KeyboardInterrupt:
            stop.set()
    return 0
