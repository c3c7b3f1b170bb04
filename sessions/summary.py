"""The sessions and nodes tables' summary of the events, kept in step as they are committed.

Listing sessions (`speedrun-tui sessions`, the home screen) reads only these rows: node
count, best time, FSR, tokens, status; it never replays events. The rows are written
from the reducer's state over the committed events and the scorer's rules
(sessions/state.py, sessions/scoring.py): a node's status, the best node and the FSR
have one definition, so `sessions`, `score`, the TUI and export agree.
"""

from __future__ import annotations

import sqlite3
import time

from sessions import events as ev
from sessions.scoring import score_session
from sessions.state import SessionState

# Event kinds that change a summary row (the reducer's state keeps only what these say).
SUMMARY_KINDS = {"node_created", "edit_proposed", "edit_applied", "run_started", "run_finished", "node_scored",
                 "human_decision", "llm_response", "session_started", "session_finished", "session_resumed",
                 "target_timed", "retimed", "verified"}


class Summaries:
    """Per session, the reducer's state over its committed summary events, read from the
    database when this connection first writes the session (or finds that another did since)."""

    def __init__(self):
        self._states: dict[str, tuple[SessionState, int]] = {}  # state, and the seq its next event has

    def commit(self, conn: sqlite3.Connection, rows: list[tuple], events: list[tuple[str, ev.Event]]) -> None:
        """Insert a batch of event rows (session_id, seq, ...) and bring the summary rows in step, in
        the caller's transaction; `events` are the batch's events of SUMMARY_KINDS."""
        for session_id in {row[0] for row in rows}:
            first = min(row[1] for row in rows if row[0] == session_id)
            if self._states.get(session_id, (None, -1))[1] != first:
                self._states[session_id] = (_committed_state(conn, session_id), first)
        conn.executemany("INSERT INTO events (session_id, seq, kind, node, ts, payload) VALUES (?,?,?,?,?,?)", rows)
        touched: dict[str, set[int]] = {}
        for session_id, event in events:
            self._states[session_id][0].apply(event)
            touched.setdefault(session_id, set()).update([event.node] if event.node is not None else [])
        for session_id in {row[0] for row in rows}:
            state = self._states[session_id][0]
            self._states[session_id] = (state, max(row[1] for row in rows if row[0] == session_id) + 1)
            if session_id in touched:
                write_rows(conn, state, touched[session_id])
        count_events(conn, rows)

    def forget(self, session_ids) -> None:
        """Drop the states a failed transaction ran ahead of (they are read again when needed)."""
        for session_id in session_ids:
            self._states.pop(session_id, None)


def rewrite(conn: sqlite3.Connection, session_id: str) -> None:
    """Every summary row of one session from its committed events (a migration's backfill)."""
    state = _committed_state(conn, session_id)
    write_rows(conn, state, set(state.nodes))


def write_rows(conn: sqlite3.Connection, state: SessionState, nodes: set[int]) -> None:
    """The session's row and the rows of `nodes`, as the reducer and the scorer see them."""
    for node_id in sorted(nodes & set(state.nodes)):
        node = state.nodes[node_id]
        conn.execute("INSERT OR REPLACE INTO nodes (session_id, id, parent, stage, status, code_sha, time_s, val_loss) "
                     "VALUES (?,?,?,?,?,?,?,?)",
                     (state.session_id, node.id, node.parent, node.stage, node.status, node.code_sha, node.time_s,
                      node.result.final_val_loss if node.result is not None else None))
    if state.started is None:
        return
    score = score_session(state)
    conn.execute(
        "UPDATE sessions SET n_nodes=?, best_time_s=?, fsr=?, search_fsr=?, times_source=?, target_source=?, "
        "fsr_start_s=?, fsr_next_s=?, fsr_low=?, fsr_high=?, verify_rounds=?, timed_target_s=?, tokens=?, "
        "cost_usd=? WHERE id=?",
        (score.nodes, score.best_time_s, score.fsr, score.search_fsr, score.times_source, score.target_source,
         score.start_time_s, score.target_time_s, score.fsr_low, score.fsr_high,
         score.verify_rounds if score.verified else None,
         state.target_timing.time_s if state.target_timing is not None else None,
         score.tokens, score.cost_usd, state.session_id))
    if state.finished is not None:
        status = "finished" if state.finished.status == "finished" else "unfinished"
        conn.execute("UPDATE sessions SET status=?, ended=? WHERE id=?",
                     (status, state.finished.status, state.session_id))


def count_events(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Add a committed batch of event rows (session_id first) to their sessions' counts."""
    now = time.time()
    for session_id in {row[0] for row in rows}:
        count = sum(1 for row in rows if row[0] == session_id)
        conn.execute("UPDATE sessions SET n_events=n_events+?, updated_ts=?, heartbeat_ts=? WHERE id=?",
                     (count, now, now, session_id))


def _committed_state(conn: sqlite3.Connection, session_id: str) -> SessionState:
    state = SessionState(session_id)
    marks = ",".join("?" * len(SUMMARY_KINDS))
    cursor = conn.execute(f"SELECT seq, kind, node, ts, payload FROM events WHERE session_id=? AND kind IN ({marks}) "
                          "ORDER BY seq", (session_id, *sorted(SUMMARY_KINDS)))
    for seq, kind, node, ts, payload in cursor:
        state.apply(ev.decode(kind, payload, node, ts, seq))
    return state
