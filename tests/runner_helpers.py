"""Fake trainer scripts for runner tests, written into a test's tmp_path, and process checks."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path


def write_script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def trainer(folder: Path, val_losses: list[float | str], *, steps_per_val: int = 5, ms_per_step: float = 10.0,
            with_train_loss: bool = True, exit_code: int = 0, name: str = "train.py") -> Path:
    """A modded-nanogpt-style trainer: a validation line every steps_per_val steps, with the given losses."""
    return write_script(folder, name, f"""
        import sys, time
        vals = {val_losses!r}
        per, ms = {steps_per_val}, {ms_per_step}
        total = per * (len(vals) - 1)
        print("config: a fake trainer", flush=True)
        for i, v in enumerate(vals):
            step = i * per
            print(f"step:{{step}}/{{total}} val_loss:{{v}} train_time:{{step * ms:.0f}}ms step_avg:{{ms:.2f}}ms")
            if step < total:
                for s in range(step + 1, step + per + 1):
                    loss = f" train_loss:{{float(v) + 0.1:.4f}}" if {with_train_loss} else ""
                    print(f"step:{{s}}/{{total}}{{loss}} train_time:{{s * ms:.0f}}ms step_avg:{{ms:.2f}}ms")
        print("peak memory consumption: 1 MiB")
        sys.exit({exit_code})
        """)


def hanger(folder: Path, pid_file: Path, *, ignore_term: bool = False) -> Path:
    """Forks a sleeping child (its pid goes to pid_file), then hangs; optionally ignores SIGTERM."""
    return write_script(folder, "hang.py", f"""
        import signal, subprocess, sys, time
        if {ignore_term}:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                                  "signal.signal(signal.SIGTERM, signal.SIG_IGN) if {ignore_term} else None; "
                                  "time.sleep(600)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print("step:0/100 val_loss:4.0000 train_time:0ms step_avg:nanms", flush=True)
        time.sleep(600)
        """)


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting for a reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def dies_soon(pid: int, within_s: float = 3.0) -> bool:
    """True once the process is gone; SIGKILL is asynchronous, so allow it a moment."""
    deadline = time.monotonic() + within_s
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
