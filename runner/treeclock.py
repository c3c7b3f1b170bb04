"""The harness's own clock: CPU time of a run's whole process tree, read from /proc.

A candidate measures its `train_time` itself, so it can scale it, pause it while it
trains, or train in a child process its clock does not see. The runner samples the
CPU time of every process of the run (each one's own time plus that of the children
it reaped) whenever a metric line arrives, so the claimed clock can be checked
against work the candidate cannot hide (records/integrity.py judges it).

A process belongs to the run when it descends from the spawned child or shares its
session (the child is a session leader). Under bubblewrap every process lives in the
run's PID namespace, whose init reaps orphans, so nothing escapes the count; without
it, a process that both double-forks and starts its own session does. Linux only:
elsewhere `tree_cpu_s` is None and the clock checks say they could not run.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

from speedrun_tui.jsonfields import from_known_fields

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
_MIN_GAP_S = 0.05  # training lines closer than this to the last sample share its interval
MARK_PREFIX = "speedrun-mark "  # harness scripts print `speedrun-mark NAME` to have the clock read there


def tree_cpu_s(root: int) -> float | None:
    """User + system CPU seconds of `root`'s process tree so far; None without /proc."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    stats = {}
    for name in names:
        if name.isdigit():
            fields = _stat(name)
            if fields is not None:
                stats[int(name)] = fields
    members = _members(root, stats)
    ticks = sum(sum(stats[pid][2:6]) for pid in members)
    return ticks * _TICK_S


def _stat(pid: str) -> tuple[int, ...] | None:
    """(ppid, session, utime, stime, cutime, cstime) in clock ticks, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    rest = raw[raw.rfind(b")") + 2:].split()  # the command name may hold spaces and parentheses
    return int(rest[1]), int(rest[3]), int(rest[11]), int(rest[12]), int(rest[13]), int(rest[14])


def _members(root: int, stats: dict[int, tuple[int, ...]]) -> set[int]:
    members = {pid for pid, fields in stats.items() if pid == root or fields[1] == root}
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(fields[0], []).append(pid)
    todo = list(members)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in members:
                members.add(child)
                todo.append(child)
    return members


@dataclass
class HarnessClock:
    """What the harness measured of a run, next to what the run claimed (seconds).

    `clock` is what the claimed train_time is compared with: "cpu" (the tree's CPU
    time, micro runs on CPU) or "wall" (GPU runs). Training intervals end at a
    training line: the run says it trained the whole time. Validation intervals end at
    a validation line; what the run does not count there is validation (or hidden work).
    """

    clock: str
    first_s: float | None = None  # harness clock at the first metric line (start-up and the first validation)
    first_claimed_s: float = 0.0
    train_s: float = 0.0  # harness clock over training intervals
    train_claimed_s: float = 0.0  # the run's own clock over the same intervals
    val_unclaimed_s: float = 0.0  # harness minus claimed, over validation intervals
    val_intervals: int = 0
    claim_s: float | None = None  # harness clock at the first validation line at or below the target
    claim_claimed_s: float | None = None
    claim_val_intervals: int = 0  # validation intervals up to the claim
    claim_val_unclaimed_s: float = 0.0
    after_claim_s: float | None = None  # CPU the run spent after its claim, up to its end
    total_cpu_s: float | None = None  # the whole tree, at exit (wait4)
    marks: dict[str, float] = field(default_factory=dict)  # harness clock at `speedrun-mark NAME` lines

    @property
    def train_ratio(self) -> float | None:
        """Harness time per claimed second over the training intervals (1.0 for an honest clock)."""
        return self.train_s / self.train_claimed_s if self.train_claimed_s > 0 else None

    @property
    def startup_s(self) -> float | None:
        """Unclaimed time before the first metric line: imports, data, model, the first validation."""
        return None if self.first_s is None else self.first_s - self.first_claimed_s

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> HarnessClock | None:
        if not data:
            return None
        return from_known_fields(cls, data)


class ClockTrail:
    """Samples the tree's clock at metric and mark lines and keeps the running account."""

    def __init__(self, root: int, clock: str, target_loss: float | None):
        self.root, self.target = root, target_loss
        self.result = HarnessClock(clock=clock)
        self._started = time.monotonic()
        self._last: tuple[float, float] | None = None  # (harness, claimed) at the last sample
        self._last_at = 0.0
        self._working = True
        self._after_claim = 0.0

    def now(self) -> float | None:
        if self.result.clock == "wall":
            return time.monotonic() - self._started
        value = tree_cpu_s(self.root) if self._working else None
        self._working = value is not None
        return value

    def mark(self, name: str) -> None:
        value = self.now()
        if value is not None:
            self.result.marks[name[:40]] = round(value, 3)

    def metric(self, kind: str, claimed_ms: float | None, val_loss: float | None) -> None:
        claims = (kind == "val" and self.result.claim_s is None and self.target is not None
                  and val_loss is not None and val_loss <= self.target)
        if claimed_ms is None or (kind == "train" and time.monotonic() - self._last_at < _MIN_GAP_S):
            return
        value = self.now()
        if value is None:
            return
        self._last_at = time.monotonic()
        claimed = claimed_ms / 1000.0
        self._account(kind, value, claimed)
        if claims:
            r = self.result
            r.claim_s, r.claim_claimed_s = value, claimed
            r.claim_val_intervals, r.claim_val_unclaimed_s = r.val_intervals, r.val_unclaimed_s

    def _account(self, kind: str, value: float, claimed: float) -> None:
        r = self.result
        if self._last is None:
            r.first_s, r.first_claimed_s = value, claimed
        elif claimed < self._last[1]:
            pass  # the run restarted its clock (modded-nanogpt does after its warm-up steps): not an interval
        elif kind == "train":
            r.train_s += value - self._last[0]
            r.train_claimed_s += claimed - self._last[1]
        else:
            r.val_unclaimed_s += (value - self._last[0]) - (claimed - self._last[1])
            r.val_intervals += 1
        self._last = (value, claimed)

    def after_claim(self) -> float | None:
        """CPU spent since the target claim, read now (the runner polls it against the claim grace)."""
        value = self.now() if self.result.claim_s is not None and self.result.clock == "cpu" else None
        if value is None:
            return None
        self._after_claim = max(self._after_claim, value - self.result.claim_s)
        return self._after_claim

    def finish(self, total_cpu_s: float | None) -> HarnessClock:
        """The account at exit. wait4's total covers the tree only where the spawned process reaps it
        (not through bubblewrap's monitor), so the last poll after the claim counts too."""
        r = self.result
        r.total_cpu_s = None if total_cpu_s is None else round(total_cpu_s, 3)
        if r.claim_s is not None and r.clock == "cpu":
            reaped = total_cpu_s - r.claim_s if total_cpu_s is not None else 0.0
            r.after_claim_s = round(max(0.0, self._after_claim, reaped), 3)
        return r
