"""Read a local modded-nanogpt checkout: the README's record table, each record's code and measured time.

The README's "World record history" table gives number, time, description and a
link to the record's log. A record's `.txt` log holds its code, then a line of
exactly 100 `=`, environment info, another such line, then the training log
(some files also open with a separator line). The measured time is the
`train_time` of the last validation line. Nothing is guessed: a record whose
code or log is missing carries the reason instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from runner.logparse import parse_line
from speedrun_tui.errors import UserError

SEPARATOR = "=" * 100

_HEADER = re.compile(r"^\|?\s*#\s*\|\s*record time\s*\|", re.IGNORECASE)
_TIME = re.compile(r"([\d.]+)\s*(hours?|hrs?|minutes?|mins?|seconds?|secs?|s)\b", re.IGNORECASE)
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0}


@dataclass(frozen=True)
class ReadmeRow:
    number: int
    time_s: float
    description: str
    log_link: str | None  # as written in the README; None when the row links no log


@dataclass(frozen=True)
class RecordSource:
    """What the checkout holds for one record."""

    number: int
    readme_time_s: float
    description: str
    log_file: Path | None
    code: str | None
    measured_time_s: float | None  # train_time of the log's last validation line
    measured_val_loss: float | None
    reason: str = ""  # why code or time is missing; empty when both were found


def parse_readme(text: str) -> list[ReadmeRow]:
    """Rows of the first record table (track 1), one per record number (first row wins)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _HEADER.match(line.strip())), None)
    if start is None:
        return []
    columns = [c.strip().lower() for c in lines[start].strip().strip("|").split("|")]
    rows: dict[int, ReadmeRow] = {}
    for line in lines[start + 2:]:
        if "|" not in line:
            break
        row = _parse_row(line, columns)
        if row is not None and row.number not in rows:
            rows[row.number] = row
    return list(rows.values())


def _parse_row(line: str, columns: list[str]) -> ReadmeRow | None:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    cell = dict(zip(columns, cells))
    number, time_s = cell.get("#", ""), parse_duration(cell.get("record time", ""))
    if not number.isdigit() or time_s is None:
        return None
    description = _LINK.sub(lambda m: m.group(1), cell.get("description", "")).strip()
    logs = [target for label, target in _LINK.findall(cell.get("log", "")) if label.strip().lower() == "log"]
    return ReadmeRow(int(number), time_s, description, logs[0] if logs else None)


def parse_duration(text: str) -> float | None:
    """'31.4 minutes' -> 1884.0 seconds; None when there is no duration."""
    match = _TIME.search(text)
    if not match:
        return None
    return float(match.group(1)) * _UNIT_S[match.group(2)[0].lower()]


def split_record_log(text: str) -> tuple[str | None, str]:
    """(code, log) of a record `.txt`: code before the first separator line (or between the
    first two when the file opens with one); the log is what follows the last separator."""
    lines = text.splitlines(keepends=True)
    seps = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == SEPARATOR]
    if not seps:
        return None, text
    if seps[0] == 0:
        code_lines = lines[1:seps[1]] if len(seps) > 1 else []
    else:
        code_lines = lines[:seps[0]]
    code = "".join(code_lines)
    return (code if code.strip() else None), "".join(lines[seps[-1] + 1:])


def measured_time(log: str) -> tuple[float | None, float | None]:
    """(seconds, val_loss) of the last validation line that carries a train_time."""
    last = None
    for line in log.splitlines():
        metric = parse_line(line)
        if metric is not None and metric.kind == "val" and metric.train_time_ms is not None:
            last = metric
    if last is None:
        return None, None
    return last.train_time_ms / 1000.0, last.val_loss


def read_checkout(root: Path) -> list[RecordSource]:
    """Every record of the checkout's README table, with its code and measured time where found."""
    root = Path(root).expanduser()
    readme = root / "README.md"
    if not readme.is_file():
        raise UserError(f"{root}: no README.md here; give the path of a modded-nanogpt checkout")
    rows = parse_readme(readme.read_text(encoding="utf-8", errors="replace"))
    if not rows:
        raise UserError(f"{readme}: no record table found (expected a '| # | Record time | ...' table)")
    return [read_record(root, row) for row in rows]


def read_record(root: Path, row: ReadmeRow) -> RecordSource:
    base = dict(number=row.number, readme_time_s=row.time_s, description=row.description)
    if row.log_link is None:
        return RecordSource(**base, log_file=None, code=None, measured_time_s=None,
                            measured_val_loss=None, reason="the README links no log for this record")
    log_file, reason = _resolve_log(root, row.log_link)
    if log_file is None:
        return RecordSource(**base, log_file=None, code=None, measured_time_s=None,
                            measured_val_loss=None, reason=reason)
    code, log = split_record_log(log_file.read_text(encoding="utf-8", errors="replace"))
    seconds, val_loss = measured_time(log)
    reasons = []
    if code is None:
        reasons.append(f"{log_file.name} holds no code (no line of 100 '=' after the code)")
    if seconds is None:
        reasons.append(f"{log_file.name} has no validation line with a train_time")
    return RecordSource(**base, log_file=log_file, code=code, measured_time_s=seconds,
                        measured_val_loss=val_loss, reason="; ".join(reasons))


def _resolve_log(root: Path, link: str) -> tuple[Path | None, str]:
    """The log file a README link points at; a folder link picks its first `.txt` log holding code."""
    relative = re.sub(r"^https?://github\.com/[^/]+/[^/]+/(?:blob|tree)/[^/]+/", "", link).split("#")[0]
    if "://" in relative:
        return None, f"the log link {link} points outside the checkout"
    path = root / relative
    if path.is_file():
        return path, ""
    if path.is_dir():
        for candidate in sorted(path.glob("*.txt")):
            code, _ = split_record_log(candidate.read_text(encoding="utf-8", errors="replace"))
            if code is not None:
                return candidate, ""
        return None, f"the linked folder {relative} holds no .txt log with code"
    return None, f"the linked log {relative} is not in the checkout"
