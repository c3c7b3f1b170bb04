"""Headless sessions: progress lines on stderr (Rich), decisions typed on stdin, a score at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from agent.controller import Controller
from agent.decisions import Decision, fork_decision
from speedrun_tui.codediff import diff_stats
from agent.liveprogress import LiveProgress
from agent.models import model_label
from runner.machineload import busy_note
from sessions.events import ApprovalRequested, Event
from sessions.progress import ProgressTracker
from sessions.report import verified_text
from sessions.scoring import Score, score_session
from sessions.state import SessionState
from speedrun_tui.errors import UserError

COPILOT_KEYS = ("[a] approve  [A] approve all  [r REASON] reject  [s TEXT] steer  [e] edit  [k] skip  "
                "[f N TEXT] fork from node N  [? QUESTION] ask  [q] stop")
HUMAN_KEYS = "[Enter] run the saved train.py  [k] drop it  [f N] fork from node N  [? QUESTION] ask  [q] stop"
ANSWER_POLL_S = 0.05  # how often a piped answer looks for the approval it answers
# Where the score's next-record time comes from (sessions/fsr.py), as the summary names it.
TARGET_SOURCE_LABELS = {"timed": "timed here", "calibrated": "calibrated for this CPU",
                        "provisional": "provisional: another CPU's calibration"}


class ProgressPrinter:
    """A controller subscriber: one line per step that matters, on stderr, and below them the runs
    in flight as a live progress display (on a terminal)."""

    def __init__(self, state: SessionState, console: Console):
        self.state = state
        self.console = console
        self.tracker = ProgressTracker.from_state(state)
        self.live = LiveProgress(console)

    def __call__(self, event: Event) -> None:
        self.tracker.apply(event)
        handler = getattr(self, f"_{event.kind}", None)
        if handler is not None:
            handler(event)
        self.live.follow(event, self.tracker.runs, asking=self.state.pending_approval is not None)

    def close(self) -> None:
        self.live.close()

    def _say(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def _session_started(self, event) -> None:
        self._say(f"[bold]{event.task}[/] · {model_label(event.model)} · {event.scaffold} · hints {event.hints}"
                  f" · {event.mode}")

    def _node_created(self, event) -> None:
        origin = "start code, timed on this machine" if event.parent is None else f"{event.stage} of node {event.parent}"
        self._say(f"[bold cyan]node {event.node}[/] · {origin}")

    def _plan(self, event) -> None:
        self._say(f"  plan: {event.text.strip().splitlines()[0][:160]}")

    def _edit_failed(self, event) -> None:
        kind = "rule broken" if event.rule_violation else "edit failed"
        self._say(f"  [yellow]{kind}[/] (attempt {event.attempt}): {_first_line(event.reason)}")

    def _edit_applied(self, event) -> None:
        added, removed = diff_stats(event.diff)
        self._say(f"  edit applied: [green]+{added}[/] [red]-{removed}[/] lines")

    def _run_started(self, event) -> None:
        self._say(f"  running in {event.workdir}")

    def _llm_response(self, event) -> None:
        if event.error:
            self._say(f"  [red]model error[/]: {event.error}")
        elif self.state.call_purposes.get(event.call_id) == "ask":
            self._say(f"[bold]answer[/]: {event.text.strip()}")

    def _node_scored(self, event) -> None:
        node = self.state.nodes.get(event.node)
        if event.status == "valid":
            line = f"  [green]valid[/]: {event.time_s:.2f} s to target"
        else:
            line = f"  [red]{event.status}[/]" + (f": {event.reason}" if event.reason else "")
        best = self.state.best_time_s
        fsr = score_session(self.state).fsr
        progress = f"best {best:.2f} s" if best is not None else "no valid node yet"
        if fsr is not None and node is not None and node.parent is not None:
            progress += f", FSR {fsr:.3f}"
        busy = busy_note(node.result.load) if node is not None and node.result is not None else ""
        self._say(f"{line} · {progress}" + (f"[yellow]{escape(busy)}[/]" if busy else ""))

    def _target_timed(self, event) -> None:
        if event.time_s is not None:
            self._say(f"  next record: [green]valid[/]: {event.time_s:.2f} s to target (timed here)")
        else:
            why = f": {event.reason}" if event.reason else ""
            self._say(f"  next record: [red]{event.status}[/]{why}; the score uses the calibrated ratio")

    def _retimed(self, event) -> None:
        shown = f"{event.time_s:.2f} s" if event.time_s is not None else f"[red]{event.status}[/]: {event.reason}"
        self._say(f"  verification round {event.round} · {event.role} (seed {event.seed}): {shown}")

    def _verified(self, event) -> None:
        text = verified_text(event.fsr, event.low, event.high, event.rounds, event.improved)
        self._say(f"[bold]verified {text}[/]")

    def _approval_requested(self, event) -> None:
        self.console.print(Syntax(event.diff or "(no change)", "diff", theme="ansi_dark", word_wrap=True))
        keys = HUMAN_KEYS if self.state.nodes.get(event.node) and self.state.nodes[event.node].stage == "human" \
            else COPILOT_KEYS
        self._say(f"[bold]node {event.node} waits for you[/]: {keys}")

    def _note(self, event) -> None:
        style = {"error": "red", "warning": "yellow"}.get(event.level, "dim")
        self._say(f"[{style}]{event.text}[/]")

    def _session_finished(self, event) -> None:
        self._say(f"session {self.state.session_id} {event.status}" + (f": {event.reason}" if event.reason else ""))


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else "")[:200]


def score_table(score: Score) -> Table:
    table = Table(title=f"session {score.session} · {score.task}", show_header=False)
    fsr = "n/a" if score.fsr is None else f"{score.fsr:.3f}" + (" (provisional)" if score.provisional else "")
    if score.verified:
        fsr = verified_text(score.fsr, score.fsr_low, score.fsr_high, score.verify_rounds, score.best_improved)
    search = "n/a" if score.search_fsr is None else f"{score.search_fsr:.3f}"
    rows = [
        ("FSR (verified)" if score.verified else "FSR",
         fsr + (" (reference: the upper bound)" if score.model == "reference" else "")),
        *([("search FSR (one run of each)", search)] if score.verified else []),
        ("best time", _seconds(score.best_time_s)),
        (f"start time ({score.times_source})", _seconds(score.start_time_s)),
        (f"next record time ({TARGET_SOURCE_LABELS[score.target_source]})", _seconds(score.target_time_s)),
        ("nodes run", f"{score.nodes} ({score.buggy_nodes} buggy, {score.improved_nodes} improved)"),
        ("tokens", f"{score.tokens:,}"),
        ("cost", f"${score.cost_usd:.4f}"),
        ("wall time", _seconds(score.wall_s)),
        ("interventions", str(score.interventions)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def run_headless(controller: Controller, console: Console | None = None) -> Score:
    """Run the session in a worker thread; Ctrl-C stops it cleanly (resumable)."""
    console = console or Console(stderr=True)
    printer = ProgressPrinter(controller.state, console)
    if controller.state.started is not None:
        printer(controller.state.started)
    controller.subscribe(printer)
    if controller.mode != "auto":
        threading.Thread(target=read_decisions, args=(controller, console, sys.stdin),
                         kwargs={"interactive": sys.stdin.isatty()}, daemon=True).start()
    outcome: dict = {}
    # An Event, not Thread.join: a join interrupted by Ctrl-C can later report the thread gone while it runs.
    done = threading.Event()

    def work() -> None:
        try:
            outcome["score"] = controller.run()
        except BaseException as err:  # re-raised on the main thread
            outcome["error"] = err
        finally:
            done.set()

    threading.Thread(target=work, name="controller", daemon=True).start()
    try:
        with sigterm_interrupts():
            while not done.wait(0.5):
                pass
    except KeyboardInterrupt:
        console.print("stopping: the session can be resumed with --resume " + controller.session_id)
        controller.stop()
        done.wait()
    finally:
        printer.close()  # whatever ended the session, the terminal gets its cursor back
    if "error" in outcome:
        raise outcome["error"]
    score = outcome["score"]
    console.print(score_table(score))
    return score


@contextlib.contextmanager
def sigterm_interrupts():
    """SIGTERM (kill, a scheduler's stop) stops the session like Ctrl-C: the run is cancelled, the
    session stays resumable, nothing queued is lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def read_decisions(controller: Controller, console: Console, lines: Iterable[str], *, interactive: bool) -> None:
    """Answers to approvals, one line each (see COPILOT_KEYS / HUMAN_KEYS); `? QUESTION` is asked at once.

    Typed at a terminal, an answer goes to what waits now. From a pipe, each answer (`q` included)
    waits for the next approval it can answer, and the end of the input acts as `q`: the session
    stops, resumable, the next time it asks."""
    answered: int | None = None  # seq of the approval the last piped answer went to
    for raw in lines:
        key, _, text = raw.strip().partition(" ")
        if key == "?":
            controller.ask(text)
            continue
        if key == "f":  # a fork is about the next edit, not an answer to what waits
            try:
                controller.decide(fork_decision(text))
            except UserError as err:
                console.print(str(err))
            continue
        if not _is_answer(key, text):
            console.print(f"? {COPILOT_KEYS}")
            continue
        if not interactive:
            pending = _next_approval(controller, answered)
            if pending is None:
                return  # the session ended before anything asked for this answer
            answered = pending.seq
        if key == "q":
            controller.stop()
            return
        decision = _decision(controller, key, text)
        if decision is not None:
            controller.decide(decision)
    if not interactive and _next_approval(controller, answered) is not None:
        console.print("stdin ended: stopping; resume with `speedrun-tui run --resume "
                      f"{controller.session_id}`")
        controller.stop()


# Keys that answer an approval with a decision (`e` opens the editor first); `q` answers by stopping.
DECISION_KEYS = {"": "approve", "a": "approve", "A": "approve_all", "r": "reject", "s": "steer", "k": "skip",
                 "e": "edit"}


def _is_answer(key: str, text: str) -> bool:
    return key == "q" or key in DECISION_KEYS and (key != "s" or bool(text))


def _next_approval(controller: Controller, answered: int | None) -> ApprovalRequested | None:
    """The first approval asked after the one numbered `answered`; None once the session has ended."""
    while controller.state.finished is None:
        pending = controller.state.pending_approval
        if pending is not None and pending.seq != answered:
            return pending
        time.sleep(ANSWER_POLL_S)
    return None


def _decision(controller: Controller, key: str, text: str) -> Decision | None:
    if key == "e":
        edited = _edit_pending(controller)
        return None if edited is None else Decision("edit", code=edited)
    kind = DECISION_KEYS[key]
    return Decision(kind, text if kind in ("reject", "steer") else "")


def _edit_pending(controller: Controller) -> str | None:
    """Open the pending proposal in $EDITOR; the saved text is the hand edit."""
    pending = controller.state.pending_approval
    if pending is None:
        return None
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.py"
        path.write_text(controller.store.get_blob(pending.code_sha))
        subprocess.run([*editor.split(), str(path)], check=False)
        return path.read_text()
