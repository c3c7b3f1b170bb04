"""SEARCH/REPLACE edit blocks: parse a model's reply, apply it tolerantly, explain failures.

A reply is a plan in prose, then blocks of the form

    <<<<<<< SEARCH
    lines copied from train.py
    =======
    the lines that replace them
    >>>>>>> REPLACE

Matching tries, in order: exact lines, whitespace-insensitive lines, the same ignoring
blank lines, then one fuzzy window (difflib ratio). At any stage, more than one match
is refused: a block must say unambiguously where it goes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

SEARCH_RE = re.compile(r"^\s*<{5,9}\s*SEARCH\b")
DIVIDER_RE = re.compile(r"^\s*={5,9}\s*$")
REPLACE_RE = re.compile(r"^\s*>{5,9}\s*REPLACE\b")
_FENCE_OR_NAME_RE = re.compile(r"^\s*(```\w*|[\w./-]+\.py:?)\s*$")
FUZZY_THRESHOLD = 0.85
FUZZY_MARGIN = 0.03  # a runner-up this close to the best window makes the match ambiguous


@dataclass(frozen=True)
class EditBlock:
    index: int  # 1-based, in reply order
    search: list[str]
    replace: list[str]


@dataclass(frozen=True)
class ParsedReply:
    plan: str
    blocks: list[EditBlock]
    errors: list[str] = field(default_factory=list)  # malformed blocks, one line each


@dataclass(frozen=True)
class ApplyOutcome:
    code: str
    applied: list[int]  # block indexes
    failures: dict[int, str]  # block index -> why it failed
    how: dict[int, str]  # block index -> exact, whitespace, blank-lines, fuzzy

    @property
    def ok(self) -> bool:
        return not self.failures


def parse_reply(text: str) -> ParsedReply:
    lines = text.splitlines()
    blocks: list[EditBlock] = []
    errors: list[str] = []
    first_block_line: int | None = None
    seen = 0
    i = 0
    while i < len(lines):
        if REPLACE_RE.match(lines[i]):
            errors.append(f"line {i + 1}: `{lines[i].strip()}` without a `<<<<<<< SEARCH` before it")
        if not SEARCH_RE.match(lines[i]):
            i += 1
            continue
        first_block_line = i if first_block_line is None else first_block_line
        seen += 1
        block, i, error = _read_block(lines, i, seen)
        if error:
            errors.append(error)
        else:
            blocks.append(block)
    plan_lines = lines[:first_block_line] if first_block_line is not None else lines
    return ParsedReply(plan=_clean_plan(plan_lines), blocks=blocks, errors=errors)


def _read_block(lines: list[str], start: int, index: int) -> tuple[EditBlock | None, int, str]:
    """One block from its SEARCH marker; returns the block, the line after it, or an error."""
    search: list[str] = []
    replace: list[str] = []
    part = search
    for j in range(start + 1, len(lines)):
        line = lines[j]
        if SEARCH_RE.match(line):
            return None, j, f"block {index} (line {start + 1}): a new `<<<<<<< SEARCH` before `>>>>>>> REPLACE`"
        if part is search and DIVIDER_RE.match(line):
            part = replace
        elif part is replace and REPLACE_RE.match(line):
            return EditBlock(index, search, replace), j + 1, ""
        else:
            part.append(line)
    missing = "`=======`" if part is search else "`>>>>>>> REPLACE`"
    return None, len(lines), f"block {index} (line {start + 1}): no {missing} after `<<<<<<< SEARCH`"


def _clean_plan(lines: list[str]) -> str:
    while lines and (not lines[-1].strip() or _FENCE_OR_NAME_RE.match(lines[-1])):
        lines = lines[:-1]
    return "\n".join(lines).strip()


def apply_blocks(code: str, blocks: list[EditBlock]) -> ApplyOutcome:
    """Apply blocks in order; a failed block is skipped and the rest still apply."""
    trailing_newline = code.endswith("\n")
    file_lines = code.splitlines()
    applied: list[int] = []
    failures: dict[int, str] = {}
    how: dict[int, str] = {}
    for block in blocks:
        found = locate(file_lines, block.search)
        if isinstance(found, str):
            failures[block.index] = found
            continue
        start, end, method = found
        new_lines = block.replace if method == "exact" else reindent(block.replace, block.search, file_lines[start:end])
        file_lines[start:end] = new_lines
        applied.append(block.index)
        how[block.index] = method
    text = "\n".join(file_lines) + ("\n" if trailing_newline and file_lines else "")
    return ApplyOutcome(text, applied, failures, how)


def locate(file_lines: list[str], search: list[str]) -> tuple[int, int, str] | str:
    """Where `search` sits in the file: (start, end, method), or a message on why it can't be placed."""
    if not any(line.strip() for line in search):
        return "its SEARCH section is empty; quote the lines of train.py to replace"
    for method, norm in (("exact", _exact), ("whitespace", _spaces)):
        starts = _window_matches([norm(x) for x in file_lines], [norm(x) for x in search])
        if len(starts) == 1:
            return starts[0], starts[0] + len(search), method
        if len(starts) > 1:
            return _ambiguous([s + 1 for s in starts])
    kept = [i for i, line in enumerate(file_lines) if line.strip()]
    dense_file = [_spaces(file_lines[i]) for i in kept]
    dense_search = [_spaces(x) for x in search if x.strip()]
    starts = _window_matches(dense_file, dense_search)
    if len(starts) == 1:
        return kept[starts[0]], kept[starts[0] + len(dense_search) - 1] + 1, "blank-lines"
    if len(starts) > 1:
        return _ambiguous([kept[s] + 1 for s in starts])
    preview = [x for x in search if x.strip()][:3]
    return _fuzzy(file_lines, kept, dense_file, dense_search, preview)


def _fuzzy(file_lines, kept, dense_file, dense_search, search_preview) -> tuple[int, int, str] | str:
    scores = _window_scores(dense_file, dense_search)
    if not scores:
        return "its SEARCH text is longer than train.py"
    best_ratio, best = max((r, s) for s, r in scores.items())
    width = len(dense_search)
    if best_ratio >= FUZZY_THRESHOLD:
        rivals = [s for s, r in scores.items() if abs(s - best) >= width and r >= best_ratio - FUZZY_MARGIN]
        if rivals:
            return _ambiguous(sorted(kept[s] + 1 for s in [best, *rivals]))
        return kept[best], kept[best + width - 1] + 1, "fuzzy"
    first, last = kept[best], kept[best + width - 1]
    nearest = "\n".join(f"{n + 1:5d} | {file_lines[n]}" for n in range(first, min(last + 1, first + 30)))
    shown = "\n".join(f"      | {x}" for x in search_preview)
    return (f"its SEARCH text matches nothing in train.py, not even ignoring whitespace and blank lines. "
            f"It begins with:\n{shown}\nThe nearest lines in train.py are {first + 1}-{last + 1} "
            f"({best_ratio:.0%} similar):\n{nearest}")


def _window_scores(dense_file: list[str], dense_search: list[str]) -> dict[int, float]:
    width = len(dense_search)
    target = "\n".join(dense_search)
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(target)
    scores: dict[int, float] = {}
    for start in range(len(dense_file) - width + 1):
        matcher.set_seq1("\n".join(dense_file[start:start + width]))
        # Cheap upper bounds first: most windows are nowhere near.
        if matcher.real_quick_ratio() < 0.5 or matcher.quick_ratio() < 0.5:
            scores[start] = 0.0
            continue
        scores[start] = matcher.ratio()
    return scores


def _window_matches(haystack: list[str], needle: list[str]) -> list[int]:
    width = len(needle)
    if width == 0:
        return []
    first = needle[0]
    return [s for s in range(len(haystack) - width + 1)
            if haystack[s] == first and haystack[s:s + width] == needle]


def _ambiguous(line_numbers: list[int]) -> str:
    where = ", ".join(str(n) for n in line_numbers[:8])
    return (f"its SEARCH text matches {len(line_numbers)} places in train.py (starting at lines {where}); "
            f"include more surrounding lines so that it matches exactly one")


def _exact(line: str) -> str:
    return line.rstrip()


def _spaces(line: str) -> str:
    return " ".join(line.split())


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def reindent(replace: list[str], search: list[str], matched: list[str]) -> list[str]:
    """Re-indent the replacement the way the file is indented where the search matched.

    Models often drop a base indentation (a constant offset) or indent by 2 where the
    file uses 4 (a constant ratio); both are read off the matched lines.
    """
    pairs = [(len(_indent(s)), len(_indent(m)))
             for s, m in zip([x for x in search if x.strip()], [x for x in matched if x.strip()])]
    if all(s == m for s, m in pairs):
        return list(replace)
    offsets = {m - s for s, m in pairs}
    ratios = {m / s for s, m in pairs if s}
    if len(offsets) == 1:
        ratio, offset = 1.0, offsets.pop()
    elif len(ratios) == 1 and all(m == 0 for s, m in pairs if s == 0):
        ratio, offset = ratios.pop(), 0
    else:
        return list(replace)  # no consistent rule: keep the model's indentation
    return [line if not line.strip() else " " * max(0, round(len(_indent(line)) * ratio) + offset) + line.lstrip()
            for line in replace]


def failure_report(outcome: ApplyOutcome, parse_errors: list[str]) -> str:
    """What goes back to the model when blocks did not apply."""
    parts = []
    if outcome.applied:
        numbers = ", ".join(str(i) for i in outcome.applied)
        parts.append(f"Blocks {numbers} were applied; train.py below already includes them.")
    else:
        parts.append("No edit block was applied; train.py is unchanged.")
    parts.extend(f"Malformed: {error}." for error in parse_errors)
    parts.extend(f"Block {i} failed: {why}" for i, why in sorted(outcome.failures.items()))
    parts.append("Reply with SEARCH/REPLACE blocks for the failed changes only, against the current train.py. "
                 "Copy each SEARCH section exactly from it.")
    return "\n\n".join(parts)
