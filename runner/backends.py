"""Pick the backend that runs candidates: `local` (a subprocess here) or `slurm` (a job per run)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from runner.lines import LogLine
from runner.result import RunResult
from runner.spec import RunSpec
from speedrun_tui.errors import UserError

BACKENDS = ("local", "slurm")

Runner = Callable[[RunSpec, Callable[[LogLine], None] | None, threading.Event | None], RunResult]


def get_runner(name: str, options=None) -> Runner:
    """A function `(spec, on_line, cancel) -> RunResult` for the named backend.

    For slurm, `options` is a runner.slurm.SlurmOptions (default: all defaults).
    """
    if name == "local":
        from runner.local import run_local

        return run_local
    if name == "slurm":
        from runner.slurm import SlurmOptions, run_slurm

        chosen = options or SlurmOptions()

        def run_on_slurm(spec: RunSpec, on_line=None, cancel=None) -> RunResult:
            return run_slurm(spec, chosen, on_line, cancel)

        return run_on_slurm
    raise UserError(f"unknown backend {name!r}: use one of {', '.join(BACKENDS)}")


def runner_for(name: str, slurm_config: str | Path | None = None) -> Runner:
    """The named backend, with Slurm options read from `slurm_config` (TOML), else from
    $SPEEDRUN_TUI_HOME/slurm.toml when it exists, else the defaults."""
    if name != "slurm":
        return get_runner(name)
    from runner.slurm import load_options
    from speedrun_tui.home import home_dir

    default = home_dir() / "slurm.toml"
    path = Path(slurm_config) if slurm_config else default if default.is_file() else None
    return get_runner(name, load_options(path))
