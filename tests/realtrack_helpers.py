"""Fake checkouts and trajectories in the real layouts (no real record code or hint text)."""

from __future__ import annotations

import json
from pathlib import Path

SEP = "=" * 100

# Record number -> README minutes: the real table's values up to 21, invented (falling) after it.
README_MINUTES = {1: 45, 2: 31.4, 3: 24.9, 4: 22.3, 5: 15.2, 6: 13.1, 7: 12.0, 8: 10.8, 9: 8.2, 10: 7.8,
                  11: 7.2, 12: 5.03, 13: 4.66, 14: 4.41, 15: 3.95, 16: 3.80, 17: 3.57, 18: 3.4, 19: 3.142,
                  20: 2.992, 21: 2.933, **{n: round(2.99 - (n - 22) * 0.0235, 3) for n in range(22, 90)}}
RETIMED_21 = (2.997, 3.014)  # two re-timing rows of record 21, as the real table has
MEDIUM_MINUTES = {1: 5.8 * 60, **{n: round(29.3 - (n - 2) * 0.4, 2) for n in range(2, 19)}}
ODD_RECORDS = (9, 10, 11)
LAST_124M, LAST_MEDIUM = 89, 18
T1, T2 = "records/track_1_short", "records/track_2_medium"


def fake_code(n: int, medium: bool = False) -> str:
    name = f"medium record {n}" if medium else f"record {n}"
    return f"# fake train script of {name}\nimport os\nprint('{name}')\n"


def measured_ms(n: int, medium: bool = False) -> int:
    """The fake log's final train_time: the README time plus a little, as real logs differ."""
    return int((MEDIUM_MINUTES if medium else README_MINUTES)[n] * 60_000) + 1234


def speedrun_log(final_ms: int, steps: int = 100, final_loss: float = 3.2785, with_train_loss: bool = True) -> str:
    lines = [f"step:0/{steps} val_loss:10.8258 train_time:0ms step_avg:nanms"]
    for step in (1, 2, steps // 2):
        ms = final_ms * step // steps
        loss = f" train_loss:{10 - step * 0.05:.4f}" if with_train_loss else ""
        avg = "nan" if step == 1 else f"{ms / step:.2f}"  # the first timed steps print step_avg:nanms
        lines.append(f"step:{step}/{steps}{loss} train_time:{ms}ms step_avg:{avg}ms")
    lines.append(f"step:{steps // 2}/{steps} val_loss:3.9000 train_time:{final_ms // 2}ms step_avg:1.00ms")
    lines.append(f"step:{steps}/{steps} val_loss:{final_loss:.4f} train_time:{final_ms}ms step_avg:1.00ms")
    lines.append("peak memory consumption: 31563 MiB")
    return "\n".join(lines) + "\n"


def record_txt(code: str, final_ms: int, *, leading_sep: bool = False, with_train_loss: bool = True,
               final_loss: float = 3.2785) -> str:
    env = "Running pytorch 2.5.0 compiled for CUDA 12.4\nnvidia-smi:\n| fake nvidia-smi table |\n\n"
    head = f"{SEP}\n{code}" if leading_sep else code
    return f"{head}{SEP}\n{env}{SEP}\n{speedrun_log(final_ms, with_train_loss=with_train_loss, final_loss=final_loss)}"


def llmc_log(with_lr: bool = True) -> str:
    """llm.c's log: `s:N tel:X` validation lines, `s:N trl:X` training lines (record 1's add lr and norm)."""
    extra = " lr:0.000001 norm:15.37" if with_lr else ""
    return f"s:0 tel:11.0092\ns:0 trl:11.0091{extra}\ns:1 trl:10.9598{extra}\ns:19560 tel:3.2722\n"


def make_modded_nanogpt(root: Path, *, odd: bool = False) -> Path:
    """A checkout in the real layout and with every shape of the real README: two tracks (89 and 18
    records), re-timing rows, folder logs, `[log](...),[PR](...)` cells, rows with only a PR or none,
    times in minutes and hours, a stale link, a log without code beside its train_gpt*.py."""
    rows = [_short_row(root, n, odd) for n in README_MINUTES]
    rows[21:21] = [_retiming_row(root, i, minutes) for i, minutes in enumerate(RETIMED_21, 1)]
    medium = [_medium_row(root, n) for n in MEDIUM_MINUTES]
    header = ["| # | Record time | Description | Date | Log | Contributors |", "| - | - | - | - | - | - |"]
    readme = "\n".join([
        "# Modded-NanoGPT", "", "Intro text.", "", "```bash", "# a comment in a code block, no heading", "```", "",
        "## World record history", "", *header, *rows, "", "## Rules", "", "### Timing change after record 21", "",
        "## Speedrun track 2: GPT-2 Medium", "", "The target is 2.92.", "", *header, *medium, "", "## References", ""])
    _write(root / "README.md", readme)
    return root


def _short_row(root: Path, n: int, odd: bool) -> str:
    minutes = README_MINUTES[n]
    folder = f"{T1}/2024-{n:02d}-01_Record{n}"
    cell = _short_log(root, n, folder, odd)
    return (f"{n} | {minutes} minutes | [Description of record {n}](https://x.com/{n}) | 10/{n:02d}/24 "
            f"| {cell} | @someone")


def _short_log(root: Path, n: int, folder: str, odd: bool) -> str:
    """Write record n's log(s) and return its README log cell."""
    log = f"{folder}/{n:04d}aaaa-uuid.txt"
    pr = f"[PR](https://github.com/someone/modded-nanogpt/pull/{n})"
    if n in (1, 2):
        name = "main.log" if n == 1 else f"{n:04d}aaaa-uuid.log"
        _write(root / folder / name, llmc_log(with_lr=n == 1))
        return f"[log]({folder}/{name})"
    if n in (3, 66):
        return "none" if n == 3 else "-"
    if n in (14, 15, 16, 17, 81):
        return _folder_logs(root, n, folder)
    if n == 85:  # a folder holding only folders of runs: which is the record's is not said
        for sub in ("this_pr_v1", "baseline"):
            _write(root / folder / sub / "run.txt", record_txt(fake_code(n), measured_ms(n)))
        return f"[log]({folder}),{pr}"
    if n == 86:
        return pr
    if odd and n in ODD_RECORDS:
        _write_odd(root / log, n)
        return f"[log]({log})"
    final_ms = measured_ms(n) * (8 if n == 88 else 1)  # 88's log is a run on other hardware
    _write(root / log, record_txt(fake_code(n), final_ms, leading_sep=n == 4, with_train_loss=n <= 14,
                                  final_loss=3.2806 if n == 30 else 3.2785))
    return f"[log]({log})" if n <= 26 else f"[log]({log}),{pr}" if n % 2 else f"[log]({log}), {pr}"


def _folder_logs(root: Path, n: int, folder: str) -> str:
    """Records 14-17 and 81 link a folder of runs. 14's holds a log without code beside its runs,
    15's and 16's an ablation of other code; 81's link names a subfolder."""
    linked = f"{folder}/this_pr_v3" if n == 81 else folder
    runs = 1 if n == 17 else 2
    for i in range(runs):
        text = record_txt(fake_code(n), measured_ms(n) + 2000 * i, with_train_loss=n == 14)
        _write(root / linked / f"{i + 1}{i + 1}{i + 1}{i + 1}-record.txt", text)
    if n == 14:
        _write(root / linked / "0000-log-only.txt", speedrun_log(measured_ms(n)))
    if n in (15, 16):
        _write(root / linked / "9999-ablation.txt", record_txt("# an ablation\n", 1, with_train_loss=False))
    return f"[log]({linked})" + (f",[PR](https://github.com/someone/modded-nanogpt/pull/{n})" if n == 81 else "")


def _write_odd(path: Path, n: int) -> None:
    if n == 10:
        _write(path, speedrun_log(measured_ms(n)))  # no code part
    elif n == 11:
        _write(path, f"{fake_code(n)}{SEP}\nenv\n{SEP}\nstep:1/9 train_time:5ms\n")
    # 9: linked, never written: missing from the checkout


def _retiming_row(root: Path, i: int, minutes: float) -> str:
    log = f"{T1}/2025-0{i}-01_Retime21/{i}{i}{i}{i}-retime.txt"
    _write(root / log, record_txt(fake_code(21) + f"# re-timed {i}\n", int(minutes * 60_000) + 77,
                                  with_train_loss=False))
    return (f"21 | {minutes} minutes | 21st record re-timed ({i}) | 02/0{i}/25 | [log]({log}) "
            "| not a new record, just re-timing #21")


def _medium_row(root: Path, n: int) -> str:
    """The medium track: an llm.c baseline in hours, a starred time, a stale link, a row without
    a log, a log without code beside its train_gpt_medium.py."""
    minutes = MEDIUM_MINUTES[n]
    time_cell = "5.8 hours" if n == 1 else f"{minutes} minutes" + ("*" if n == 6 else "")
    folder = f"{T2}/2025-{n:02d}-02_Medium{n}"
    log = f"{folder}/{n:03d}_uuid.txt"
    if n == 1:
        log = f"{folder}/main.log"
        _write(root / log, "s:0 tel:10.9830\ns:250 tel:6.3097\n")  # validation lines only
    elif n == 10:  # the README's folder was renamed after it was written
        _write(root / f"{T2}/2025-10-02_Renamed10/{n:03d}_uuid.txt", record_txt(fake_code(n, True), measured_ms(n, True)))
    elif n == 17:
        _write(root / log, speedrun_log(measured_ms(n, True), final_loss=2.9185))
        _write(root / folder / "train_gpt_medium.py", fake_code(n, True))
    elif n != 11:
        _write(root / log, record_txt(fake_code(n, True), measured_ms(n, True), with_train_loss=False,
                                      final_loss=2.9190))
    cell = "-" if n == 11 else f"[log]({log})" + (f", [PR](https://github.com/someone/pull/{n})" if n > 8 else "")
    return f"{n} | {time_cell} | Description of medium record {n} | 01/{n:02d}/25 | {cell} | @someone"


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
