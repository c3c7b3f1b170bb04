"""What a Slurm job runs on its node: the candidate, supervised, its output left in the job's log files.

submitit pickles `run_job` and calls it on the compute node (or in a local
process with the local executor). The child writes straight to the job's stdout
and stderr files, which the submitting side tails as they grow. This side only
enforces the run's timeout, kills the child's whole process group when the job
is interrupted, and reports exit code, peak memory and hardware.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from runner.childenv import child_env
from runner.launch import build_command
from runner.process import signal_group, spawn, wait
from runner.sandbox import confine
from runner.spec import RunSpec
from runner.torchrun import hardware_string

_POLL_S = 0.2


@dataclass(frozen=True)
class JobOutcome:
    exit_code: int | None
    killed_for: str | None  # "timeout" or "cancelled" when this side stopped the child
    peak_rss_mb: float
    wall_s: float
    hardware: str


def run_job(spec: RunSpec, script: str) -> JobOutcome:
    """Run the workspace copy `script` as `spec` says; command and environment are built here,
    on the node, so torchrun counts the GPUs Slurm gave the job."""
    start = time.monotonic()
    workdir = Path(script).parent
    argv, env = confine(spec, workdir, build_command(spec, Path(script)), child_env(spec))
    proc = spawn(argv, cwd=workdir, env=env, capture=False)
    done: dict = {}
    waiter = threading.Thread(target=lambda: done.update(zip(("code", "rss"), wait(proc))), daemon=True)
    waiter.start()
    killed_for = None
    try:
        while waiter.is_alive() and killed_for is None:
            waiter.join(_POLL_S)
            if waiter.is_alive() and time.monotonic() - start >= spec.timeout_s:
                killed_for = "timeout"
    except KeyboardInterrupt:  # how the local executor (and `scancel --signal=INT`) cancels a job
        killed_for = "cancelled"
    if killed_for is not None:
        _stop(proc.pid, waiter, spec.kill_grace_s)
    waiter.join()
    signal_group(proc.pid, signal.SIGKILL)  # whatever the script left running
    return JobOutcome(exit_code=done.get("code"), killed_for=killed_for, peak_rss_mb=done.get("rss", 0.0),
                      wall_s=time.monotonic() - start, hardware=hardware_string(spec))


def _stop(pgid: int, waiter: threading.Thread, grace_s: float) -> None:
    signal_group(pgid, signal.SIGTERM)
    waiter.join(grace_s)
    if waiter.is_alive():
        signal_group(pgid, signal.SIGKILL)
