"""Export a session: its raw event stream (jsonl) or an AIDE-style journal of nodes."""

from __future__ import annotations

import json
from typing import TextIO

from sessions import events as ev
from sessions.replay import load_state
from sessions.scoring import score_session
from sessions.store import Store


def write_jsonl(store: Store, session_id: str, out: TextIO) -> int:
    """One JSON object per event, in order: {seq, kind, node, ts, payload}; returns the count."""
    count = 0
    for event in store.iter_events(session_id):
        record = {"seq": event.seq, "kind": event.kind, "node": event.node, "ts": event.ts,
                  "payload": event.payload()}
        out.write(json.dumps(record) + "\n")
        count += 1
    return count


def journal(store: Store, session_id: str) -> dict:
    """The search tree as AIDE's journal: per node plan, code, term_out, metric, is_buggy, parent."""
    state = load_state(store, session_id, with_logs=False)
    score = score_session(state)
    nodes = []
    for node in sorted(state.nodes.values(), key=lambda n: n.id):
        result = node.result
        nodes.append({
            "id": node.id, "parent": node.parent, "stage": node.stage, "status": node.status,
            "plan": node.plan, "code": _blob_or_none(store, node.code_sha), "diff": node.diff,
            "term_out": _full_log(store, session_id, node.id),
            "metric": {"time_s": node.time_s, "val_loss": result.final_val_loss if result else None,
                       "maximize": False},
            "is_buggy": node.status == "buggy" or bool(result and result.buggy),
            "children": list(node.children),
        })
    return {"session": session_id, "task": score.task, "model": score.model, "mode": score.mode,
            "scaffold": score.scaffold, "hints": score.hints, "score": score.to_json(), "nodes": nodes}


def _blob_or_none(store: Store, sha: str | None) -> str | None:
    if not sha:
        return None
    try:
        return store.get_blob(sha)
    except KeyError:
        return None


def _full_log(store: Store, session_id: str, node: int) -> str:
    """Every log line of the node's last run (the state keeps only a capped tail)."""
    lines: list[str] = []
    for event in store.read_events(session_id, node=node):
        if event.kind == ev.RunStarted.kind:
            lines = []
        elif event.kind == ev.LogLines.kind:
            lines.extend(event.lines)
    return "\n".join(lines)
