"""Micro rungs shrunk to run in seconds, on a generated corpus, for the harness's checks.

The rungs keep their code; only four settings shrink (two layers of width 32, windows
of 64 bytes, 4,096 validation tokens), so a rung reaches TARGET_LOSS on the generated
corpus in about 80 steps. The harness reads seq_len and val_tokens from the (shrunk)
start code, as it reads them from a real rung.
"""

from __future__ import annotations

import re
from pathlib import Path

from records.ladder import RUNGS
from records.task import Task

SMALL = {"n_layer": 2, "d_model": 32, "seq_len": 64, "val_tokens": 4096}
TARGET_LOSS = 2.0  # on write_corpus's text: about 70-80 steps of a shrunk rung
# A start code may carry a handicap, so that a candidate removing it is faster than the start code
# (and, in a session, gets the harness's checks: only such nodes can score). 48 matmuls are about
# two shrunk steps, so the start code needs 3x a candidate's CPU time alone: a margin that two runs
# side by side on a 2-core machine (up to 1.5x each: shared caches) and a host drifting 10-20 %
# between minutes (the AVX512 Xeon VM: 16 matmuls left the gain inside its noise) do not cross.
HANDICAP = "    _handicap = [torch.ones(256, 256) @ torch.ones(256, 256) for _ in range(48)]  # the start code's\n"
STEP_ANCHOR = "    x, y = sampler.next_batch()\n"
REMOVE_HANDICAP = f"<<<<<<< SEARCH\n{HANDICAP}=======\n>>>>>>> REPLACE\n"


def shrink(code: str) -> str:
    for name, value in SMALL.items():
        code, count = re.subn(rf"^(\s*{name}\s*:\s*int\s*=\s*)\d+", rf"\g<1>{value}", code, flags=re.MULTILINE)
        assert count == 1, f"no `{name}: int = N` setting to shrink"
    return code


def rung_code(number: int) -> str:
    return shrink(RUNGS[number - 1].script.read_text())


def handicapped(code: str) -> str:
    assert code.count(STEP_ANCHOR) == 1
    return code.replace(STEP_ANCHOR, HANDICAP + STEP_ANCHOR)


def micro_home_data(folder: Path) -> dict[str, str]:
    """Build the micro shards (train, val, held-out) from a generated corpus under the test's
    SPEEDRUN_TUI_HOME; the run environment of a one-thread run at TARGET_LOSS."""
    from records.catalog import micro_env
    from records.microdata import build_micro
    from records_helpers import write_corpus

    folder.mkdir(parents=True, exist_ok=True)
    build_micro([write_corpus(folder)], log=lambda message: None)
    return micro_env(seed=0, threads=1, target_loss=TARGET_LOSS)


def shrunk_task(folder: Path, code: str, *, target_code: str | None = None, task_id: str = "micro/8") -> Task:
    """A task whose start code is `code`; `target_code`, if given, is the next record's (timed in sessions)."""
    from records.microdata import heldout_path

    folder.mkdir(parents=True, exist_ok=True)
    script, target = folder / "train.py", folder / "next.py"
    script.write_text(code)
    if target_code is not None:
        target.write_text(target_code)
    return Task(id=task_id, track="micro", record=int(task_id.split("/")[1]), title="shrunk rung",
                start_script=script, start_time_s=3.0, target_time_s=2.0, target_loss=TARGET_LOSS,
                heldout_bin=heldout_path(), target_script=target if target_code is not None else None)
