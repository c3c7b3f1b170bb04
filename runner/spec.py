"""RunSpec: everything a backend needs to run one candidate script."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from speedrun_tui.errors import UserError


@dataclass
class RunSpec:
    script: Path  # source file, copied into workdir (keeps its basename)
    workdir: Path | None = None  # default: a fresh folder under speedrun_tui.home.runs_dir()
    target_loss: float | None = None
    timeout_s: float = 3600.0
    python: str = sys.executable
    launcher: Literal["python", "torchrun"] = "python"
    nproc_per_node: int | None = None  # torchrun only; None = visible GPUs
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # extra child env (data paths, seed, threads)
    keep_bytes: int = 8 * 2**20  # output kept (memory and run.log) before lines are dropped
    kill_grace_s: float = 5.0  # between SIGTERM and SIGKILL on timeout / cancel
    sandbox: str = "off"  # auto, bwrap, rlimits or off (runner/sandbox.py); sessions ask for auto
    sandbox_hide: list[str] = field(default_factory=list)  # more paths the sandbox hides (the session DB)
    # The harness verifies the model a run saves at its first target claim, so the run must end right
    # after it: more CPU than this after the claim and it is killed (None: no limit).
    claim_grace_s: float | None = None
    stop_after_vals: int | None = None  # end the run after this many validation lines (the seed check)
    clock: str = "cpu"  # what its claimed train_time is checked against: cpu (the tree's CPU) or wall
    memory_limit_mb: int | None = None  # address-space limit under a sandbox; None: physical memory (CPU runs)

    def check(self) -> None:
        """Raise a one-line UserError for a spec that cannot run; do nothing otherwise."""
        script = Path(self.script)
        if not script.exists():
            raise UserError(f"script not found: {script}")
        if not script.is_file():
            raise UserError(f"script is not a file: {script}")
        if not os.access(script, os.R_OK):
            raise UserError(f"script is not readable: {script}")
        if not self.timeout_s > 0:
            raise UserError(f"timeout must be a positive number of seconds, got {self.timeout_s}")
        if self.kill_grace_s < 0:
            raise UserError(f"kill grace must be >= 0 seconds, got {self.kill_grace_s}")
        if self.keep_bytes < 1024:
            raise UserError(f"keep_bytes must be at least 1024, got {self.keep_bytes}")
        if self.launcher not in ("python", "torchrun"):
            raise UserError(f"unknown launcher {self.launcher!r}: use python or torchrun")
        if self.sandbox not in ("auto", "bwrap", "rlimits", "off"):
            raise UserError(f"unknown sandbox {self.sandbox!r}: use auto, bwrap, rlimits or off")
        if self.clock not in ("cpu", "wall"):
            raise UserError(f"unknown clock {self.clock!r}: use cpu or wall")
        if self.nproc_per_node is not None and self.nproc_per_node < 1:
            raise UserError(f"nproc_per_node must be >= 1, got {self.nproc_per_node}")
