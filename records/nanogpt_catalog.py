"""The imported nanogpt catalog: tasks built from the user's checkouts, kept under SPEEDRUN_TUI_HOME.

`import nanogpt` copies each record's extracted code and its hint files into
`$SPEEDRUN_TUI_HOME/catalog/nanogpt/record_R/` and writes the task list to
`$SPEEDRUN_TUI_HOME/catalog/nanogpt.json`; `load_tasks()` reads it back. We ship
neither code nor hints: both come from the checkouts the user points at.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from records.nanogpt import RecordSource, read_checkout
from records.nanogpt_hints import HintsTree, RecordHints
from records.task import Task
from speedrun_tui.errors import UserError
from speedrun_tui.home import home_dir

TARGET_LOSS = 3.28
CATALOG_VERSION = 1

# The benchmark's re-measured 3-run means (seconds), arXiv 2506.22419.
PAPER_TIMES_S: dict[int, float] = {
    1: 2968.3, 2: 2209.9, 3: 1386.1, 4: 1301.7, 5: 949.5, 6: 766.3, 7: 773.1, 8: 662.2, 9: 505.5,
    10: 477.1, 11: 443.0, 12: 317.8, 13: 289.8, 14: 273.1, 15: 241.5, 16: 233.0, 17: 220.4,
    18: 211.8, 19: 199.4, 20: 188.7, 21: 184.3,
}
# Record 6 -> 7 (the PyTorch upgrade) got slower when re-measured: a negative gap, no task.
TASK_RECORDS: tuple[int, ...] = (1, 2, 3, 4, 5, *range(7, 21))

TimesSource = Literal["paper", "github"]


@dataclass
class ImportedRecord:
    number: int
    description: str
    readme_time_s: float
    measured_time_s: float | None
    measured_val_loss: float | None
    log_file: str | None
    code_source: str  # "log", "template" or "" when no code was found
    reason: str


def catalog_file() -> Path:
    return home_dir() / "catalog" / "nanogpt.json"


def catalog_dir() -> Path:
    return home_dir() / "catalog" / "nanogpt"


def import_nanogpt(checkout: Path, hints: Path | None = None, times: TimesSource = "paper") -> dict:
    """Build the catalog from the checkouts, replace any previous import, and return what was written."""
    if times not in ("paper", "github"):
        raise UserError(f"unknown --times {times!r}: use paper or github")
    # Records past 21 are in the table too, but no benchmark task starts or ends there.
    sources = {s.number: s for s in read_checkout(checkout) if s.number in PAPER_TIMES_S}
    tree = HintsTree(hints) if hints else None
    staging = catalog_dir().with_name("nanogpt.new")
    shutil.rmtree(staging, ignore_errors=True)
    records = [_stage_record(staging, s, tree.for_record(n) if tree else None) for n, s in sorted(sources.items())]
    tasks = [_task_entry(staging, n, records, tree, times) for n in TASK_RECORDS]
    catalog = {
        "version": CATALOG_VERSION,
        "checkout": str(Path(checkout).expanduser().resolve()),
        "hints": str(Path(hints).expanduser().resolve()) if hints else None,
        "times": times,
        "imported_at": time.time(),
        "records": [asdict(r) for r in records],
        "tasks": tasks,
    }
    shutil.rmtree(catalog_dir(), ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    staging.rename(catalog_dir())
    catalog_file().write_text(json.dumps(catalog, indent=1) + "\n")
    return catalog


def _stage_record(staging: Path, source: RecordSource, hints: RecordHints | None) -> ImportedRecord:
    """Copy the record's code (from its log, else the hints template) and hint files into staging."""
    folder = staging / f"record_{source.number}"
    code, code_source, reason = source.code, "log" if source.code else "", source.reason
    if code is None and hints is not None and hints.template is not None:
        code, code_source = hints.template.read_text(), "template"
        reason = f"{reason}; code taken from llm-speedrunner's template"
    if code is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "train_gpt2.py").write_text(code)
    if hints is not None:
        for path in [*hints.hint_files.values(), hints.diff_file]:
            if path is not None:
                (folder / "hints").mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, folder / "hints" / path.name)
    return ImportedRecord(
        number=source.number, description=source.description, readme_time_s=source.readme_time_s,
        measured_time_s=source.measured_time_s, measured_val_loss=source.measured_val_loss,
        log_file=str(source.log_file) if source.log_file else None, code_source=code_source, reason=reason,
    )


def _task_entry(staging: Path, k: int, records: list[ImportedRecord], tree: HintsTree | None,
                times: TimesSource) -> dict:
    by_number = {r.number: r for r in records}
    start, target = by_number.get(k), by_number.get(k + 1)
    folder = staging / f"record_{k}"
    hints = tree.for_record(k) if tree else None
    entry = {
        "id": f"nanogpt/{k}",
        "record": k,
        "title": f"record {k} -> {k + 1}: {target.description if target else '?'}",
        "start_script": str(catalog_dir() / f"record_{k}" / "train_gpt2.py"),
        "start_time_s": None,
        "target_time_s": None,
        "target_loss": TARGET_LOSS,
        "hint_files": {level: str(catalog_dir() / f"record_{k}" / "hints" / p.name)
                       for level, p in (hints.hint_files.items() if hints else [])},
        "reference_diff_file": (str(catalog_dir() / f"record_{k}" / "hints" / hints.diff_file.name)
                                if hints and hints.diff_file else None),
        "available": False,
        "unavailable_reason": "",
    }
    if start is None or target is None:
        missing = k if start is None else k + 1
        entry["unavailable_reason"] = f"record {missing} is not in the README table"
        return entry
    entry["start_time_s"], entry["target_time_s"] = _time(start, times), _time(target, times)
    if not (folder / "train_gpt2.py").is_file():
        entry["unavailable_reason"] = f"no code for record {k}: {start.reason}"
        return entry
    entry["available"] = True
    return entry


def _time(record: ImportedRecord, times: TimesSource) -> float:
    if times == "paper" and record.number in PAPER_TIMES_S:
        return PAPER_TIMES_S[record.number]
    return record.measured_time_s if record.measured_time_s is not None else record.readme_time_s


def load_catalog() -> dict | None:
    """The imported catalog, or None when `import nanogpt` has not run."""
    path = catalog_file()
    if not path.is_file():
        return None
    try:
        catalog = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: damaged imported catalog ({err.msg}); run `speedrun-tui import nanogpt` again") from err
    if catalog.get("version") != CATALOG_VERSION:
        raise UserError(f"{path}: catalog version {catalog.get('version')}; run `speedrun-tui import nanogpt` again")
    return catalog


def load_tasks() -> list[Task]:
    """The imported nanogpt tasks (unavailable ones included, with their reasons); [] before an import."""
    catalog = load_catalog()
    return [_task(entry) for entry in catalog["tasks"]] if catalog else []


def _task(entry: dict) -> Task:
    return Task(
        id=entry["id"],
        track="nanogpt",
        record=entry["record"],
        title=entry["title"],
        start_script=Path(entry["start_script"]),
        start_time_s=entry["start_time_s"] or 0.0,
        target_time_s=entry["target_time_s"] or 0.0,
        target_loss=entry["target_loss"],
        hint_files={level: Path(p) for level, p in entry["hint_files"].items()},
        reference_diff_file=Path(entry["reference_diff_file"]) if entry["reference_diff_file"] else None,
        launcher="torchrun",
        available=entry["available"],
        unavailable_reason=entry["unavailable_reason"],
    )
