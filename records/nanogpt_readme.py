"""The record tables of a modded-nanogpt README: one per track, re-timing rows marked as such.

A table opens with a `| # | Record time | Description | Date | Log | Contributors |` header
(its rows may omit the leading `|`). Its track is named by the nearest heading above it: the
one about GPT-2 Medium holds the medium track, the first other one the 124M track. A row that
repeats an earlier row's number re-times that record (the README says "not a new record, just
re-timing #21"). The log cell holds `[log](path)`, `[log](path),[PR](url)`, `[PR](url)` alone,
`-` or `none`; a time reads `45 minutes`, `25.95 minutes*` or `5.8 hours`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

TRACK_124M = "nanogpt"
TRACK_MEDIUM = "nanogpt-medium"
TRACKS = (TRACK_124M, TRACK_MEDIUM)

_HEADING = re.compile(r"^#{1,6}\s")
_HEADER = re.compile(r"^\|?\s*#\s*\|\s*record time\s*\|", re.IGNORECASE)
_TIME = re.compile(r"([\d.]+)\s*(hours?|hrs?|minutes?|mins?|seconds?|secs?|s)\b", re.IGNORECASE)
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0}


@dataclass(frozen=True)
class ReadmeRow:
    track: str
    number: int
    time_s: float
    description: str
    log_link: str | None  # as written in the README; None when the row links no log
    pr_link: str | None = None
    retiming: bool = False  # repeats an earlier row's number: that record re-timed, no new record


def parse_readme(text: str) -> list[ReadmeRow]:
    """Every row of the first record table of each track, in README order."""
    lines = text.splitlines()
    rows: list[ReadmeRow] = []
    done: set[str] = set()
    heading, fenced = "", False
    for i, line in enumerate(lines):
        fenced ^= line.lstrip().startswith("```")  # a `# comment` in a code block is no heading
        if _HEADING.match(line) and not fenced:
            heading = line
        elif _HEADER.match(line.strip()) and _track_of(heading) not in done:
            track = _track_of(heading)
            done.add(track)
            columns = [c.strip().lower() for c in line.strip().strip("|").split("|")]
            rows += _table_rows(lines[i + 1:], columns, track)
    return rows


def _track_of(heading: str) -> str:
    return TRACK_MEDIUM if "medium" in heading.lower() else TRACK_124M


def _table_rows(lines: list[str], columns: list[str], track: str) -> list[ReadmeRow]:
    rows: list[ReadmeRow] = []
    seen: set[int] = set()
    for line in lines:
        if "|" not in line:
            break
        row = _parse_row(line, columns, track)
        if row is None:  # the separator row, or a row without a number and a time
            continue
        if row.number in seen:
            row = replace(row, retiming=True)
        seen.add(row.number)
        rows.append(row)
    return rows


def _parse_row(line: str, columns: list[str], track: str) -> ReadmeRow | None:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    cell = dict(zip(columns, cells))
    number, time_s = cell.get("#", ""), parse_duration(cell.get("record time", ""))
    if not number.isdigit() or time_s is None:
        return None
    description = _LINK.sub(lambda m: m.group(1), cell.get("description", "")).strip()
    links = {label.strip().lower(): target for label, target in reversed(_LINK.findall(cell.get("log", "")))}
    return ReadmeRow(track, int(number), time_s, description, links.get("log"), links.get("pr"))


def parse_duration(text: str) -> float | None:
    """'31.4 minutes' -> 1884.0 seconds, '5.8 hours' -> 20880.0; None when there is no duration."""
    match = _TIME.search(text)
    if not match:
        return None
    return float(match.group(1)) * _UNIT_S[match.group(2)[0].lower()]
