"""Node: one candidate in a session's search tree (AIDE's journal node, our vocabulary)."""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.result import RunResult


@dataclass
class Node:
    id: int
    parent: int | None
    stage: str  # root, draft, improve, debug, human
    code_sha: str | None = None
    plan: str = ""
    diff: str = ""  # against the parent's code
    status: str = "pending"  # pending, proposed, running, buggy, valid, target_missed, invalid, rejected
    result: RunResult | None = None
    bug_depth: int = 0
    forked: bool = False  # made from a node a person picked (a fork), not the scaffold's choice
    children: list[int] = field(default_factory=list)

    @property
    def time_s(self) -> float | None:
        if self.result is None or not self.result.valid or self.status == "invalid":
            return None
        return self.result.time_to_target_ms / 1000.0
