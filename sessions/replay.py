"""Replay: a lazy reader over one session's events, for the TUI, export and scoring.

Opening reads nothing but the event count, so a session of a million events opens at
once; states at any event come from a StateRebuilder (in-memory checkpoints).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from sessions import events as ev
from sessions.rebuild import StateRebuilder
from sessions.state import SessionState
from sessions.store import Store
from speedrun_tui.errors import UserError

CHUNK = 2000
MIN_CHECKPOINT_EVERY = 1000
MAX_CHECKPOINTS = 200


def load_state(store: Store, session_id: str, *, with_logs: bool = True) -> SessionState:
    """The state after every committed event (scoring skips the log lines: they are most of a session)."""
    state = SessionState(session_id)
    skip = () if with_logs else (ev.LogLines.kind,)
    for event in store.iter_events(session_id, skip_kinds=skip, chunk=CHUNK * 10):
        state.apply(event)
    return state


class Replay:
    def __init__(self, store_or_path: Store | Path | str, session_id: str):
        path = store_or_path.path if isinstance(store_or_path, Store) else Path(store_or_path)
        # Its own read-only connection: reading never waits on (or blocks) a live writer.
        self._store = Store(path, readonly=True)
        self.session_id = self._store.resolve_session(session_id)
        self.position = 0
        every = max(MIN_CHECKPOINT_EVERY, len(self) // MAX_CHECKPOINTS)
        self._rebuilder = StateRebuilder(self._store, self.session_id, every)

    def __len__(self) -> int:
        """Committed events so far (grows while a live writer appends)."""
        return self._store.event_count(self.session_id)

    def events(self, start: int = 0, stop: int | None = None) -> Iterator[ev.Event]:
        """The events with start <= seq < stop, in order, read a chunk at a time."""
        return self._store.iter_events(self.session_id, start, stop, chunk=CHUNK)

    def event(self, n: int) -> ev.Event:
        found = self._store.read_events(self.session_id, n, n + 1)
        if not found:
            raise IndexError(f"session {self.session_id} has no event {n} (it has {len(self)})")
        return found[0]

    def seek(self, n: int) -> ev.Event:
        """Move to event n (clamped to the session) and return it."""
        self.position = max(0, min(n, len(self) - 1))
        return self.event(self.position)

    def seek_node(self, node_id: int) -> int:
        """Move to the first event of node `node_id`; returns its seq."""
        seq = self._store.first_seq_of_node(self.session_id, node_id)
        if seq is None:
            raise UserError(f"session {self.session_id} has no node {node_id}")
        self.position = seq
        return seq

    def state_at(self, n: int) -> SessionState:
        """The state after applying events 0..n (inclusive); a fresh copy the caller may keep."""
        return self._rebuilder.state(max(0, min(n + 1, len(self))))

    def follow(self, start: int | None = None, *, poll_s: float = 0.1,
               stop: threading.Event | None = None) -> Iterator[ev.Event]:
        """Events from `start` (default: the current position) as a live writer commits them.

        Ends after SessionFinished, when `stop` is set, or once the writer is gone
        (the session is unfinished) and every event it committed has been yielded.
        """
        next_seq = self.position if start is None else start
        stop = stop or threading.Event()
        while not stop.is_set():
            writer_gone = self._store.session_status(self.session_id) != "running"
            chunk = self._store.read_events(self.session_id, next_seq, next_seq + CHUNK)
            for event in chunk:
                yield event
                next_seq = event.seq + 1
                if event.kind == ev.SessionFinished.kind:
                    return
            if not chunk:
                if writer_gone:
                    return
                stop.wait(poll_s)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Replay:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
