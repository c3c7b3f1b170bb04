"""Builders for the sessions tests: realistic event sequences written to a real store."""

from __future__ import annotations

from runner.result import RunResult, ValPoint
from sessions import events as ev


def started(**overrides) -> ev.SessionStarted:
    fields = dict(task="micro/1", model="reference", scaffold="flat", hints="none", mode="auto",
                  start_time_s=100.0, target_time_s=80.0, target_loss=2.0)
    fields.update(overrides)
    return ev.SessionStarted(**fields)


def run_result(time_s: float | None, *, status: str = "ok", final_val_loss: float = 1.9) -> dict:
    """A RunResult payload; `time_s` None with status ok means the target was missed."""
    if time_s is None and status == "ok":
        status = "target_missed"
    curve = [ValPoint(10, 2.5, 1000.0), ValPoint(20, final_val_loss, (time_s or 50.0) * 1000)]
    return RunResult(status=status, exit_code=0 if status != "crashed" else 1, curve=curve,
                     time_to_target_ms=time_s * 1000 if time_s is not None else None,
                     target_loss=2.0, final_val_loss=final_val_loss, wall_s=(time_s or 50.0) + 1).to_json()


def node_events(node: int, parent: int | None, stage: str, code_sha: str, time_s: float | None,
                *, status: str = "ok", log_lines: int = 3) -> list[ev.Event]:
    """The events of one node from creation to its score."""
    result = run_result(time_s, status=status)
    run = RunResult.from_json(result)
    scored = "buggy" if run.buggy else "valid" if run.valid else "target_missed"
    return [
        ev.NodeCreated(node=node, parent=parent, stage=stage, code_sha=code_sha),
        ev.Plan(node=node, text=f"plan for node {node}"),
        ev.EditApplied(node=node, code_sha=code_sha, diff=f"--- a\n+++ b\n+node {node}\n"),
        ev.RunStarted(node=node, code_sha=code_sha),
        ev.LogLines(node=node, lines=[f"line {i} of node {node}" for i in range(log_lines)]),
        ev.Metric(node=node, step=20, val_loss=1.9, train_time_ms=(time_s or 50.0) * 1000),
        ev.RunFinished(node=node, result=result),
        ev.NodeScored(node=node, status=scored, time_s=time_s if scored == "valid" else None),
    ]


def full_session(store, *, times=(100.0, 90.0, None, 85.0), log_lines: int = 3) -> tuple[str, list[ev.Event]]:
    """A finished session: a root node then one draft per extra time; returns (id, events as written)."""
    sid = store.new_session(started())
    written = [store.read_events(sid, 0, 1)[0]]
    for node, time_s in enumerate(times):
        sha = store.put_blob(f"# code of node {node}\n")
        parent, stage = (None, "root") if node == 0 else (0, "draft")
        for event in node_events(node, parent, stage, sha, time_s, log_lines=log_lines):
            written.append(store.append(sid, event))
    written.append(store.append(sid, ev.SessionFinished()))
    return sid, written


# A writer in its own process: a session of log lines with a metric every 10 lines.
# argv: db path, number of log events, seconds between them, "finish" or "hang".
WRITER_SCRIPT = """
import sys, time
from pathlib import Path
from sessions import events as ev
from sessions.store import Store
db, count, pause, end = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
store = Store(db)
sid = store.new_session(ev.SessionStarted(task="micro/1", model="m", scaffold="flat", hints="none", mode="auto"))
store.append(sid, ev.NodeCreated(node=0, parent=None, stage="root"))
store.append(sid, ev.RunStarted(node=0, code_sha="x"))
store.flush()
print(sid, 3, flush=True)
i = 0
while i < count or end == "hang":
    store.append(sid, ev.LogLines(node=0, lines=[f"line {i}"]))
    if i % 10 == 9:
        store.append(sid, ev.Metric(node=0, step=i, val_loss=3.0 - i / 1000))
    i += 1
    time.sleep(pause)
store.append(sid, ev.SessionFinished())
store.close()
"""
