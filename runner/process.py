"""Start a child in its own process group, wait for it with its rusage, kill its whole group.

The child is a session leader (start_new_session), so one killpg reaches every
process it forks (unless one of them starts its own session on purpose). On Linux
it also gets PR_SET_PDEATHSIG=SIGKILL, so it dies if its controller dies. That
signal fires when the *thread* that spawned the child exits: spawn from a thread
that lives for the whole run (run_local blocks its calling thread until the end).
The death signal is not inherited by the processes the child forks (torchrun's
workers), so a GroupWatchdog kills the whole group when the controller dies.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def spawn(argv: list[str], *, cwd: Path, env: dict[str, str], capture: bool = True) -> subprocess.Popen:
    """The child, running, with no stdin and binary stdout/stderr pipes (or, with capture=False,
    our own stdout/stderr: a Slurm job's log files)."""
    output = subprocess.PIPE if capture else None
    return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=output, stderr=output,
                            start_new_session=True, preexec_fn=_die_with_parent(os.getpid()))


def wait(proc: subprocess.Popen) -> tuple[int, float, float]:
    """Block until the child exits; (exit code, peak RSS in MB, CPU seconds), each of it and its
    reaped descendants.

    The exit code follows Popen: negative signal number when killed by a signal.
    """
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss from wait4 covers the child and the descendants it waited for; KiB on Linux.
    divisor = 2**20 if sys.platform == "darwin" else 2**10
    return proc.returncode, usage.ru_maxrss / divisor, usage.ru_utime + usage.ru_stime


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send sig to the whole group; False when nobody is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed credentials (setuid); nothing we may do
        return False
    return True


class GroupWatchdog:
    """A tiny shell, outside the group, that SIGKILLs the group if this process dies first.

    It blocks reading a pipe only we hold: `release` says goodbye on it, while our
    death (even by SIGKILL) closes it unread, and then the shell kills the group.
    """

    def __init__(self, pgid: int):
        self._proc = subprocess.Popen(["/bin/sh", "-c", "read -r _ || kill -9 -$1 2>/dev/null", "watchdog", str(pgid)],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)

    def release(self) -> None:
        try:
            self._proc.stdin.write(b"done\n")
            self._proc.stdin.close()
        except BrokenPipeError:  # someone killed the watchdog; nothing left to release
            pass
        self._proc.wait()


def _die_with_parent(parent_pid: int):
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def set_pdeathsig() -> None:  # runs in the child between fork and exec
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return set_pdeathsig
