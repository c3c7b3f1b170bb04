"""Read an AIDE journal.json: {"nodes": [...], "node2parent": {child_id: parent_id}}.

A node carries code, plan, step, id, ctime, _term_out (list of output chunks),
exec_time, exc_type, analysis, metric {value, maximize} and is_buggy. Its stage
follows AIDE's own rule: no parent -> draft, buggy parent -> debug, else improve.
When the terminal output holds speedrun log lines, the run is judged from them
with the same rules as our runs; otherwise only AIDE's own verdict is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from runner.logparse import parse_line
from runner.outcome import summarize
from runner.result import RunResult
from sessions.importers import ImportedNode, Trajectory
from speedrun_tui.errors import UserError

LOG_LINES_KEPT = 5000


def read_aide(path: Path, target_loss: float | None = None) -> Trajectory:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not a readable AIDE journal ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise UserError(f"{path}: not an AIDE journal (no \"nodes\" list)")
    raw_nodes = [n for n in data["nodes"] if isinstance(n, dict)]
    ids = {n.get("id"): _node_id(n, i) for i, n in enumerate(raw_nodes)}
    links = {ids[c]: ids.get(p) for c, p in (data.get("node2parent") or {}).items() if c in ids}
    buggy = {ids[n.get("id")] for n in raw_nodes if n.get("is_buggy")}
    nodes = [_node(n, ids[n.get("id")], links.get(ids[n.get("id")]), buggy, path, target_loss)
             for n in raw_nodes]
    return Trajectory(source="aide", path=path, task="", model="unknown", scaffold="aide", hints="unknown",
                      config={"journal_version": data.get("__version")}, nodes=nodes)


def _node_id(raw: dict, index: int) -> int:
    """Our id: AIDE's step plus one, so that no imported node poses as the (absent) root."""
    step = raw.get("step")
    return (step if isinstance(step, int) else index) + 1


def _node(raw: dict, node_id: int, parent: int | None, buggy: set[int], path: Path,
          target_loss: float | None) -> ImportedNode:
    missing = [key for key in ("code", "plan", "ctime", "_term_out", "exec_time", "is_buggy") if raw.get(key) is None]
    stage = "draft" if parent is None else "debug" if parent in buggy else "improve"
    node = ImportedNode(id=node_id, parent=parent, stage=stage, code=raw.get("code"),
                        ts=float(raw["ctime"]) if raw.get("ctime") is not None else path.stat().st_mtime,
                        plan=str(raw.get("plan") or ""), missing=missing)
    term_out = raw.get("_term_out")
    if term_out is not None:
        text = "".join(term_out) if isinstance(term_out, list) else str(term_out)
        node.log_lines = text.splitlines()[-LOG_LINES_KEPT:]
        node.result = _result(raw, node.log_lines, target_loss)
    if raw.get("analysis"):
        node.notes.append(f"AIDE analysis: {raw['analysis']}")
    return node


def _result(raw: dict, lines: list[str], target_loss: float | None) -> RunResult:
    """From speedrun log lines when there are any; else AIDE's own verdict and metric."""
    metrics = [m for m in (parse_line(line) for line in lines) if m is not None]
    exc_type = raw.get("exc_type")
    exec_time = float(raw.get("exec_time") or 0.0)
    if metrics:
        killed_for = "timeout" if exc_type == "TimeoutError" else None
        return summarize(metrics, exit_code=1 if exc_type else 0, target_loss=target_loss, wall_s=exec_time,
                         peak_rss_mb=0.0, dropped_lines=0, stderr_tail=str(exc_type or ""), killed_for=killed_for)
    metric = raw.get("metric") or {}
    value = metric.get("value") if isinstance(metric, dict) else None
    if raw.get("is_buggy") or exc_type:
        return RunResult(status="crashed", exit_code=None, wall_s=exec_time,
                         reason=f"AIDE marked it buggy ({exc_type or 'no valid metric'})")
    direction = "higher" if metric.get("maximize") else "lower"
    return RunResult(status="no_metrics", exit_code=None, wall_s=exec_time,
                     reason=f"no speedrun log lines; AIDE metric {value} ({direction} is better)")
