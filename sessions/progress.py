"""The progress of the runs in flight, reduced from a session's events.

Headless, plain and the home screen all show what this module computes: per run, its node,
step/total, the latest val_loss against the target, the time so far and an estimate of what
is left. The views only render a RunView, so the three say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sessions import events as ev
from sessions.state import SessionState

# What a session's progress needs besides metrics; a reader that has no live stream (the home
# screen) reads these, then the metrics of the runs still going (see load_runs).
RUN_KINDS = (ev.SessionStarted.kind, ev.SessionResumed.kind, ev.SessionFinished.kind, ev.RunStarted.kind,
             ev.RunFinished.kind, ev.NodeScored.kind, ev.TargetTimed.kind)
TARGET_LABEL = "next record's timing"  # a run without a node: the session times the next record's code


@dataclass(frozen=True)
class SessionTimes:
    """Training times to the target, in seconds: the catalog's, and the start code's measured here."""

    target_loss: float | None = None
    start_time_s: float | None = None
    target_time_s: float | None = None
    root_time_s: float | None = None

    def expected_s(self, node: int | None) -> float | None:
        """How long a run is expected to train. A candidate is a variant of the start code, so the
        root's time on this machine is the best guess; the next record's catalog time is rescaled by
        how this machine compares with the catalog's."""
        if node is not None:
            return self.root_time_s or self.start_time_s
        if self.target_time_s and self.root_time_s and self.start_time_s:
            return self.target_time_s * self.root_time_s / self.start_time_s
        return self.target_time_s


@dataclass(frozen=True)
class Estimate:
    """Training time left, in seconds."""

    seconds: float
    bound: bool  # True: an upper bound (the run ends at its last step, or earlier at the target)

    def text(self) -> str:
        return f"{'at most' if self.bound else 'about'} {duration(self.seconds)} left"


@dataclass(frozen=True)
class RunView:
    """One run in flight as text: the fields every view shows."""

    label: str
    steps: str
    val_loss: str  # empty before the first validation
    target: str  # empty when the session has no target loss
    elapsed: str
    left: str  # empty without an estimate

    @property
    def loss(self) -> str:
        return f"{self.val_loss} ({self.target})" if self.val_loss and self.target else self.val_loss or self.target

    def line(self) -> str:
        return " · ".join(part for part in (self.label, self.steps, self.loss, self.elapsed, self.left) if part)

    def short(self) -> str:
        """Node, step/total and val_loss: what fits a table cell."""
        return " · ".join(part for part in (self.label, self.steps, self.val_loss) if part)


@dataclass(frozen=True)
class RunProgress:
    """What the events say of one run in flight; `view` turns it into text at a given moment."""

    node: int | None  # None: the next record's timing
    started_ts: float
    started_seq: int | None = None
    target_loss: float | None = None
    expected_s: float | None = None
    step: int | None = None
    total_steps: int | None = None
    train_s: float | None = None  # the training clock at `step`
    metric_ts: float | None = None
    val_loss: float | None = None

    def with_metric(self, metric: ev.Metric) -> RunProgress:
        train_s = metric.train_time_ms / 1000.0 if metric.train_time_ms is not None else self.train_s
        return replace(self, step=metric.step, total_steps=metric.total_steps or self.total_steps, train_s=train_s,
                       metric_ts=metric.ts, val_loss=self.val_loss if metric.val_loss is None else metric.val_loss)

    def estimate(self) -> Estimate | None:
        """What is left: the expected time when it is known and still ahead, else (and never more
        than) the steps left at the rate so far, an upper bound since the run stops at the target."""
        bound = self._steps_left_s()
        if self.expected_s is not None:
            expected = self.expected_s - (self.train_s or 0.0)
            if expected > 0 and (bound is None or expected <= bound):
                return Estimate(expected, bound=False)
        return Estimate(bound, bound=True) if bound is not None else None

    def _steps_left_s(self) -> float | None:
        if not self.step or self.total_steps is None:
            return None
        # The training clock excludes validation and start-up; without it, the wall clock since the start.
        spent = self.train_s if self.train_s else (self.metric_ts or self.started_ts) - self.started_ts
        return max(self.total_steps - self.step, 0) * spent / self.step

    def view(self, now: float) -> RunView:
        if self.step is None:
            steps = "starting"
        else:
            steps = f"step {self.step}" + (f"/{self.total_steps}" if self.total_steps else "")
        estimate = self.estimate()
        return RunView(label=TARGET_LABEL if self.node is None else f"node {self.node}", steps=steps,
                       val_loss="" if self.val_loss is None else f"val_loss {self.val_loss:.4f}",
                       target="" if self.target_loss is None else f"target {self.target_loss:g}",
                       elapsed=duration(max(now - self.started_ts, 0.0)), left=estimate.text() if estimate else "")


class ProgressTracker:
    """Applies events in order; `runs` is replaced, never mutated, so another thread may read it."""

    def __init__(self):
        self.times = SessionTimes()
        self.runs: tuple[RunProgress, ...] = ()

    @classmethod
    def from_state(cls, state: SessionState) -> ProgressTracker:
        """For a session taken up again: its times as the reducer knows them."""
        tracker = cls()
        if state.started is not None:
            tracker.apply(state.started)
        root = state.nodes.get(0)
        tracker.times = replace(tracker.times, root_time_s=root.time_s if root is not None else None)
        return tracker

    def apply(self, event: ev.Event) -> None:
        match event:
            case ev.SessionStarted():
                self.times = replace(self.times, target_loss=event.target_loss, start_time_s=event.start_time_s,
                                     target_time_s=event.target_time_s)
            case ev.NodeScored(node=0, status="valid"):
                self.times = replace(self.times, root_time_s=event.time_s)
            case ev.RunStarted():
                run = RunProgress(node=event.node, started_ts=event.ts, started_seq=event.seq,
                                  target_loss=self.times.target_loss, expected_s=self.times.expected_s(event.node))
                self.runs = (*self._others(event.node), run)
            case ev.Metric():
                self.runs = tuple(run.with_metric(event) if run.node == event.node else run for run in self.runs)
            case ev.RunFinished() | ev.TargetTimed():
                self.runs = self._others(event.node)
            case ev.SessionFinished() | ev.SessionResumed():
                self.runs = ()  # a stopped run records no end; a resumed session starts its runs again

    def _others(self, node: int | None) -> tuple[RunProgress, ...]:
        return tuple(run for run in self.runs if run.node != node)

    def views(self, now: float) -> list[RunView]:
        return [run.view(now) for run in self.runs]


def load_runs(store, session_id: str) -> tuple[RunProgress, ...]:
    """The runs in flight of a stored session (another process may be writing it): its few run
    events, then only the metrics since the oldest run still going. A store read: keep it off a UI thread."""
    events = store.read_events(session_id, kinds=RUN_KINDS)
    going = _replayed(events).runs
    if not going:
        return ()
    since = min(run.started_seq or 0 for run in going)
    metrics = store.read_events(session_id, since, kinds=(ev.Metric.kind,))
    return _replayed(sorted(events + metrics, key=lambda event: event.seq)).runs


def _replayed(events: list[ev.Event]) -> ProgressTracker:
    tracker = ProgressTracker()
    for event in events:
        tracker.apply(event)
    return tracker


def duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"
