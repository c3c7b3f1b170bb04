"""Sessions against the wall clock: durations as people type them, and the best FSR by elapsed time.

People and agents are compared at equal time as well as at equal node counts (RE-Bench
found the ranking flips between 2 and 32 hours). A session's elapsed time is the time
it ran: the stretch from its start (or a resume) to its end, summed, so a night between
a stop and a resume does not count (SessionState.elapsed_s).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from sessions.events import Event
from sessions.fsr import compute_fsr
from sessions.scoring import Estimate, bootstrap, strata_mean
from sessions.state import SessionState
from speedrun_tui.errors import UserError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smh])")


def parse_duration(text: str, *, option: str = "duration") -> float:
    """'90s', '30m', '1h30m', '2h' -> seconds; a one-line UserError naming `option` otherwise."""
    cleaned = text.strip().lower()
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise UserError(f"{option}: {text!r} is not a duration; write e.g. 90s, 30m, 1h30m")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise UserError(f"{option}: {text!r} must be longer than 0")
    return seconds


def format_duration(seconds: float | None) -> str:
    """3600 -> '1h', 5400 -> '1h30m', 90 -> '1m30s'."""
    if seconds is None:
        return "-"
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def best_fsr_by(events: Iterable[Event], at_s: list[float]) -> list[float | None]:
    """For each elapsed time in `at_s`, the search FSR of the best node scored by then (0 before any
    node beats the start code); None where the session did not run that long and its search had
    not ended (stopped, or cut short by its time budget: its later score is unknown)."""
    state = SessionState("")
    reached: list[tuple[float, float | None, float | None]] = []  # (elapsed, root's time, best time) per score
    for event in events:
        state.apply(event)
        if event.kind == "node_scored":
            root = state.nodes.get(0)
            reached.append((state.elapsed_s(event.ts), root.time_s if root else None, state.best_time_s))
    if state.started is None:
        return [None for _ in at_s]
    done = state.finished is not None and state.finished.status == "finished"
    ran_s = state.elapsed_s()
    return [_fsr_at(state, reached, t) if done or t <= ran_s else None for t in at_s]


def _fsr_at(state: SessionState, reached: list[tuple[float, float | None, float | None]], at: float) -> float:
    """The FSR of the last score by `at`; the next record timed at the end counts for every time."""
    before = [(root_s, best_s) for t, root_s, best_s in reached if t <= at]
    if not before:
        return 0.0
    started = state.started
    timed = state.target_timing.time_s if state.target_timing is not None else None
    times = compute_fsr(started.start_time_s, started.target_time_s, *before[-1], timed_target_s=timed,
                        provisional=bool(started.config.get("provisional")))
    return times.fsr or 0.0


@dataclass
class AnytimeGroup:
    """One group of sessions (one value of `compare --by`): its best FSR by each elapsed time."""

    config: dict[str, str]
    sessions: int
    at: list[Estimate | None]  # per time: the mean over the sessions that ran that long, 95 % CI
    counted: list[int]  # per time: how many sessions that mean is over

    def to_json(self) -> dict:
        return {"config": self.config, "sessions": self.sessions, "counted": self.counted,
                "at": [asdict(e) if e is not None else None for e in self.at]}


def fsr_over_time(store, session_ids: Iterable[str], *, by: str, at_s: list[float], seed: int = 0) -> list[AnytimeGroup]:
    """Sessions grouped by their `by` field (model, scaffold, hints, mode), each group's best FSR by each time."""
    rows: dict[str, list[list[float | None]]] = {}
    for session_id in session_ids:
        events = store.read_events(session_id, skip_kinds=("log_lines", "metric"))
        if events and events[0].kind == "session_started":
            rows.setdefault(str(getattr(events[0], by)), []).append(best_fsr_by(events, at_s))
    groups = []
    for key in sorted(rows):
        columns = [[row[i] for row in rows[key] if row[i] is not None] for i in range(len(at_s))]
        groups.append(AnytimeGroup({by: key}, len(rows[key]),
                                   [bootstrap([c], strata_mean, seed=seed) if c else None for c in columns],
                                   [len(c) for c in columns]))
    return groups


def fsr_over_span(store, states: list[SessionState], *, by: str, points: int = 24,
                  seed: int = 0) -> tuple[list[AnytimeGroup], list[float]]:
    """fsr_over_time at `points` times evenly spread up to the longest session's running time: the
    scores screen's and the HTML report's chart of FSR against elapsed time."""
    span = max((state.elapsed_s() for state in states if state.started), default=0.0)
    if span <= 0:
        return [], []
    at_s = [span * (i + 1) / points for i in range(points)]
    return fsr_over_time(store, [state.session_id for state in states], by=by, at_s=at_s, seed=seed), at_s
