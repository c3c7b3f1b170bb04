"""The run's own folder: the script copy, run.log (kept output) and result.json."""

from __future__ import annotations

import json
import secrets
import shutil
import time
from pathlib import Path

from runner.result import RunResult
from runner.spec import RunSpec
from speedrun_tui.errors import UserError

LOG_NAME = "run.log"
RESULT_NAME = "result.json"


def prepare(spec: RunSpec) -> tuple[Path, Path]:
    """Create the workspace and copy the script in; returns (workdir, script copy)."""
    workdir = Path(spec.workdir) if spec.workdir else _fresh_dir(Path(spec.script).stem)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        target = workdir / Path(spec.script).name
        if not (target.exists() and target.samefile(spec.script)):
            shutil.copyfile(spec.script, target)
    except OSError as err:
        raise UserError(f"cannot prepare run folder {workdir}: {err.strerror or err}") from err
    return workdir, target


def write_result(workdir: Path, result: RunResult) -> None:
    (workdir / RESULT_NAME).write_text(json.dumps(result.to_json(), indent=1) + "\n")


def _fresh_dir(stem: str) -> Path:
    from speedrun_tui.home import runs_dir

    return runs_dir() / f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}-{secrets.token_hex(3)}"
