"""Decision: a person's answer to a pending approval (or a question), whoever typed it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DecisionKind = Literal["approve", "approve_all", "reject", "steer", "edit", "skip", "ask"]
DECISION_KINDS: tuple[str, ...] = ("approve", "approve_all", "reject", "steer", "edit", "skip", "ask")


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    text: str = ""  # steer message / question / reason
    code: str | None = None  # hand-edited code for "edit"

    def __post_init__(self):
        if self.kind not in DECISION_KINDS:
            raise ValueError(f"unknown decision {self.kind!r}; expected one of {', '.join(DECISION_KINDS)}")
        if self.kind == "edit" and self.code is None:
            raise ValueError("an `edit` decision needs the edited code")
