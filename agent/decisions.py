"""Decision: a person's answer to a pending approval (or a question), whoever typed it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from speedrun_tui.errors import UserError

POLL_S = 0.2  # how often a loop that waits for a person's decision looks again
FORK_USAGE = "usage: /fork N [steer text]  (N: a node of the tree)"

DecisionKind = Literal["approve", "approve_all", "reject", "steer", "edit", "skip", "ask", "fork"]
DECISION_KINDS: tuple[str, ...] = ("approve", "approve_all", "reject", "steer", "edit", "skip", "ask", "fork")


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    text: str = ""  # steer message / question / reason
    code: str | None = None  # hand-edited code for "edit"
    node: int | None = None  # for "fork": the node whose code the next edit starts from

    def __post_init__(self):
        if self.kind not in DECISION_KINDS:
            raise ValueError(f"unknown decision {self.kind!r}; expected one of {', '.join(DECISION_KINDS)}")
        if self.kind == "edit" and self.code is None:
            raise ValueError("an `edit` decision needs the edited code")
        if self.kind == "fork" and self.node is None:
            raise ValueError("a `fork` decision needs the node to fork from")


def fork_decision(arg: str) -> Decision:
    """`N [steer text]`, as typed after /fork (or `f` in headless mode), as a fork decision."""
    node, _, steer = arg.strip().partition(" ")
    if not node.isdigit():
        raise UserError(FORK_USAGE)
    return Decision("fork", steer.strip(), node=int(node))
