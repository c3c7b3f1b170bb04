"""Unified diffs as Rich renderables: syntax-highlighted, unified or side by side.

The controller stores each edit as a unified diff (difflib) against the parent's code;
this module only parses and paints it. Inside a changed line pair, difflib's
SequenceMatcher marks the characters that actually changed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Span, Text

RowKind = Literal["meta", "hunk", "ctx", "del", "add", "change"]

ADD_BG = "#173a1e"
DEL_BG = "#46191c"
ADD_WORD_BG = "#2c6e37"
DEL_WORD_BG = "#8a2a30"
_THEME = "monokai"


@dataclass(frozen=True)
class Row:
    """One row of a side-by-side diff; `left`/`right` is None where that side has no line."""

    kind: RowKind
    left: str | None = None
    right: str | None = None
    left_no: int | None = None
    right_no: int | None = None


def parse_rows(diff: str) -> list[Row]:
    """Pairs each run of removed lines with the added lines that follow it."""
    rows: list[Row] = []
    dels: list[tuple[int, str]] = []
    adds: list[tuple[int, str]] = []
    left_no = right_no = 0

    def flush() -> None:
        for i in range(max(len(dels), len(adds))):
            old = dels[i] if i < len(dels) else (None, None)
            new = adds[i] if i < len(adds) else (None, None)
            kind = "change" if old[1] is not None and new[1] is not None else "del" if new[1] is None else "add"
            rows.append(Row(kind, old[1], new[1], old[0], new[0]))
        dels.clear()
        adds.clear()

    for line in diff.splitlines():
        if line.startswith(("---", "+++")) and not dels and not adds:
            rows.append(Row("meta", line, line))
        elif line.startswith("@@"):
            flush()
            left_no, right_no = _hunk_starts(line)
            rows.append(Row("hunk", line, line))
        elif line.startswith("-"):
            if adds:
                flush()
            dels.append((left_no, line[1:]))
            left_no += 1
        elif line.startswith("+"):
            adds.append((right_no, line[1:]))
            right_no += 1
        elif line.startswith("\\"):
            continue  # "\ No newline at end of file"
        else:
            flush()
            text = line[1:] if line.startswith(" ") else line
            rows.append(Row("ctx", text, text, left_no, right_no))
            left_no += 1
            right_no += 1
    flush()
    return rows


def _hunk_starts(header: str) -> tuple[int, int]:
    """`@@ -12,5 +12,7 @@` -> (12, 12)."""
    try:
        old, new = header.split("@@")[1].split()[:2]
        return int(old[1:].split(",")[0]), int(new[1:].split(",")[0])
    except (IndexError, ValueError):
        return 0, 0


def _highlight(lines: list[str]) -> list[Text]:
    """Python-highlights lines together (so strings spanning lines colour right), minus backgrounds."""
    if not lines:
        return []
    text = Syntax("", "python", theme=_THEME).highlight("\n".join(lines))
    text.spans = [Span(s.start, s.end, _foreground(s.style)) for s in text.spans]
    text.style = ""
    out = list(text.split("\n", allow_blank=True))
    return (out + [Text() for _ in lines])[: len(lines)]


def _foreground(style: Style | str) -> Style:
    if isinstance(style, str):
        style = Style.parse(style)
    return Style(color=style.color, bold=style.bold, italic=style.italic)


def _mark_words(left: Text, right: Text) -> None:
    """Stronger background on the characters that differ between a changed pair."""
    matcher = difflib.SequenceMatcher(None, left.plain, right.plain, autojunk=False)
    if matcher.ratio() < 0.4:
        return  # mostly rewritten: word marks would only be noise
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete") and i2 > i1:
            left.stylize(Style(bgcolor=DEL_WORD_BG), i1, i2)
        if tag in ("replace", "insert") and j2 > j1:
            right.stylize(Style(bgcolor=ADD_WORD_BG), j1, j2)


def _side_texts(rows: list[Row]) -> tuple[list[Text | None], list[Text | None]]:
    """Highlighted code of each row's left and right side."""
    lefts = _highlight([r.left for r in rows if r.kind in ("ctx", "del", "change") and r.left is not None])
    rights = _highlight([r.right for r in rows if r.kind in ("ctx", "add", "change") and r.right is not None])
    left_iter, right_iter = iter(lefts), iter(rights)
    out_left: list[Text | None] = []
    out_right: list[Text | None] = []
    for row in rows:
        code_row = row.kind in ("ctx", "del", "add", "change")
        out_left.append(next(left_iter) if code_row and row.left is not None else None)
        out_right.append(next(right_iter) if code_row and row.right is not None else None)
    for row, left, right in zip(rows, out_left, out_right):
        if row.kind == "change" and left is not None and right is not None:
            _mark_words(left, right)
    return out_left, out_right


def render_unified(diff: str) -> Text:
    """The diff as one Text: `-` lines then `+` lines per change, each on its tinted background."""
    if not diff.strip():
        return Text("(no changes)", style="dim")
    rows = parse_rows(diff)
    lefts, rights = _side_texts(rows)
    out = Text(no_wrap=True, overflow="crop")
    removed: list[Text] = []
    added: list[Text] = []

    def emit_changes() -> None:
        for line in removed:
            out.append_text(line)
        for line in added:
            out.append_text(line)
        removed.clear()
        added.clear()

    for row, left, right in zip(rows, lefts, rights):
        if row.kind in ("meta", "hunk"):
            emit_changes()
            out.append_text(Text(f"{row.left}\n", style="bold cyan" if row.kind == "hunk" else "bold"))
        elif row.kind == "ctx":
            emit_changes()
            out.append_text(_prefixed(" ", row.right_no, right, None))
        else:
            if left is not None:
                removed.append(_prefixed("-", row.left_no, left, DEL_BG))
            if right is not None:
                added.append(_prefixed("+", row.right_no, right, ADD_BG))
    emit_changes()
    out.rstrip()
    return out


def _prefixed(mark: str, number: int | None, code: Text | None, background: str | None) -> Text:
    gutter = f"{number:>4} " if number is not None else "     "
    line = Text(gutter, style="dim")
    line.append(mark, style="bold green" if mark == "+" else "bold red" if mark == "-" else "dim")
    body = code.copy() if code is not None else Text()
    body.append("\n")
    if background:
        body.stylize_before(Style(bgcolor=background))
        line.stylize(Style(bgcolor=background))
    line.append_text(body)
    return line


def render_split(diff: str) -> Table | Text:
    """Side by side: the parent's lines on the left, the edit's on the right."""
    if not diff.strip():
        return Text("(no changes)", style="dim")
    rows = parse_rows(diff)
    lefts, rights = _side_texts(rows)
    table = Table.grid(expand=True, padding=(0, 1))
    table.add_column(justify="right", style="dim", width=4, no_wrap=True)
    table.add_column(ratio=1, no_wrap=True, overflow="crop")
    table.add_column(justify="right", style="dim", width=4, no_wrap=True)
    table.add_column(ratio=1, no_wrap=True, overflow="crop")
    for row, left, right in zip(rows, lefts, rights):
        if row.kind == "meta":
            continue
        if row.kind == "hunk":
            table.add_row("", Text(row.left or "", style="bold cyan"), "", "")
            continue
        table.add_row(
            _number(row.left_no if left is not None else None),
            _tinted(left, DEL_BG if row.kind in ("del", "change") else None),
            _number(row.right_no if right is not None else None),
            _tinted(right, ADD_BG if row.kind in ("add", "change") else None),
        )
    return table


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _tinted(code: Text | None, background: str | None) -> Text:
    if code is None:
        return Text("")
    text = code.copy()
    if background:
        text.stylize_before(Style(bgcolor=background))
        text.style = Style(bgcolor=background)
    return text
