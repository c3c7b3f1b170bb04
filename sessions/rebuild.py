"""Rebuilding a session's state at any event, fast enough to step back and forth.

States are checkpointed in memory every `every` events as they are computed. A far
jump reads everything but log lines (most of a session, of which the state keeps only
each node's last LOG_CAP) and fills in the logs from each node's tail afterwards;
checkpoints passed on the way are kept with their logs still to fill in, on first use.
"""

from __future__ import annotations

import threading

from sessions import events as ev
from sessions import state as state_module
from sessions.state import SessionState
from sessions.store import Store


class StateRebuilder:
    def __init__(self, store: Store, session_id: str, every: int):
        self._store = store
        self._sid = session_id
        self._every = every
        self._checkpoints: dict[int, SessionState] = {0: SessionState(session_id)}
        # count -> (where the jump that passed it started, state with logs not yet filled in)
        self._unfilled: dict[int, tuple[int, SessionState]] = {}
        self._last: tuple[int, SessionState] = (0, self._checkpoints[0])
        self._lock = threading.Lock()

    def state(self, count: int) -> SessionState:
        """The state after the first `count` events; the caller owns the returned copy."""
        with self._lock:  # checkpoints are shared: one rebuild at a time
            return self._build(count)

    def _build(self, count: int) -> SessionState:
        base, state = self._nearest(count)
        landing = count - count % self._every - self._every
        if landing > base:
            # Land a checkpoint interval short, so that stepping back from `count` stays cheap.
            self._jump(state, base, landing)
            self._checkpoints[landing] = state.copy()
            base = landing
        for event in self._store.iter_events(self._sid, base, count):
            state.apply(event)
            applied = event.seq + 1
            if applied % self._every == 0 and applied not in self._checkpoints:
                self._checkpoints[applied] = state.copy()
        self._last = (count, state)
        return state.copy()

    def _nearest(self, count: int) -> tuple[int, SessionState]:
        """The closest known state at or before `count`, as a copy to build on."""
        base = max(k for k in self._checkpoints if k <= count)
        unfilled = max((k for k in self._unfilled if k <= count), default=-1)
        if unfilled > base:
            start, state = self._unfilled.pop(unfilled)
            self._fill_logs(state, start, unfilled)
            self._checkpoints[unfilled] = state
            base = unfilled
        if base <= self._last[0] <= count:
            return self._last[0], self._last[1].copy()
        return base, self._checkpoints[base].copy()

    def _jump(self, state: SessionState, start: int, stop: int) -> None:
        """Apply events [start, stop) as `apply` would, without reading every log line."""
        mark = start - start % self._every + self._every
        for event in self._store.iter_events(self._sid, start, stop, skip_kinds=(ev.LogLines.kind,), chunk=20_000):
            while mark <= event.seq and mark < stop:
                self._unfilled.setdefault(mark, (start, state.copy()))
                mark += self._every
            state.apply(event)
        while mark < stop:
            self._unfilled.setdefault(mark, (start, state.copy()))
            mark += self._every
        self._fill_logs(state, start, stop)

    def _fill_logs(self, state: SessionState, start: int, stop: int) -> None:
        """Add the log lines of events [start, stop) that `state` (built without them) keeps."""
        cap = state_module.LOG_CAP
        for node in set(state.nodes) | set(state.logs):
            tail = self._store.log_tail(self._sid, node, start, stop, cap)
            if tail is not None:  # a RunStarted in range has already emptied the node's lines
                state.logs[node] = (state.logs.get(node, []) + tail)[-cap:]
        if stop > 0:
            last = self._store.read_events(self._sid, stop - 1, stop)[0]
            state.last_seq, state.last_ts = last.seq, last.ts
