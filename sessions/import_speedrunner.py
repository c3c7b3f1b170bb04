"""Read an llm-speedrunner workspace: a root config.yaml and one v_N folder per node.

Each v_N holds the script, results.json (status, metrics {n_steps, val_loss,
train_time ms, is_valid}, hypothesis, outcome_summary), meta.json (parent,
children, created_at, bug_depth) and the LLM call logs (*_history.jsonl: prompt,
response, prompt_tokens, completion_tokens). v_0 is the unchanged start code.
Only whitelisted config keys are kept: the file also carries the run's secrets.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from records.nanogpt_catalog import TARGET_LOSS
from records.task import HINT_REGIMES
from runner.result import RunResult, ValPoint
from sessions.importers import ImportedNode, LLMCall, Trajectory
from speedrun_tui.errors import UserError

_VERSION_DIR = re.compile(r"^v_(\d+)$")
_RECORD = re.compile(r"record_(\d+)")
_KEPT_RUNNER_ARGS = ("n_initial_hypotheses", "n_hypotheses", "debug_prob", "max_bug_depth", "max_n_nodes")

# (initial drafts, children per step, debugs?) -> scaffold, as the benchmark's launcher sets them.
_SCAFFOLDS = {(20, False): "flat", (1, 3, False): "tree", (3, 3, False): "forest",
              (3, 1, True): "aide", (3, 3, True): "multi-aide"}
_LEVELS = {"1": "pseudo", "2": "text", "3": "paper"}
# Which of a node's call logs played which part: the assistant summarizes and judges runs.
_HISTORIES = {"ideator_history.jsonl": None, "coder_history.jsonl": None, "assistant_history.jsonl": "judge"}


def read_workspace(root: Path) -> Trajectory:
    versions = sorted((int(m.group(1)), p) for p in root.iterdir() if (m := _VERSION_DIR.match(p.name)) and p.is_dir())
    if not versions:
        raise UserError(f"{root}: no v_N folders; not an llm-speedrunner workspace")
    config = _load_config(root / "config.yaml")
    exp = config.get("exp_config_args") or {}
    script = exp.get("entry_fname") or "train_gpt2.py"
    runner_args = config.get("science_runner_args") or {}
    kept = {k: runner_args[k] for k in _KEPT_RUNNER_ARGS if k in runner_args}
    task_match = _RECORD.search(str(config.get("template_dirname", "")))
    metas = {v: _json(path / "meta.json") for v, path in versions}
    nodes = [_node(v, path, script, metas) for v, path in versions]
    return Trajectory(
        source="llm-speedrunner", path=root,
        task=f"nanogpt/{task_match.group(1)}" if task_match else "",
        model=str(config.get("model_name") or "unknown"),
        scaffold=_scaffold(kept), hints=_hints(config.get("knowledge_src_paths")),
        config={"science_runner_args": kept, "knowledge_src_paths": config.get("knowledge_src_paths"),
                "template_dirname": config.get("template_dirname")},
        nodes=nodes)


def _load_config(path: Path) -> dict:
    if not path.is_file():
        return {}
    import yaml  # PyYAML comes with litellm; only this reader needs it

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise UserError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from err
    return data if isinstance(data, dict) else {}


def _scaffold(args: dict) -> str:
    drafts, children = args.get("n_initial_hypotheses"), args.get("n_hypotheses")
    debugs = bool(args.get("debug_prob"))
    key = (drafts, debugs) if drafts == 20 else (drafts, children, debugs)
    return _SCAFFOLDS.get(key, "unknown")


def _hints(paths) -> str:
    """The hint regime the knowledge paths select (`level_[12]_*.txt` -> pseudo+text)."""
    if paths is None:
        return "unknown"
    levels: set[str] = set()
    for path in paths:
        match = re.search(r"level_(\[[0-9]+\]|[0-9])_", str(path))
        if not match:
            return "unknown"
        digits = match.group(1).strip("[]")
        if any(d not in _LEVELS for d in digits):
            return "unknown"
        levels.update(_LEVELS[d] for d in digits)
    return next((name for name, want in HINT_REGIMES.items() if set(want) == levels), "unknown")


def _node(version: int, folder: Path, script: str, metas: dict[int, dict]) -> ImportedNode:
    meta, results, missing = metas[version], _json(folder / "results.json"), []
    parent = _parent(meta, version, missing)
    code_path = folder / script
    if not code_path.is_file():
        missing.append(script)
    created = meta.get("created_at")
    if created is None and version != 0:
        missing.append("meta.json created_at")
    node = ImportedNode(
        id=version, parent=parent, stage=_stage(version, parent, metas),
        code=code_path.read_text() if code_path.is_file() else None,
        ts=float(created) if created is not None else folder.stat().st_mtime,
        plan=str(results.get("hypothesis") or ""), missing=missing)
    node.result, node.score_status = _result(results, missing)
    if results.get("outcome_summary"):
        node.notes.append(f"outcome summary: {results['outcome_summary']}")
    node.llm_calls = _llm_calls(folder, node.stage)
    return node


def _parent(meta: dict, version: int, missing: list[str]) -> int | None:
    if version == 0:
        return None
    if meta.get("parent") is None:
        missing.append("meta.json parent")
        return None
    return int(meta["parent"])


def _stage(version: int, parent: int | None, metas: dict[int, dict]) -> str:
    if version == 0:
        return "root"
    if parent is None or parent == 0:
        return "draft"
    return "debug" if (metas.get(parent) or {}).get("bug_depth", 0) > 0 else "improve"


def _result(results: dict, missing: list[str]) -> tuple[RunResult | None, str | None]:
    """The run's result as llm-speedrunner recorded it, and a NodeScored override when it judged it invalid."""
    if not results:
        missing.append("results.json")
        return None, None
    status = results.get("status") or results.get("job_status")
    metrics = results.get("metrics") if isinstance(results.get("metrics"), dict) else {}
    for key in ("n_steps", "val_loss", "train_time"):
        if metrics.get(key) is None:
            missing.append(f"metrics.{key}")
    if status is None:
        missing.append("results.json status")
    val_loss, train_ms, steps = metrics.get("val_loss"), metrics.get("train_time"), metrics.get("n_steps")
    result = RunResult(status="ok", exit_code=None, target_loss=TARGET_LOSS, final_val_loss=val_loss,
                       hardware="as recorded by llm-speedrunner")
    summary = str(results.get("outcome_summary") or "").strip().splitlines()
    if status not in (None, "COMPLETED"):
        result.status, result.reason = "crashed", f"job {status}" + (f": {summary[0][:200]}" if summary else "")
    elif val_loss is None:
        result.status, result.reason = "no_metrics", "results.json has no val_loss"
    elif val_loss > TARGET_LOSS:
        result.status, result.reason = "target_missed", f"val_loss {val_loss} > {TARGET_LOSS}"
    else:
        result.time_to_target_ms, result.steps_to_target = train_ms, steps
        result.reason = f"val_loss {val_loss} <= {TARGET_LOSS}" + ("" if train_ms is not None else "; no train_time")
    if steps is not None and val_loss is not None and train_ms is not None:
        result.curve = [ValPoint(int(steps), float(val_loss), float(train_ms))]
    invalid = metrics.get("is_valid") is False and result.status == "ok"
    return result, "invalid" if invalid else None


def _llm_calls(folder: Path, stage: str) -> list[LLMCall]:
    calls = []
    for name, purpose in _HISTORIES.items():
        path = folder / name
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            calls.append(LLMCall(purpose=purpose or ("draft" if stage == "root" else stage),
                                 prompt=str(entry.get("prompt", "")), response=str(entry.get("response", "")),
                                 tokens_in=int(entry.get("prompt_tokens") or 0),
                                 tokens_out=int(entry.get("completion_tokens") or 0)))
    return calls


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
