"""MachineLoad: how busy the machine was while a run was timed, and whether its times are suspect.

A micro run's time is CPU time on this machine's cores. When more threads want a core
than there are cores (other runs of this tool, a build, another guest of the hypervisor),
each thread waits for its time slice and the measured times stretch by an amount that
differs from run to run: a 7 % gain cannot be resolved any more (records/micro/README.md).
The runner records the load around each local run (LoadSampler) so every view can say so.

Everything is read from /proc (Linux): elsewhere the fields are None and nothing is marked.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from speedrun_tui.errors import UserError
from speedrun_tui.jsonfields import from_known_fields

THREADS_ENV = "SPEEDRUN_THREADS"  # a micro run's torch threads (records/catalog.py micro_env)
# The 1-minute load average counts runnable threads. A run that fills its cores reads about
# `cores`; the margin absorbs the runner's own pumping and short bursts (the TUI, a shell)
# that do not hold a core for long. Above it, threads queued for a core most of the minute.
LOAD_MARGIN = 0.5
# Runs x threads above the cores (times this): the runs cannot all hold a core at once, so they
# take turns and each one's clock counts the others' slices. It is known at the start, unlike the
# load average, which needs about a minute to catch up with what the machine does now.
MAX_THREADS_PER_CORE = 1
# The hypervisor gave this share of our CPU time to other guests: above it the spread it adds
# is of the order of the gains a micro rung is calibrated to show (7.5 % run to run at rest).
STEAL_PCT_MAX = 5.0
# Load and steal are only read for runs at least this long (wall seconds). Below it the 1-minute
# average says only what ran before the run, and the steal share rests on a handful of clock
# ticks (one tick of 10 ms is 5 % of a 0.1 s run on 2 cores): a crash or a test, not a timing.
MIN_MEASURED_S = 2.0
OVERSUBSCRIBE_FLAG = "--oversubscribe"


def available_cores() -> int:
    """The cores this process may run on (its affinity mask), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_of(env: dict[str, str]) -> int:
    """A run's torch threads from its environment: SPEEDRUN_THREADS, 1 when unset; 0 (torch's default) is every core."""
    try:
        threads = int(env.get(THREADS_ENV, "1"))
    except ValueError:
        return 1
    return threads if threads >= 1 else available_cores()


def refuse_oversubscription(runs: int, threads: int, *, option: str, cores: int | None = None) -> None:
    """A one-line UserError when `runs` runs of `threads` threads each want more than this machine's cores."""
    cores = cores or available_cores()
    if runs * threads > cores * MAX_THREADS_PER_CORE:
        raise UserError(f"{option} {runs} x {_plural(threads, 'thread')} per run wants {runs * threads} cores, "
                        f"this machine has {cores}: the runs would slow each other and their times be suspect; "
                        f"lower {option} or pass {OVERSUBSCRIBE_FLAG}")


@dataclass
class MachineLoad:
    """The machine around one run: cores, its threads, and the most it was shared (None: not measured)."""

    cores: int
    threads: int = 1  # the run's torch threads (SPEEDRUN_THREADS)
    load_max: float | None = None  # highest 1-minute load average seen from start to exit
    steal_pct: float | None = None  # share of all CPU time the hypervisor stole over the run, in %
    # (both None without /proc, and for a run shorter than MIN_MEASURED_S)
    runs_in_flight: int | None = None  # runs of this tool in flight at the start, this one included

    @property
    def causes(self) -> list[tuple[str, str]]:
        """(one-line reason, short form) for each threshold crossed, most telling first."""
        found = []
        runs = self.runs_in_flight
        if runs is not None and runs * self.threads > self.cores * MAX_THREADS_PER_CORE:
            found.append((f"{runs} runs x {_plural(self.threads, 'thread')} on {_plural(self.cores, 'core')}",
                          f"{runs}x{self.threads} threads/{_plural(self.cores, 'core')}"))
        if self.load_max is not None and self.load_max > self.cores + LOAD_MARGIN:
            found.append((f"load {self.load_max:.1f} on {_plural(self.cores, 'core')}",
                          f"load {self.load_max:.1f}/{_plural(self.cores, 'core')}"))
        if self.steal_pct is not None and self.steal_pct > STEAL_PCT_MAX:
            found.append((f"{self.steal_pct:.0f}% CPU stolen", f"{self.steal_pct:.0f}% stolen"))
        return found

    @property
    def oversubscribed(self) -> bool:
        return bool(self.causes)

    @property
    def reason(self) -> str:
        """Why the run's times are suspect, in one line ("" when they are not)."""
        return ", ".join(long for long, _ in self.causes)

    @property
    def short(self) -> str:
        """The first cause, compact enough for a status bar ("" when none)."""
        causes = self.causes
        return causes[0][1] if causes else ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> MachineLoad | None:
        if not data:
            return None
        return from_known_fields(cls, data)


def busy_note(load: MachineLoad | dict | None) -> str:
    """" (machine busy: REASON; times suspect)" for a run timed on an oversubscribed machine, else ""."""
    if isinstance(load, dict):
        load = MachineLoad.from_json(load)
    if load is None or not load.oversubscribed:
        return ""
    return f" (machine busy: {load.reason}; times suspect)"


class LoadSampler:
    """Follows the machine around one local run: start() before the spawn, sample() every few
    seconds while it runs (one small read), finish() at its exit. Samples taken before the run is
    MIN_MEASURED_S old are not kept (see there)."""

    def __init__(self, workdir: Path, *, threads: int = 1):
        self.workdir = Path(workdir)
        self.threads = threads
        self.cores = available_cores()
        self._load: float | None = None
        self._stat: tuple[int, int] | None = None
        self._runs: int | None = None
        self._started = time.monotonic()

    def start(self) -> None:
        self._started = time.monotonic()
        self._stat = _cpu_steal_total()
        self._runs = runs_in_flight(self.workdir)

    def sample(self) -> None:
        if not self._long_enough():
            return
        load = _load_1min()
        if load is not None and (self._load is None or load > self._load):
            self._load = load

    def finish(self) -> MachineLoad:
        self.sample()
        end = _cpu_steal_total()
        steal = None
        if self._long_enough() and self._stat is not None and end is not None and end[1] > self._stat[1]:
            steal = round(100.0 * (end[0] - self._stat[0]) / (end[1] - self._stat[1]), 2)
        return MachineLoad(cores=self.cores, threads=self.threads, load_max=self._load, steal_pct=steal,
                           runs_in_flight=self._runs)

    def _long_enough(self) -> bool:
        return time.monotonic() - self._started >= MIN_MEASURED_S


def runs_in_flight(workdir: Path) -> int | None:
    """Runs of this tool in flight now, `workdir`'s own included: the distinct folders directly inside
    its parent (runs_dir() for every run of a session, `exec` and `calibrate`) that some process has as
    its working directory. None without /proc."""
    workdir = Path(os.path.abspath(workdir))
    parent = workdir.parent
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return None
    folders = {workdir}
    for pid in pids:
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:  # gone, or another user's (permission)
            continue
        if cwd.endswith(" (deleted)"):
            continue
        path = Path(cwd)
        if path.parent == parent:
            folders.add(path)
    return len(folders)


def _load_1min() -> float | None:
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _cpu_steal_total() -> tuple[int, int] | None:
    """(steal, total) clock ticks of all CPUs since boot, from /proc/stat's `cpu` line; None without it."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 5:
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already in user.
    ticks = [int(v) for v in fields[1:9]]
    steal = ticks[7] if len(ticks) > 7 else 0
    return steal, sum(ticks)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
