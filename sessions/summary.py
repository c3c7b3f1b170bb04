"""The sessions and nodes tables' summary of the events, kept in step as they are committed.

Listing sessions (`speedrun-tui sessions`, the home screen) reads only these rows: node
count, best time, FSR, tokens, status; it never replays events.
"""

from __future__ import annotations

import json
import sqlite3
import time

from sessions import events as ev
from sessions.fsr import compute_fsr

# Event kinds that change a summary row.
SUMMARY_KINDS = {"node_created", "edit_proposed", "edit_applied", "run_started", "run_finished", "node_scored",
                 "human_decision", "llm_response", "session_started", "session_finished", "target_timed",
                 "verified"}


def count_events(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Add a committed batch of event rows (session_id first) to their sessions' counts."""
    now = time.time()
    for session_id in {row[0] for row in rows}:
        count = sum(1 for row in rows if row[0] == session_id)
        conn.execute("UPDATE sessions SET n_events=n_events+?, updated_ts=?, heartbeat_ts=? WHERE id=?",
                     (count, now, now, session_id))


def summarize(conn: sqlite3.Connection, session_id: str, event: ev.Event) -> None:
    """Keep the nodes table and the session row's cached numbers in step with `event`."""
    update = _node_update(session_id, event)
    if update is not None:
        conn.execute(*update)
        _refresh_scores(conn, session_id)
    elif event.kind == "llm_response":
        conn.execute("UPDATE sessions SET tokens=tokens+?, cost_usd=cost_usd+? WHERE id=?",
                     (event.tokens_in + event.tokens_out, event.cost_usd, session_id))
    elif event.kind == "session_started":
        _refresh_scores(conn, session_id)
    elif event.kind == "target_timed":
        conn.execute("UPDATE sessions SET timed_target_s=? WHERE id=?", (event.time_s, session_id))
        _refresh_scores(conn, session_id)
    elif event.kind == "verified":
        conn.execute("UPDATE sessions SET fsr_low=?, fsr_high=?, verify_rounds=? WHERE id=?",
                     (event.low, event.high, event.rounds, session_id))
        conn.execute("UPDATE sessions SET fsr=? WHERE id=?", (event.fsr, session_id))
    elif event.kind == "session_finished":
        status = "finished" if event.status == "finished" else "unfinished"
        conn.execute("UPDATE sessions SET status=?, ended=? WHERE id=?", (status, event.status, session_id))


def _refresh_scores(conn: sqlite3.Connection, session_id: str) -> None:
    start, target, timed, config = conn.execute(
        "SELECT start_time_s, target_time_s, timed_target_s, config FROM sessions WHERE id=?", (session_id,)).fetchone()
    root = conn.execute("SELECT time_s FROM nodes WHERE session_id=? AND stage='root' AND status='valid'",
                        (session_id,)).fetchone()
    n_nodes, best = conn.execute("SELECT count(*), min(CASE WHEN status='valid' THEN time_s END) "
                                 "FROM nodes WHERE session_id=?", (session_id,)).fetchone()
    provisional = bool(json.loads(config or "{}").get("provisional"))
    times = compute_fsr(start, target, root[0] if root else None, best, timed_target_s=timed,
                        provisional=provisional)
    conn.execute("UPDATE sessions SET n_nodes=?, best_time_s=?, search_fsr=?, times_source=?, target_source=?, "
                 "fsr=CASE WHEN verify_rounds IS NULL THEN ? ELSE fsr END WHERE id=?",
                 (n_nodes, times.best_time_s, times.fsr, times.times_source, times.target_source, times.fsr,
                  session_id))


def _node_update(session_id: str, event: ev.Event) -> tuple[str, tuple] | None:
    """The nodes-table statement (sql, params) that mirrors a node event, if any."""
    kind = event.kind
    if kind == "node_created":
        return ("INSERT OR REPLACE INTO nodes (session_id, id, parent, stage, status, code_sha) "
                "VALUES (?,?,?,?,'pending',?)", (session_id, event.node, event.parent, event.stage, event.code_sha))
    if event.node is None:
        return None
    key = (session_id, event.node)
    where = " WHERE session_id=? AND id=?"
    if kind == "edit_proposed":
        return "UPDATE nodes SET code_sha=?, status='proposed'" + where, (event.code_sha, *key)
    if kind == "edit_applied":
        return "UPDATE nodes SET code_sha=?" + where, (event.code_sha, *key)
    if kind == "run_started":
        return "UPDATE nodes SET status='running'" + where, key
    if kind == "run_finished":
        status, time_s, val_loss = _run_outcome(event.result)
        return "UPDATE nodes SET status=?, time_s=?, val_loss=?" + where, (status, time_s, val_loss, *key)
    if kind == "node_scored":
        return ("UPDATE nodes SET status=?, time_s=coalesce(?, time_s), val_loss=coalesce(?, val_loss)" + where,
                (event.status, event.time_s, event.val_loss, *key))
    if kind == "human_decision" and event.decision in ("reject", "skip"):
        return "UPDATE nodes SET status='rejected'" + where, key
    return None


def _run_outcome(result: dict) -> tuple[str, float | None, float | None]:
    """(provisional status, time to target in s, final val_loss) of a RunFinished payload."""
    from runner.result import RunResult

    run = RunResult.from_json(result)
    status = "buggy" if run.buggy else "valid" if run.valid else "target_missed"
    time_s = run.time_to_target_ms / 1000.0 if run.valid else None
    return status, time_s, run.final_val_loss

