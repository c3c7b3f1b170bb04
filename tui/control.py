"""SessionControl: what a person can do to a running session, one method per key or command.

The TUI's keys and the plain REPL's commands both land here, so they cannot drift
apart. Every method only forwards to the controller (which is thread-safe); the
session's rules live there.
"""

from __future__ import annotations

from typing import Protocol

from agent.decisions import Decision, fork_decision
from speedrun_tui.errors import UserError
from tui.slash import Command

# Commands each UI handles itself (they need an editor, a screen, or the UI's exit).
UI_COMMANDS = {"edit", "help", "quit"}
DECISION_COMMANDS = {"approve", "reject", "steer"}
NOTHING_PENDING = "No edit is waiting for approval (approve, reject and edit answer a proposed edit)."


class ControllerLike(Protocol):
    """The part of agent.controller.Controller a UI drives."""

    session_id: str
    paused: bool
    mode: str

    def decide(self, decision: Decision) -> None: ...
    def ask(self, question: str) -> None: ...
    def fork(self, node: int, steer: str = "") -> None: ...
    def step(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def set_mode(self, mode: str) -> None: ...
    def cancel_run(self) -> None: ...
    def stop(self) -> None: ...


class SessionControl:
    def __init__(self, controller: ControllerLike, mode: str):
        self.controller = controller
        self.mode = mode

    def decide(self, decision: Decision) -> None:
        if decision.kind == "approve_all":
            self.mode = "auto"
        self.controller.decide(decision)

    def ask(self, question: str) -> None:
        self.controller.ask(question)

    @property
    def paused(self) -> bool:
        return self.controller.paused

    def step(self) -> None:
        self.controller.step()  # one more node goes through, then the controller holds again

    def toggle_pause(self) -> bool:
        """Pause or resume; returns whether the session is now paused."""
        (self.controller.resume if self.paused else self.controller.pause)()
        return self.paused

    def set_mode(self, mode: str) -> None:
        self.controller.set_mode(mode)
        self.mode = self.controller.mode  # the controller may refuse: a human session has no model for auto

    def toggle_mode(self) -> str:
        self.set_mode("copilot" if self.mode == "auto" else "auto")
        return self.mode

    def cancel_run(self) -> None:
        self.controller.cancel_run()

    def fork(self, arg: str) -> str:
        """`/fork N [steer]`: what the person is told."""
        try:
            decision = fork_decision(arg)
            self.decide(decision)
        except UserError as err:
            return str(err)
        return f"the next edit starts from node {decision.node}" + (f": {decision.text}" if decision.text else "")

    def stop(self) -> None:
        self.controller.stop()

    def run(self, command: Command, *, pending: bool) -> str:
        """Carry out a controller command; returns a line saying what was done.

        `pending`: whether an approval waits. The controller drops approvals and rejections
        given while nothing is asked, so they are refused here, where the person can be told;
        a steer then goes into the next edit's prompt.
        """
        name, arg = command.name, command.arg
        if name == "steer" and not pending:
            if not arg:
                return "usage: /steer TEXT"
            self.decide(Decision(name, arg))
            return f"noted for the next edit: {arg}"
        if name in DECISION_COMMANDS:
            if not pending:
                return NOTHING_PENDING
            self.decide(Decision(name, arg))
            return f"{name} sent" + (f": {arg}" if arg else "")
        if name == "fork":
            return self.fork(arg)
        if name == "ask":
            if not arg:
                return "usage: /ask QUESTION"
            self.ask(arg)
            return "question sent; the answer comes without an edit"
        if name == "step":
            self.step()
            return "one more node, then pause"
        if name == "pause":
            return "paused" if self.toggle_pause() else "resumed"
        if name in ("auto", "copilot"):
            self.set_mode(name)
            return f"mode {self.mode}"
        if name == "cancel":
            self.cancel_run()
            return "cancelling the training in flight"
        raise ValueError(f"{name} is handled by the UI")
