"""ApprovalModal: the pending edit's plan and size, answered with one key.

It sits at the bottom of the screen so the diff and the live log above stay in view
(and keep streaming). It returns a Decision, "edit" (the screen opens $EDITOR),
or None (decide later: the edit stays pending).
"""

from __future__ import annotations

from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from agent.decisions import Decision
from speedrun_tui.codediff import diff_stats
from sessions.events import ApprovalRequested

Choice = Decision | Literal["edit"] | None


class ApprovalModal(ModalScreen[Choice]):
    AUTO_FOCUS = ""  # keys go to the modal's bindings until `s` opens the steer line
    BINDINGS = [
        Binding("a", "choose('approve')", "Approve"),
        Binding("A", "choose('approve_all')", "Approve all"),
        Binding("r", "choose('reject')", "Reject"),
        Binding("s", "steer", "Steer"),
        Binding("e", "edit", "Edit in $EDITOR"),
        Binding("escape", "later", "Later"),
    ]

    def __init__(self, request: ApprovalRequested, plan: str, *, yours: bool = False):
        """`yours`: a human-mode node, whose code the person saved: approving runs it."""
        super().__init__()
        self.request = request
        self._plan = plan
        self._yours = yours

    def compose(self) -> ComposeResult:
        added, removed = diff_stats(self.request.diff)
        with Vertical(id="approval-box") as box:
            question = "run your edit?" if self._yours else "approve this edit?"
            box.border_title = f"Node {self.request.node} · {question}"
            box.border_subtitle = f"+{added} -{removed} lines"
            plan = "Saved from your editor; e opens it again." if self._yours else self._plan.strip()
            yield Static(Text(plan or "(no plan given)"), id="approval-plan")
            yield Static(_keys_line(), id="approval-keys")

    def action_choose(self, kind: str) -> None:
        self.dismiss(Decision(kind))

    def action_steer(self) -> None:
        if not self.query("#approval-steer"):
            steer = Input(placeholder="steer: what should the edit do instead? (enter sends, escape cancels)",
                          id="approval-steer")
            self.query_one("#approval-box").mount(steer)
            steer.focus()

    def action_edit(self) -> None:
        self.dismiss("edit")

    def action_later(self) -> None:
        steer = self.query("#approval-steer")
        if steer:
            steer.remove()
            return
        self.dismiss(None)

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        if message.value.strip():
            self.dismiss(Decision("steer", message.value.strip()))


def _keys_line() -> Text:
    keys = Text()
    for key, label in (("a", "approve"), ("A", "approve all"), ("r", "reject"), ("s", "steer"),
                       ("e", "edit in $EDITOR"), ("esc", "later")):
        keys.append(f" {key} ", style="reverse bold")
        keys.append(f" {label}  ")
    return keys
