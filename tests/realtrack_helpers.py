"""Fake checkouts and trajectories in the real layouts (no real record code or hint text)."""

from __future__ import annotations

import json
from pathlib import Path

SEP = "=" * 100

# Record number -> README minutes (the real table's values; the code and logs below are fake).
README_MINUTES = {1: 45, 2: 31.4, 3: 24.9, 4: 22.3, 5: 15.2, 6: 13.1, 7: 12.0, 8: 10.8, 9: 8.2, 10: 7.8,
                  11: 7.2, 12: 5.03, 13: 4.66, 14: 4.41, 15: 3.95, 16: 3.80, 17: 3.57, 18: 3.4, 19: 3.142,
                  20: 2.992, 21: 2.933}
ODD_RECORDS = (9, 10, 11)


def fake_code(n: int) -> str:
    return f"# fake train script of record {n}\nimport os\nprint('record {n}')\n"


def measured_ms(n: int) -> int:
    """The fake log's final train_time: the README time plus a little, as real logs differ."""
    return int(README_MINUTES[n] * 60_000) + 1234


def speedrun_log(final_ms: int, steps: int = 100, final_loss: float = 3.2785, with_train_loss: bool = True) -> str:
    lines = [f"step:0/{steps} val_loss:10.8258 train_time:0ms step_avg:nanms"]
    for step in (1, 2, steps // 2):
        ms = final_ms * step // steps
        loss = f" train_loss:{10 - step * 0.05:.4f}" if with_train_loss else ""
        lines.append(f"step:{step}/{steps}{loss} train_time:{ms}ms step_avg:{ms / step:.2f}ms")
    lines.append(f"step:{steps // 2}/{steps} val_loss:3.9000 train_time:{final_ms // 2}ms step_avg:1.00ms")
    lines.append(f"step:{steps}/{steps} val_loss:{final_loss:.4f} train_time:{final_ms}ms step_avg:1.00ms")
    lines.append("peak memory consumption: 31563 MiB")
    return "\n".join(lines) + "\n"


def record_txt(code: str, final_ms: int, *, leading_sep: bool = False) -> str:
    env = "Running pytorch 2.5.0 compiled for CUDA 12.4\nnvidia-smi:\n| fake nvidia-smi table |\n\n"
    head = f"{SEP}\n{code}" if leading_sep else code
    return f"{head}{SEP}\n{env}{SEP}\n{speedrun_log(final_ms)}"


def llmc_log() -> str:
    return "s:0 tel:11.0092\ns:0 trl:11.0091 lr:0.000001 norm:15.37\ns:1 trl:10.9598\ns:19560 tel:3.2722\n"


def make_modded_nanogpt(root: Path, *, odd: bool = False) -> Path:
    """A checkout in the real layout: README table, records/track_1_short/<date>_<name>/<uuid>.txt."""
    base = root / "records" / "track_1_short"
    rows = []
    for n, minutes in README_MINUTES.items():
        folder = base / f"2024-{n:02d}-01_Record{n}"
        link = f"records/track_1_short/{folder.name}/{n:04d}aaaa-uuid.txt"
        if n in (1, 2):
            name = "main.log" if n == 1 else f"{n:04d}aaaa-uuid.log"
            link = f"records/track_1_short/{folder.name}/{name}"
            _write(folder / name, llmc_log())
        elif n == 3:
            link = None
        elif n == 14:  # the README links the folder; it holds a log-only file and the record's log
            link = f"records/track_1_short/{folder.name}"
            _write(folder / "0000-log-only.txt", speedrun_log(measured_ms(n)))
            _write(folder / "1111-record.txt", record_txt(fake_code(n), measured_ms(n)))
        elif odd and n == 9:
            pass  # linked, never written: missing from the checkout
        elif odd and n == 10:
            _write(folder / f"{n:04d}aaaa-uuid.txt", speedrun_log(measured_ms(n)))  # no code part
        elif odd and n == 11:
            _write(folder / f"{n:04d}aaaa-uuid.txt", f"{fake_code(n)}{SEP}\nenv\n{SEP}\nstep:1/9 train_time:5ms\n")
        else:
            _write(folder / f"{n:04d}aaaa-uuid.txt", record_txt(fake_code(n), measured_ms(n), leading_sep=n == 4))
        log_cell = f"[log]({link})" if link else "none"
        rows.append(f"{n} | {minutes} minutes | [Description of record {n}](https://x.com/{n}) | 10/{n:02d}/24 "
                    f"| {log_cell} | @someone")
    rows.append("21 | 2.997 minutes | 21st record with new timing | 02/01/25 | [log](records/x.txt) | re-timing")
    readme = "\n".join([
        "# Modded-NanoGPT", "", "Intro text.", "", "## World record history", "",
        "| # | Record time | Description | Date | Log | Contributors |", "| - | - | - | - | - | - |",
        *rows, "", "## Rules", "", "## Speedrun track 2: GPT-2 Medium", "",
        "| # | Record time | Description | Date | Log | Contributors |", "| - | - | - | - | - | - |",
        "1 | 5.8 hours | [llm.c baseline](https://x) | 05/28/24 | none | @karpathy", ""])
    _write(root / "README.md", readme)
    return root


def make_hints_tree(root: Path, records=range(1, 21), templates=(1, 2, 3), without_paper=()) -> Path:
    """A llm-speedrunner checkout: knowledge-in-levels hints and per-record templates."""
    levels = root / "data" / "nanogpt_speedrun_knowledge_in_levels"
    for r in records:
        folder = levels / f"record_{r}"
        _write(folder / "level_0_diff.txt", f"--- a/train_gpt2.py\n+++ b/train_gpt2.py\n+# change of record {r}\n")
        _write(folder / "level_1_pseudo.txt", f"L1 pseudocode hint for record {r}")
        _write(folder / "level_2_description.txt", f"L2 description hint for record {r}")
        if r not in without_paper:
            _write(folder / "level_3_paper.txt", f"L3 paper hint for record {r}")
    for r in templates:
        _write(root / "workspace_templates" / "nanogpt_speedrun" / f"record_{r}" / "train_gpt2.py",
               f"# template of record {r}\n")
    return root


def make_speedrunner_workspace(root: Path) -> Path:
    """An llm-speedrunner workspace for task nanogpt/4 with an aide search: root, draft, buggy, debug, unfinished."""
    _write(root / "config.yaml", "\n".join([
        "template_dirname: nanogpt_speedrun/record_4",
        "model_name: o3-mini",
        "secrets:",
        "  openai_api_key: sk-FAKE-SECRET-123",
        "knowledge_src_paths:",
        "- data/nanogpt_speedrun_knowledge_in_levels/record_4/level_[12]_*.txt",
        "exp_config_args:",
        "  entry_fname: train_gpt2.py",
        "science_runner_args:",
        "  _target_: core.runners.aide_science_runner.AIDEScienceRunner",
        "  n_initial_hypotheses: 3",
        "  n_hypotheses: 1",
        "  debug_prob: 0.5",
        "  max_bug_depth: 5",
        "  max_n_nodes: 20", ""]))
    base = "import os\nlr = 0.02\nprint('train')\n"
    _version(root, 0, base, {"job_status": "COMPLETED",
                             "metrics": {"n_steps": 3200, "val_loss": 3.2785, "train_time": 1301700},
                             "hypothesis": "Baseline", "outcome_summary": "Reaches 3.28."}, None)
    _version(root, 1, base.replace("0.02", "0.03"),
             {"status": "COMPLETED", "metrics": {"n_steps": 3000, "val_loss": 3.279, "train_time": 1100000,
                                                 "is_valid": True},
              "hypothesis": "Raise the learning rate to 0.03", "outcome_summary": "Faster."},
             {"parent": "0", "children": ["2"], "created_at": 1700000100})
    _version(root, 2, base + "boom(\n",
             {"status": "FAILED", "metrics": {"n_steps": None, "val_loss": None, "train_time": None,
                                              "is_valid": False},
              "hypothesis": "Fuse the optimizer", "outcome_summary": "SyntaxError: '(' was never closed"},
             {"parent": "1", "children": ["3"], "created_at": 1700000200, "bug_depth": 1})
    _version(root, 3, base.replace("0.02", "0.05"),
             {"status": "COMPLETED", "metrics": {"n_steps": 2000, "val_loss": 3.31, "train_time": 900000,
                                                 "is_valid": False},
              "hypothesis": "Fix the syntax error", "outcome_summary": "Misses the target."},
             {"parent": "2", "children": None, "created_at": 1700000300, "bug_depth": 2})
    _version(root, 4, base.replace("0.02", "0.04"), None, {"parent": "1", "children": None})
    history = [{"prompt": "Propose an idea", "response": "Raise the learning rate", "prompt_tokens": 120,
                "completion_tokens": 30}]
    _write(root / "v_1" / "ideator_history.jsonl", "\n".join(json.dumps(h) for h in history) + "\n")
    _write(root / "v_1" / "assistant_history.jsonl",
           json.dumps({"prompt": "Summarize the log", "response": "It worked", "prompt_tokens": 50,
                       "completion_tokens": 5}) + "\n")
    return root


def _version(root: Path, v: int, code: str, results: dict | None, meta: dict | None) -> None:
    folder = root / f"v_{v}"
    _write(folder / "train_gpt2.py", code)
    if results is not None:
        _write(folder / "results.json", json.dumps(results, indent=4))
    if meta is not None:
        _write(folder / "meta.json", json.dumps(meta))


def make_aide_journal(path: Path) -> Path:
    """An AIDE journal (version 2 serialization) whose nodes ran speedrun-style scripts."""
    def node(step, code, plan, term_out, *, buggy=False, exc=None, analysis="ok", metric=None):
        return {"code": code, "plan": plan, "step": step, "id": f"id{step}", "ctime": 1700000000.0 + step,
                "parent": None, "children": [], "_term_out": term_out, "exec_time": 12.5,
                "exc_type": exc, "exc_info": None, "exc_stack": None, "analysis": analysis,
                "metric": {"value": metric, "maximize": False}, "is_buggy": buggy}

    nodes = [
        node(0, "lr = 1\n", "First draft", [speedrun_log(500_000)], metric=3.2785),
        node(1, "lr = 1\nbug(\n", "Improve it", ["Traceback...\n", "SyntaxError: bad\n"], buggy=True,
             exc="SyntaxError", analysis="crashed"),
        node(2, "lr = 2\n", "Fix the bug", [speedrun_log(400_000)], metric=3.2785),
        {"code": "lr = 3\n", "plan": "Another draft", "step": 3, "id": "id3", "is_buggy": None},
    ]
    journal = {"nodes": nodes, "node2parent": {"id1": "id0", "id2": "id1"}, "__version": "2"}
    _write(path, json.dumps(journal))
    return path


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
