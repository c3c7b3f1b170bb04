"""The benchmark's five scaffolds, as pure search policies over a session's node tree.

A policy looks at the tree (root = node 0, the unchanged start code) and says what
the next step creates: drafts from the root, children of the best valid node, or a
debug child of a buggy leaf. It never calls a model or runs anything, so a resumed
session asks it the same question and gets the same answer (its coin flips are
seeded by the session seed and the tree's size).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from sessions.nodes import Node
from speedrun_tui.errors import UserError

BENCHMARK_BUDGET = 20  # training runs per session in the benchmark


@dataclass(frozen=True)
class ScaffoldSpec:
    name: str
    drafts: int | None  # None: every node is a draft (flat)
    children: int = 0  # per improve / debug step
    debug_p: float = 0.0  # chance a step debugs a buggy leaf, when there is one
    max_bug_depth: int = 0  # debug steps allowed in a row


SCAFFOLDS: dict[str, ScaffoldSpec] = {
    "flat": ScaffoldSpec("flat", drafts=None),
    "tree": ScaffoldSpec("tree", drafts=1, children=3),
    "forest": ScaffoldSpec("forest", drafts=3, children=3),
    "aide": ScaffoldSpec("aide", drafts=3, children=1, debug_p=0.5, max_bug_depth=5),
    "multi-aide": ScaffoldSpec("multi-aide", drafts=3, children=3, debug_p=0.5, max_bug_depth=5),
}


@dataclass(frozen=True)
class Action:
    stage: Literal["draft", "improve", "debug"]
    parent: int


def get_scaffold(name: str) -> ScaffoldSpec:
    if name not in SCAFFOLDS:
        raise UserError(f"unknown scaffold {name!r}; choose one of {', '.join(SCAFFOLDS)}")
    return SCAFFOLDS[name]


def counted(nodes: dict[int, Node]) -> list[Node]:
    """The agent's nodes that use the budget: all but the root and those a person skipped."""
    return [n for n in nodes.values() if n.parent is not None and n.status != "rejected"]


def best_valid(nodes: dict[int, Node]) -> Node | None:
    """The benchmark's selection: the fastest node that reached the target (root included)."""
    valid = [n for n in nodes.values() if n.time_s is not None]
    return min(valid, key=lambda n: (n.time_s, n.id)) if valid else None


def next_actions(spec: ScaffoldSpec, nodes: dict[int, Node], *, budget: int, seed: int) -> list[Action]:
    """The next step's nodes (run together, up to --parallel at once); [] when the budget is spent."""
    left = budget - len(counted(nodes))
    if left <= 0:
        return []
    drafts_made = sum(1 for n in counted(nodes) if n.stage == "draft")
    drafts_wanted = budget if spec.drafts is None else spec.drafts
    if drafts_made < drafts_wanted:
        return [Action("draft", 0)] * min(left, drafts_wanted - drafts_made)
    if spec.children == 0:
        return []
    rng = random.Random(f"{seed}/{len(nodes)}")
    leaves = debuggable_leaves(spec, nodes)
    if leaves and rng.random() < spec.debug_p:
        return [Action("debug", rng.choice(leaves))] * min(left, spec.children)
    best = best_valid(nodes)
    parent = best.id if best is not None else 0
    return [Action("improve", parent)] * min(left, spec.children)


def debuggable_leaves(spec: ScaffoldSpec, nodes: dict[int, Node]) -> list[int]:
    if spec.debug_p <= 0:
        return []
    has_children = {n.parent for n in counted(nodes)}
    return sorted(n.id for n in nodes.values()
                  if n.status == "buggy" and n.id not in has_children and n.bug_depth < spec.max_bug_depth)
