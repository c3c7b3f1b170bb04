"""The reference model: the task's own next record, as edit blocks (the upper bound, FSR ~1).

The task's reference diff is applied to its start code by line numbers (it was made
from exactly that code), then re-expressed as SEARCH/REPLACE blocks with enough
context that each block matches one place, the way a model would have to write it.
"""

from __future__ import annotations

import difflib
import re

from agent.editblocks import EditBlock, apply_blocks
from speedrun_tui.codediff import diff_stats, unified_diff
from records.task import Task
from speedrun_tui.errors import UserError

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
CONTEXTS = (3, 6, 12, 24, 48)


class PatchError(ValueError):
    pass


def apply_unified_diff(code: str, diff: str) -> str:
    """Apply the first file's hunks of a unified diff; PatchError when the code doesn't match."""
    lines = code.splitlines()
    out: list[str] = []
    position = 0
    for old_start, body in _hunks(diff):
        start = max(old_start - 1, 0)
        if start < position:
            raise PatchError(f"hunk at line {old_start} overlaps the previous one")
        out.extend(lines[position:start])
        position = start
        for tag, text in body:
            if tag in " -":
                if position >= len(lines) or lines[position].rstrip() != text.rstrip():
                    raise PatchError(f"line {position + 1} is not {text.strip()!r}")
                position += 1
            if tag in " +":
                out.append(text)
    out.extend(lines[position:])
    return "\n".join(out) + "\n"


def _hunks(diff: str):
    body: list[tuple[str, str]] | None = None
    old_start = 0
    files_seen = 0
    for line in diff.splitlines():
        if line.startswith("--- "):
            files_seen += 1
            if files_seen > 1:
                break
            continue
        if line.startswith("+++ ") and body is None:
            continue
        match = _HUNK_RE.match(line)
        if match:
            if body is not None:
                yield old_start, body
            old_start, body = int(match[1]), []
        elif body is not None and line[:1] in (" ", "-", "+"):
            body.append((line[0], line[1:]))
        elif body is not None and line == "":
            body.append((" ", ""))  # some tools strip the space of empty context lines
    if body is not None:
        yield old_start, body


def edit_blocks(old: str, new: str) -> list[EditBlock]:
    """Blocks that turn `old` into `new`, each matching exactly one place."""
    a, b = old.splitlines(), new.splitlines()
    for context in CONTEXTS:
        groups = difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context)
        blocks = [EditBlock(i + 1, a[g[0][1]:g[-1][2]], b[g[0][3]:g[-1][4]]) for i, g in enumerate(groups)]
        outcome = apply_blocks(old, blocks)
        if outcome.ok and outcome.code.splitlines() == b and all(v == "exact" for v in outcome.how.values()):
            return blocks
    return [EditBlock(1, a, b)]


def format_blocks(blocks: list[EditBlock]) -> str:
    parts = []
    for block in blocks:
        parts.append("\n".join(["<<<<<<< SEARCH", *block.search, "=======", *block.replace, ">>>>>>> REPLACE"]))
    return "\n\n".join(parts) + "\n"


def reference_code(task: Task) -> str:
    diff = task.reference_diff()
    if not diff.strip():
        raise UserError(f"task {task.id} has no reference change; the `reference` model needs one")
    try:
        return apply_unified_diff(task.start_code(), diff)
    except PatchError as err:
        raise UserError(f"task {task.id}: its reference diff does not apply to its start code ({err})") from err


def reference_reply(task: Task) -> str:
    """The reference model's answer to any prompt: the next record's change."""
    start = task.start_code()
    target = reference_code(task)
    added, removed = diff_stats(unified_diff(start, target))
    plan = (f"Reference change for {task.id}: apply the next record's own code (+{added} -{removed} lines). "
            "This is the upper bound of the benchmark, not an agent's idea.")
    return plan + "\n\n" + format_blocks(edit_blocks(start, target))
