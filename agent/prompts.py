"""Draft, improve, debug, revision and question prompts, as chat messages.

Each prompt carries the task, the rules, the hints of the session's regime, the code
to change, and what happened before: the other attempts (for drafts) or this node's
ancestors (for improve and debug), with their measured outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.rules import RULES_TEXT
from records.task import Hint, Task
from sessions.nodes import Node

HINT_TITLES = {
    "pseudo": "Pseudocode of the next record's change (L1 hint)",
    "text": "Description of the next record's change (L2 hint)",
    "paper": "Mini-paper on the next record's change (L3 hint)",
}
EDIT_FORMAT = """Answer with a short plan (what you change and why, a few sentences), then one or more edit blocks against train.py:

<<<<<<< SEARCH
lines copied exactly from the current train.py (enough to be unique)
=======
the lines that replace them
>>>>>>> REPLACE

Only train.py can be changed. Keep each block small; use several blocks for several places."""
STDERR_LINES = 40


@dataclass(frozen=True)
class PromptContext:
    task: Task
    hints: list[Hint]
    start_time_s: float | None  # measured on this machine (node 0); None until the root has run


def system_message(ctx: PromptContext) -> dict:
    task = ctx.task
    measured = (f"On this machine the start code takes {ctx.start_time_s:.1f} s of training time. "
                if ctx.start_time_s else "")
    speedup = task.start_time_s / task.target_time_s if task.target_time_s else 0.0
    text = (
        "You are an expert machine-learning engineer in a training speedrun: change a GPT training "
        f"script so that it reaches validation loss {task.target_loss} in less training time.\n\n"
        f"Task {task.id}: {task.title}. {measured}The next record is about {speedup:.2f}x faster than "
        "the start code; your goal is to match or beat it. Time counts only training, not validation."
        f"{_target_rule_text(task)}\n\n"
        f"Rules: {RULES_TEXT}\n\n{EDIT_FORMAT}"
    )
    return {"role": "system", "content": text}


def _target_rule_text(task: Task) -> str:
    """The records' own rule, where the task is judged by it (sessions/target_rule.py)."""
    if task.target_rule != "mean_final":
        return ""
    return (f" As the records are judged, a time counts when the mean final validation loss over several "
            f"verification runs is at or below {task.target_loss} with p < 0.01 (one-sided t-test), and it is "
            "the mean of those runs' training times: one run just below the target is not enough, keep a margin.")


def hints_section(hints: list[Hint]) -> str:
    if not hints:
        return ""
    parts = [f"### {HINT_TITLES.get(h.level, h.level)}\n\n{h.text.strip()}" for h in hints]
    return "## Hints\n\n" + "\n\n".join(parts) + "\n\n"


def code_section(code: str, title: str = "Current train.py") -> str:
    return f"## {title}\n\n```python\n{code.rstrip()}\n```\n\n"


def outcome(node: Node) -> str:
    """One line on how a node did: time, loss, or why it failed."""
    result = node.result
    if node.status == "rejected":
        return "skipped by the person"
    if result is None:
        return "not run (the edit could not be applied or broke a rule)" if node.status == "invalid" else node.status
    loss = f"final val_loss {result.final_val_loss:.4f}" if result.final_val_loss is not None else "no val_loss"
    if node.time_s is not None:
        return f"reached the target in {node.time_s:.2f} s ({loss})"
    if result.status == "target_missed":
        return f"ran but missed the target ({loss})"
    return f"{result.status}: {result.reason or 'no reason given'}"


def node_line(node: Node) -> str:
    origin = "start code" if node.parent is None else f"{node.stage} of node {node.parent}"
    plan = node.plan.strip().splitlines()[0] if node.plan.strip() else ""
    line = f"- node {node.id} ({origin}): {outcome(node)}"
    return f"{line}. Plan: {plan}" if plan else line


def ancestors(nodes: dict[int, Node], node_id: int) -> list[Node]:
    chain = []
    current = nodes.get(node_id)
    while current is not None:
        chain.append(current)
        current = nodes.get(current.parent) if current.parent is not None else None
    return chain[::-1]


def draft_messages(ctx: PromptContext, code: str, nodes: dict[int, Node]) -> list[dict]:
    tried = [node_line(n) for n in sorted(nodes.values(), key=lambda n: n.id) if n.parent is not None]
    history = ("## Other attempts so far (try something different)\n\n" + "\n".join(tried) + "\n\n") if tried else ""
    task = (f"## Your job\n\nPropose one change to the start code that makes it reach val_loss "
            f"{ctx.task.target_loss} in less training time.")
    return [system_message(ctx), {"role": "user", "content": hints_section(ctx.hints) + history
                                  + code_section(code, "Start code: train.py") + task}]


def improve_messages(ctx: PromptContext, code: str, nodes: dict[int, Node], parent: int) -> list[dict]:
    history = "\n".join(node_line(n) for n in ancestors(nodes, parent))
    task = (f"## Your job\n\nThe code below is node {parent}. Propose one further change that makes it "
            f"reach val_loss {ctx.task.target_loss} in less training time.")
    return [system_message(ctx), {"role": "user", "content": hints_section(ctx.hints)
                                  + f"## How this code came to be\n\n{history}\n\n" + code_section(code) + task}]


def debug_messages(ctx: PromptContext, code: str, nodes: dict[int, Node], parent: int,
                   log_tail: list[str]) -> list[dict]:
    buggy = nodes[parent]
    history = "\n".join(node_line(n) for n in ancestors(nodes, parent))
    stderr = "\n".join((buggy.result.stderr_tail if buggy.result else "").splitlines()[-STDERR_LINES:])
    failure = (f"## What went wrong in node {parent}\n\n{outcome(buggy)}\n\n"
               f"Last lines of stderr:\n```\n{stderr or '(none)'}\n```\n\n"
               f"Last lines of output:\n```\n{chr(10).join(log_tail[-20:]) or '(none)'}\n```\n\n")
    task = ("## Your job\n\nFix the bug so that the run completes and reaches the target, keeping the "
            "change's intent. Edit the code shown above.")
    return [system_message(ctx), {"role": "user", "content": hints_section(ctx.hints)
                                  + f"## How this code came to be\n\n{history}\n\n" + code_section(code)
                                  + failure + task}]


def reflection(messages: list[dict], reply: str, report: str, code: str) -> list[dict]:
    """The conversation after edit blocks failed: the model's reply, what failed, the current file."""
    return [*messages, {"role": "assistant", "content": reply},
            {"role": "user", "content": report + "\n\n" + code_section(code)}]


def revision(messages: list[dict], reply: str, *, steer: str = "", rejected: bool = False, reason: str = "") -> list[dict]:
    """The conversation after a person steered or rejected a proposal; the edit starts over from the parent."""
    if rejected:
        ask = "The person reviewing your edit rejected it" + (f": {reason}" if reason else ".")
        ask += " Propose a different change."
    else:
        ask = f"The person reviewing your edit says: {steer}\nRevise your change accordingly."
    ask += (" Your previous blocks are discarded: write the plan and blocks again, against the train.py "
            "of the first message.")
    return [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": ask}]


def with_steering(messages: list[dict], steers: list[str]) -> list[dict]:
    """The prompt with what the person asked for between edits, as the last thing the model reads."""
    if not steers:
        return messages
    asked = "\n".join(f"- {text}" for text in steers)
    last = messages[-1]
    return [*messages[:-1], {**last, "content": last["content"] + f"\n\n## The person steering this session asks\n\n{asked}\n\nMake this edit follow it."}]


def question_messages(ctx: PromptContext, code: str, nodes: dict[int, Node], question: str) -> list[dict]:
    history = "\n".join(node_line(n) for n in sorted(nodes.values(), key=lambda n: n.id))
    content = (hints_section(ctx.hints) + f"## Session so far\n\n{history or '(nothing run yet)'}\n\n"
               + code_section(code, "Best train.py so far")
               + f"## Question from the person\n\n{question}\n\nAnswer in prose; do not write edit blocks.")
    return [system_message(ctx), {"role": "user", "content": content}]
