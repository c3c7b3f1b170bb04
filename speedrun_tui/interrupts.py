"""Ctrl-C must stop a process however it was started."""

from __future__ import annotations

import signal
import threading


def restore_ctrl_c() -> None:
    """Make SIGINT raise KeyboardInterrupt again when this process inherited it ignored.

    A process started in the background (`nohup`, `cmd &` in a script, some CI runners and
    schedulers) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt: Ctrl-C,
    `kill -INT` and a local Slurm job's cancel (submitit interrupts it) would do nothing."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
