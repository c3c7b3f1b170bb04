"""`import trajectory`: turn a past agent run from elsewhere into a session in our store.

Readers (sessions/import_speedrunner.py, sessions/import_aide.py) turn a foreign
layout into a Trajectory; `write_trajectory` replays it as our own events, so the
session replays and scores like one of ours. Diffs are computed here, parent code
to child code. A field the source lacks stays missing (None, or named in a note
on its node); nothing is invented.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from runner.logparse import parse_line
from runner.result import RunResult
from sessions import events as ev
from speedrun_tui.codediff import unified_diff
from sessions.store import Store
from speedrun_tui import __version__
from speedrun_tui.errors import UserError

LOG_CHUNK = 500  # log lines per LogLines event


@dataclass(frozen=True)
class LLMCall:
    purpose: str
    prompt: str
    response: str
    tokens_in: int
    tokens_out: int


@dataclass
class ImportedNode:
    id: int
    parent: int | None
    stage: str  # root, draft, improve, debug
    code: str | None
    ts: float
    plan: str = ""
    result: RunResult | None = None
    score_status: str | None = None  # NodeScored status when it differs from the result's own verdict
    log_lines: list[str] = field(default_factory=list)
    llm_calls: list[LLMCall] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass
class Trajectory:
    source: str  # "llm-speedrunner" or "aide"
    path: Path
    task: str
    model: str
    scaffold: str
    hints: str
    config: dict
    nodes: list[ImportedNode]
    start_time_s: float | None = None
    target_time_s: float | None = None
    target_loss: float | None = None


def read_trajectory(path: Path, task: str | None = None) -> Trajectory:
    """Read an llm-speedrunner workspace (a folder) or an AIDE journal.json (a file)."""
    path = Path(path).expanduser()
    if path.is_dir() and (path / "journal.json").is_file() and not any(path.glob("v_[0-9]*")):
        path = path / "journal.json"
    if path.is_file():
        from sessions.import_aide import read_aide

        trajectory = read_aide(path, target_loss=task_times(task)[2] if task else None)
    elif path.is_dir():
        from sessions.import_speedrunner import read_workspace

        trajectory = read_workspace(path)
    else:
        raise UserError(f"{path}: no such file or folder")
    trajectory.task = task or trajectory.task
    trajectory.start_time_s, trajectory.target_time_s, trajectory.target_loss = task_times(trajectory.task)
    return trajectory


def task_times(task_id: str) -> tuple[float | None, float | None, float | None]:
    """(start, target, target loss) of a task we know: in the catalog, else a benchmark record by number."""
    if not task_id:
        return None, None, None
    from records.catalog import get_task
    from records.nanogpt_catalog import PAPER_TIMES_S, TARGET_LOSS

    try:
        task = get_task(task_id)
        return task.start_time_s or None, task.target_time_s or None, task.target_loss
    except UserError:
        track, _, number = task_id.partition("/")
        if track == "nanogpt" and number.isdigit() and int(number) + 1 in PAPER_TIMES_S:
            return PAPER_TIMES_S[int(number)], PAPER_TIMES_S[int(number) + 1], TARGET_LOSS
    return None, None, None


def write_trajectory(trajectory: Trajectory, store: Store) -> str:
    """Store the trajectory as a finished session; returns its id."""
    started = ev.SessionStarted(
        task=trajectory.task, model=trajectory.model, scaffold=trajectory.scaffold, hints=trajectory.hints,
        mode="auto", start_time_s=trajectory.start_time_s, target_time_s=trajectory.target_time_s,
        target_loss=trajectory.target_loss, version=__version__,
        config={**trajectory.config, "imported_from": trajectory.source, "imported_path": str(trajectory.path)},
        ts=min((n.ts for n in trajectory.nodes), default=time.time()))
    session_id = store.new_session(started)
    codes: dict[int, str | None] = {}
    for node in _parents_first(trajectory.nodes):
        _write_node(store, session_id, node, codes, trajectory.model)
        codes[node.id] = node.code
    last_ts = max((n.ts for n in trajectory.nodes), default=started.ts)
    store.append(session_id, ev.SessionFinished(status="finished", ts=last_ts,
                                                reason=f"imported from {trajectory.source}: {trajectory.path}"))
    store.flush()
    return session_id


def _parents_first(nodes: list[ImportedNode]) -> list[ImportedNode]:
    """Creation order (time, then id), except that a node never comes before its parent."""
    ids = {n.id for n in nodes}
    placed: set[int] = set()
    ordered: list[ImportedNode] = []
    pending = sorted(nodes, key=lambda n: (n.ts, n.id))
    while pending:
        # A cycle in the source's parent links would leave nothing ready: then take the next in order.
        node = next((n for n in pending if n.parent is None or n.parent in placed or n.parent not in ids),
                    pending[0])
        ordered.append(node)
        placed.add(node.id)
        pending.remove(node)
    return ordered


def _write_node(store: Store, session_id: str, node: ImportedNode, codes: dict, model: str) -> None:
    def put(event: ev.Event) -> None:
        event.node, event.ts = node.id, node.ts
        store.append(session_id, event)

    sha = store.put_blob(node.code) if node.code is not None else None
    put(ev.NodeCreated(parent=node.parent, stage=node.stage, code_sha=sha))
    for i, call in enumerate(node.llm_calls):
        call_id = f"imported-{node.id}-{i}"
        put(ev.LLMRequest(call_id=call_id, model=model, purpose=call.purpose,
                          messages=[{"role": "user", "content": call.prompt}]))
        put(ev.LLMResponse(call_id=call_id, text=call.response, tokens_in=call.tokens_in,
                           tokens_out=call.tokens_out))
    if node.plan:
        put(ev.Plan(text=node.plan))
    parent_code = codes.get(node.parent) if node.parent is not None else None
    if sha is not None and parent_code is not None:

        put(ev.EditApplied(code_sha=sha, diff=unified_diff(parent_code, node.code)))
    if node.result is not None:
        _write_run(put, node, sha)
    for text in node.notes:
        put(ev.Note(text=text))
    if node.missing:
        put(ev.Note(text=f"missing in the source: {', '.join(node.missing)}", level="warning"))


def _write_run(put, node: ImportedNode, sha: str | None) -> None:
    result = node.result
    put(ev.RunStarted(code_sha=sha or "", workdir="", backend="imported"))
    for start in range(0, len(node.log_lines), LOG_CHUNK):
        chunk = node.log_lines[start:start + LOG_CHUNK]
        put(ev.LogLines(lines=chunk))
        for line in chunk:
            metric = parse_line(line)
            if metric is not None and metric.kind == "val":
                put(ev.Metric(step=metric.step, val_loss=metric.val_loss, train_loss=metric.train_loss,
                              train_time_ms=metric.train_time_ms, total_steps=metric.total_steps))
    put(ev.RunFinished(result=result.to_json()))
    status = node.score_status or ("buggy" if result.buggy else "valid" if result.valid else "target_missed")
    time_s = result.time_to_target_ms / 1000.0 if result.valid and status == "valid" else None
    put(ev.NodeScored(status=status, time_s=time_s, val_loss=result.final_val_loss, reason=result.reason))


def import_trajectory(path: Path, store: Store, task: str | None = None) -> str:
    return write_trajectory(read_trajectory(path, task), store)
