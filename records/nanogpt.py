"""Read a local modded-nanogpt checkout: every record of the README's tables, with its code and time.

The tables come from records/nanogpt_readme.py. A record's `.txt` log holds its code, then a
line of exactly 100 `=`, environment info, another such line, then the training log (some
files also open with a separator line). The measured time is the `train_time` of the log's
last validation line. A link to a folder of logs (records 14-17 of the 124M track) is read as
the record's runs: the code most of them print, and the mean of those runs' times and final
losses. A log without code falls back to the one `train_gpt*.py` beside it. Nothing else is
guessed: a record whose code or log is missing carries the reason instead.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from records.nanogpt_readme import ReadmeRow, parse_readme
from runner.logparse import parse_line
from speedrun_tui.errors import UserError

SEPARATOR = "=" * 100
LOG_SUFFIXES = (".txt", ".log")


@dataclass(frozen=True)
class RecordSource:
    """What the checkout holds for one row of a record table."""

    track: str
    number: int
    readme_time_s: float
    description: str
    log_file: Path | None  # the log the code came from (the first of a folder's runs)
    code: str | None
    measured_time_s: float | None  # train_time of the last validation line; a folder's mean over its runs
    measured_val_loss: float | None
    runs: int = 0  # logs the measured time averages
    code_source: str = ""  # "log", the train_gpt*.py beside it, or "" without code
    retiming: bool = False
    pr_link: str | None = None
    reason: str = ""  # why code or time is missing, or where they were found; empty when plain


@dataclass(frozen=True)
class _Log:
    path: Path
    code: str | None
    time_s: float | None
    val_loss: float | None


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
    """Every row of the checkout's record tables (both tracks, re-timings included), read."""
    root = Path(root).expanduser()
    readme = root / "README.md"
    if not readme.is_file():
        raise UserError(f"{root}: no README.md here; give the path of a modded-nanogpt checkout")
    rows = parse_readme(readme.read_text(encoding="utf-8", errors="replace"))
    if not rows:
        raise UserError(f"{readme}: no record table found (expected a '| # | Record time | ...' table)")
    return [read_record(root, row) for row in rows]


def read_record(root: Path, row: ReadmeRow) -> RecordSource:
    base = dict(track=row.track, number=row.number, readme_time_s=row.time_s, description=row.description,
                retiming=row.retiming, pr_link=row.pr_link)
    if row.log_link is None:
        only_pr = f" (only its PR, {row.pr_link})" if row.pr_link else ""
        return _missing(base, f"the README links no log for this record{only_pr}")
    path, note = _resolve_link(root, row.log_link)
    if path is None:
        return _missing(base, note)
    logs = [_read_log(path)] if path.is_file() else _folder_logs(path)
    if not logs:
        return _missing(base, _empty_folder_reason(root, path))
    runs = _record_runs(logs)
    code, code_source, code_note = _code_of(runs[0])
    times = [log.time_s for log in runs if log.time_s is not None]
    losses = [log.val_loss for log in runs if log.time_s is not None]
    notes = [note, code_note, _runs_note(root, path, runs, logs)]
    if not times:
        notes.append(f"{runs[0].path.name} has no validation line with a train_time")
    return RecordSource(**base, log_file=runs[0].path, code=code, code_source=code_source,
                        measured_time_s=statistics.fmean(times) if times else None,
                        measured_val_loss=statistics.fmean(losses) if losses else None,
                        runs=len(times), reason="; ".join(n for n in notes if n))


def _missing(base: dict, reason: str) -> RecordSource:
    return RecordSource(**base, log_file=None, code=None, measured_time_s=None, measured_val_loss=None,
                        reason=reason)


def _resolve_link(root: Path, link: str) -> tuple[Path | None, str]:
    """The file or folder a README link points at, with a note when it had to be found elsewhere.

    A link whose folder was renamed after the README was written is followed to the one file of
    that name under `records/` (log names are run UUIDs, so one match is that log)."""
    relative = re.sub(r"^https?://github\.com/[^/]+/[^/]+/(?:blob|tree)/[^/]+/", "", link).split("#")[0].rstrip("/")
    if "://" in relative:
        return None, f"the log link {link} points outside the checkout"
    path = root / relative
    if path.exists():
        return path, ""
    found = sorted((root / "records").rglob(path.name)) if (root / "records").is_dir() else []
    if len(found) == 1 and found[0].is_file():
        return found[0], f"the README's link {relative} is stale; read {found[0].relative_to(root)}"
    return None, f"the linked log {relative} is not in the checkout"


def _read_log(path: Path) -> _Log:
    code, log = split_record_log(path.read_text(encoding="utf-8", errors="replace"))
    seconds, val_loss = measured_time(log)
    return _Log(path, code, seconds, val_loss)


def _folder_logs(folder: Path) -> list[_Log]:
    return [_read_log(p) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in LOG_SUFFIXES]


def _record_runs(logs: list[_Log]) -> list[_Log]:
    """The record's runs among a folder's logs: those printing the code most of them print (the
    first log when none prints code); logs of other code are ablations or baselines."""
    counts = Counter(log.code for log in logs if log.code is not None)
    if not counts:
        return logs[:1]
    code = counts.most_common(1)[0][0]
    return [log for log in logs if log.code == code]


def _code_of(log: _Log) -> tuple[str | None, str, str]:
    """(code, its source, a note): printed in its log, else the one train_gpt*.py beside the log."""
    if log.code is not None:
        return log.code, "log", ""
    beside = sorted(log.path.parent.glob("train_gpt*.py"))
    if len(beside) == 1:
        return beside[0].read_text(encoding="utf-8", errors="replace"), beside[0].name, ""
    return None, "", f"{log.path.name} holds no code (no line of 100 '=' after the code)"


def _runs_note(root: Path, path: Path, runs: list[_Log], logs: list[_Log]) -> str:
    if path.is_file():
        return ""
    others = len(logs) - len(runs)
    left = f"; {others} other log(s) left out (without code, or of other code)" if others else ""
    return f"a folder of logs: {len(runs)} run(s) of the record's code in {path.relative_to(root)}{left}"


def _empty_folder_reason(root: Path, folder: Path) -> str:
    subfolders = sorted(p.name for p in folder.iterdir() if p.is_dir())
    where = folder.relative_to(root)
    if subfolders:
        return (f"the linked folder {where} holds no log, only the folders {', '.join(subfolders)}: "
                "which of them is the record's is not said")
    return f"the linked folder {where} holds no .txt or .log file"
