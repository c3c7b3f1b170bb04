"""The imported nanogpt catalog: tasks built from the user's checkouts, kept under SPEEDRUN_TUI_HOME.

`import nanogpt` reads every record of both tracks' tables (records/nanogpt.py) and makes one
task per transition: `nanogpt/K` (124M, target 3.28) and `nanogpt-medium/K` (GPT-2 Medium,
target 2.92) start from record K's code and aim at record K+1's time. The paper's 19 tasks
keep their ids, re-measured times and llm-speedrunner's hints, marked as the benchmark set;
later ones take the README's times, the record table's description of record K+1 as a
labelled text hint and the two records' code diff as the reference (records/nanogpt_tablehints.py),
and start from record K's latest re-timing when the README re-timed it. Each task's code and
hints are copied into `$SPEEDRUN_TUI_HOME/catalog/nanogpt/<track>/task_K/`, the task list into
`$SPEEDRUN_TUI_HOME/catalog/nanogpt.json`; `load_tasks()` reads it back. We ship neither code
nor hints: both come from the checkouts the user points at.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from records.nanogpt import RecordSource, read_checkout
from records.nanogpt_hints import HintsTree
from records.nanogpt_readme import TRACK_124M, TRACK_MEDIUM, TRACKS
from records.nanogpt_tablehints import SOURCE as TABLE_SOURCE
from records.nanogpt_tablehints import write_table_hints
from records.task import Task
from speedrun_tui.errors import UserError
from speedrun_tui.home import home_dir

TARGET_LOSS = 3.28
TARGET_LOSSES = {TRACK_124M: TARGET_LOSS, TRACK_MEDIUM: 2.92}
HARDWARE = "8xH100"  # both tracks' records were timed on one node of 8 H100s
CATALOG_VERSION = 2
SPEEDRUNNER_SOURCE = "llm-speedrunner"
# A record's log whose time is this far off its README time is no run of the record as timed.
MEASURED_DRIFT = 0.10

# The benchmark's re-measured 3-run means (seconds), arXiv 2506.22419.
PAPER_TIMES_S: dict[int, float] = {
    1: 2968.3, 2: 2209.9, 3: 1386.1, 4: 1301.7, 5: 949.5, 6: 766.3, 7: 773.1, 8: 662.2, 9: 505.5,
    10: 477.1, 11: 443.0, 12: 317.8, 13: 289.8, 14: 273.1, 15: 241.5, 16: 233.0, 17: 220.4,
    18: 211.8, 19: 199.4, 20: 188.7, 21: 184.3,
}
# Record 6 -> 7 (the PyTorch upgrade) got slower when re-measured: a negative gap, no benchmark task.
TASK_RECORDS: tuple[int, ...] = (1, 2, 3, 4, 5, *range(7, 21))

TimesSource = Literal["paper", "github"]


@dataclass
class ImportedRecord:
    track: str
    number: int
    description: str
    readme_time_s: float
    measured_time_s: float | None
    measured_val_loss: float | None
    runs: int  # logs the measured time averages
    log_file: str | None
    code_source: str  # "log", the train_gpt*.py it came from, "template", or "" when no code was found
    retiming: bool
    reason: str


@dataclass(frozen=True)
class _Transition:
    """Task K of a track: record K's code (its latest re-timing past the paper) -> record K+1's time."""

    track: str
    k: int
    start: RecordSource | None
    target: RecordSource | None

    @property
    def benchmark(self) -> bool:
        return self.track == TRACK_124M and self.k in TASK_RECORDS


def catalog_file() -> Path:
    return home_dir() / "catalog" / "nanogpt.json"


def catalog_dir() -> Path:
    return home_dir() / "catalog" / "nanogpt"


def import_nanogpt(checkout: Path, hints: Path | None = None, times: TimesSource = "paper") -> dict:
    """Build the catalog from the checkouts, replace any previous import, and return what was written."""
    if times not in ("paper", "github"):
        raise UserError(f"unknown --times {times!r}: use paper or github")
    tree = HintsTree(hints) if hints else None
    sources = [_with_template(s, tree) for s in read_checkout(checkout)]
    staging = catalog_dir().with_name("nanogpt.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    transitions = [t for track in TRACKS for t in _transitions(sources, track)]
    tasks = [_task_entry(staging, t, tree, times) for t in transitions]
    starts = [t.start for t in transitions if t.start is not None and t.start.retiming]
    catalog = {
        "version": CATALOG_VERSION,
        "checkout": str(Path(checkout).expanduser().resolve()),
        "hints": str(Path(hints).expanduser().resolve()) if hints else None,
        "times": times,
        "imported_at": time.time(),
        "records": [asdict(_imported(s, any(s is start for start in starts))) for s in sources],
        "tasks": tasks,
    }
    shutil.rmtree(catalog_dir(), ignore_errors=True)
    staging.rename(catalog_dir())
    catalog_file().write_text(json.dumps(catalog, indent=1) + "\n")
    return catalog


def _with_template(source: RecordSource, tree: HintsTree | None) -> RecordSource:
    """A paper record without code in its log takes llm-speedrunner's template of it, when given."""
    if source.code is not None or tree is None or source.track != TRACK_124M or source.retiming:
        return source
    template = tree.for_record(source.number).template
    if template is None:
        return source
    return replace(source, code=template.read_text(), code_source="template",
                   reason=f"{source.reason}; code taken from llm-speedrunner's template")


def _imported(source: RecordSource, starts_task: bool) -> ImportedRecord:
    return ImportedRecord(
        track=source.track, number=source.number, description=source.description,
        readme_time_s=source.readme_time_s, measured_time_s=source.measured_time_s,
        measured_val_loss=source.measured_val_loss, runs=source.runs,
        log_file=str(source.log_file) if source.log_file else None, code_source=source.code_source,
        retiming=source.retiming,
        reason="; ".join(r for r in (_retiming_note(source, starts_task), source.reason, _drift(source)) if r))


def _retiming_note(source: RecordSource, starts_task: bool) -> str:
    if not source.retiming:
        return ""
    use = (f"task {source.track}/{source.number} starts from it" if starts_task
           else "no task starts from it (a later re-timing, or the record itself, does)")
    return f"a re-timing of record {source.number}, no new record: {use}"


def _drift(source: RecordSource) -> str:
    measured, readme = source.measured_time_s, source.readme_time_s
    if measured is None or abs(measured / readme - 1) <= MEASURED_DRIFT:
        return ""
    return (f"its log's time {measured:.1f} s is {measured / readme - 1:+.0%} off the README's {readme:.1f} s: "
            "not a run as the record was timed")


def _transitions(sources: list[RecordSource], track: str) -> list[_Transition]:
    """One per pair of consecutive record numbers of the track's table."""
    firsts = {s.number: s for s in sources if s.track == track and not s.retiming}
    retimed = {s.number: s for s in sources if s.track == track and s.retiming and s.code is not None}
    if not firsts:
        return []
    transitions = []
    for k in range(min(firsts), max(firsts)):
        start = firsts.get(k)
        if start is not None and k in retimed and not (track == TRACK_124M and k in TASK_RECORDS):
            start = retimed[k]  # the later baseline record K+1 was measured against
        transitions.append(_Transition(track, k, start, firsts.get(k + 1)))
    return transitions


def _task_entry(staging: Path, t: _Transition, tree: HintsTree | None, times: TimesSource) -> dict:
    folder = Path(t.track) / f"task_{t.k}"
    entry = {
        "id": f"{t.track}/{t.k}", "track": t.track, "record": t.k,
        "title": f"record {t.k} -> {t.k + 1}: {t.target.description if t.target else '?'}",
        "start_script": str(catalog_dir() / folder / "train_gpt2.py"),
        "start_time_s": None, "target_time_s": None, "target_loss": TARGET_LOSSES[t.track],
        "hint_files": {}, "hint_source": "", "reference_diff_file": None,
        "benchmark": t.benchmark, "hardware": HARDWARE, "available": False, "unavailable_reason": "",
    }
    if t.start is None or t.target is None:
        missing = t.k if t.start is None else t.k + 1
        return {**entry, "unavailable_reason": f"record {missing} is not in the README table"}
    entry["start_time_s"], entry["target_time_s"] = _times(t, times)
    if t.start.code is None:
        return {**entry, "unavailable_reason": f"no code for record {t.k}: {t.start.reason}"}
    (staging / folder).mkdir(parents=True)
    (staging / folder / "train_gpt2.py").write_text(t.start.code)
    entry.update(_stage_hints(staging, folder, t, tree))
    if entry["target_time_s"] >= entry["start_time_s"]:
        return {**entry, "unavailable_reason": f"record {t.k + 1} is not faster than record {t.k}: "
                "no speedup to recover"}
    return {**entry, "available": True}


def _times(t: _Transition, times: TimesSource) -> tuple[float, float]:
    """The paper's re-measured times for its tasks (unless --times github: the logs' own, else the
    README's); the README's record times for every other task."""
    if not t.benchmark:
        return t.start.readme_time_s, t.target.readme_time_s
    if times == "paper":
        return PAPER_TIMES_S[t.k], PAPER_TIMES_S[t.k + 1]
    return tuple(s.measured_time_s if s.measured_time_s is not None else s.readme_time_s
                 for s in (t.start, t.target))


def _stage_hints(staging: Path, folder: Path, t: _Transition, tree: HintsTree | None) -> dict:
    """Copy llm-speedrunner's hints for a paper task, or write the record table's for a later one."""
    hints_folder = folder / "hints"
    if not t.benchmark:
        files, diff = write_table_hints(staging / hints_folder, t.start.code, t.target)
        return {"hint_files": {level: str(catalog_dir() / hints_folder / p.name) for level, p in files.items()},
                "hint_source": TABLE_SOURCE,
                "reference_diff_file": str(catalog_dir() / hints_folder / diff.name) if diff else None}
    hints = tree.for_record(t.k) if tree else None
    if hints is None:
        return {}
    for path in [*hints.hint_files.values(), hints.diff_file]:
        if path is not None:
            (staging / hints_folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staging / hints_folder / path.name)
    return {"hint_files": {level: str(catalog_dir() / hints_folder / p.name) for level, p in hints.hint_files.items()},
            "hint_source": SPEEDRUNNER_SOURCE if hints.hint_files else "",
            "reference_diff_file": str(catalog_dir() / hints_folder / hints.diff_file.name) if hints.diff_file else None}


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


def load_tasks(track: str | None = None) -> list[Task]:
    """The imported tasks of `track` (of both GPU tracks when None), unavailable ones included with
    their reasons; [] before an import."""
    catalog = load_catalog()
    entries = catalog["tasks"] if catalog else []
    return [_task(e) for e in entries if track in (None, e["track"])]


def _task(entry: dict) -> Task:
    return Task(
        id=entry["id"],
        track=entry["track"],
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
        benchmark=entry["benchmark"],
        hardware=entry["hardware"],
        hint_source=entry["hint_source"],
        target_rule="mean_final",
    )
