"""Hints of the tasks past the paper's 19: the record table's own words, and the two records' code diff.

llm-speedrunner wrote hints for the benchmark's tasks only. A later task K -> K+1 gets, as its
text hint, the README's description of record K+1, labelled "from the record table" in the
file itself, so that neither a person nor a model takes it for one of the benchmark's
hints; and, as its reference, the diff from record K's code to record K+1's.
"""

from __future__ import annotations

from pathlib import Path

from records.nanogpt import RecordSource
from records.nanogpt_readme import TRACK_MEDIUM
from speedrun_tui.codediff import unified_diff

HINT_FILE = "record_table.txt"
DIFF_FILE = "reference.diff"
SOURCE = "record table"
TRACK_NAMES = {TRACK_MEDIUM: "GPT-2 Medium track"}


def write_table_hints(folder: Path, start_code: str, target: RecordSource) -> tuple[dict[str, Path], Path | None]:
    """Write the text hint and, when record K+1 has code, the reference diff; ({"text": file}, diff file)."""
    folder.mkdir(parents=True, exist_ok=True)
    hint = folder / HINT_FILE
    hint.write_text(hint_text(target))
    if target.code is None:
        return {"text": hint}, None
    diff = folder / DIFF_FILE
    diff.write_text(unified_diff(start_code, target.code, name="train_gpt.py"))
    return {"text": hint}, diff


def hint_text(target: RecordSource) -> str:
    track = TRACK_NAMES.get(target.track, "124M track")
    minutes = target.readme_time_s / 60.0
    return (f"From the record table (modded-nanogpt README), not a benchmark hint.\n"
            f"Record {target.number} of the {track} ({minutes:.4g} minutes): {target.description}\n")
