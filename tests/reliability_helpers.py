"""Shared pieces of the reliability tests: hostile candidate scripts and a run under a sandbox."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from runner.lines import LogLine
from runner.local import run_local
from runner.result import RunResult
from runner.sandbox import bwrap_problem
from runner.spec import RunSpec

requires_bwrap = pytest.mark.skipif(bool(bwrap_problem()), reason=f"bubblewrap unusable here: {bwrap_problem()}")


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def run(script: Path, sandbox: str, **spec_fields) -> tuple[RunResult, list[LogLine]]:
    """Run `script` under `sandbox`; the result and every line it printed."""
    lines: list[LogLine] = []
    spec_fields.setdefault("timeout_s", 60)
    result = run_local(RunSpec(script=script, sandbox=sandbox, **spec_fields), on_line=lines.append)
    return result, lines


def stdout(lines: list[LogLine]) -> list[str]:
    return [line.text for line in lines if line.stream == "stdout"]


def processes_running(marker: str) -> list[int]:
    """Pids whose command line mentions `marker` (a unique path of the test)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in ("Z", "X") and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


TINY_TRAIN = (Path(__file__).resolve().parent / "reliability_tiny_train.py").read_text()
TINY_TARGET = 2.6  # nats/byte; the tiny model passes it within a few hundred milliseconds of training


def tiny_data(folder: Path) -> dict[str, str]:
    """Train and validation shards of a generated play-like corpus; the env a tiny run needs."""
    from records.shards import write_shard
    from records_helpers import write_corpus

    folder.mkdir(parents=True, exist_ok=True)
    text = write_corpus(folder, 160 * 1024).read_bytes()
    train, val = write_shard(folder / "train.bin", text[:140 * 1024]), write_shard(folder / "val.bin", text[140 * 1024:])
    return {"SPEEDRUN_TRAIN_BIN": str(train), "SPEEDRUN_VAL_BIN": str(val), "SPEEDRUN_TARGET_LOSS": str(TINY_TARGET),
            "OMP_NUM_THREADS": "1"}


def tiny_task(folder: Path, code: str = TINY_TRAIN):
    from records.task import Task

    script = folder / "tiny_train.py"
    script.write_text(code)
    return Task(id="tiny/1", track="micro", record=1, title="tiny trainer", start_script=script,
                start_time_s=0.5, target_time_s=0.25, target_loss=TINY_TARGET)
