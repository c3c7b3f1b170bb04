"""Rich tables and CSV for `sessions`, `score` and `compare`."""

from __future__ import annotations

import csv
import time
from typing import TextIO

from rich import box
from rich.table import Table

from sessions.scoring import Estimate, GroupSummary, Score, TaskScore, difference
from sessions.store import SessionInfo

CSV_FIELDS = ("session", "task", "model", "scaffold", "hints", "mode", "fsr", "best_time_s", "start_time_s",
              "target_time_s", "times_source", "target_source", "provisional", "nodes", "buggy_nodes", "improved_nodes",
              "no_improvement_nodes", "tokens", "cost_usd", "wall_s", "interventions", "finished", "judge_score")

_STATUS_STYLE = {"running": "green", "finished": "", "unfinished": "yellow"}
_PROVISIONAL_NOTE = "~FSR: provisional, the next record's time rescaled by another kind of CPU's calibration"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def fsr_text(value: float | None, target_source: str | None, low: float | None = None,
             high: float | None = None) -> str:
    """The FSR, with "~" when it rests on another kind of CPU's calibration (provisional), and the
    verified FSR's 95 % interval when it has one."""
    interval = f" [{_num(low, 2)}, {_num(high, 2)}]" if low is not None and high is not None else ""
    return ("~" if value is not None and target_source == "provisional" else "") + _num(value) + interval


def verified_text(fsr: float | None, low: float | None, high: float | None, rounds: int,
                  improved: bool | None = None) -> str:
    """The verified FSR with its 95 % interval and how many paired rounds it rests on."""
    if rounds == 0:
        return f"FSR {_num(fsr)} (the start code is the best node: nothing to re-time)"
    interval = f" [{_num(low)}, {_num(high)}]" if low is not None else " (no interval)"
    verdict = "" if improved is None else (", improved" if improved else ", within noise")
    return f"FSR {_num(fsr)}{interval} over {rounds} paired round{'s' if rounds != 1 else ''}{verdict}"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _table(title: str, columns: list[tuple[str, str]]) -> Table:
    """A compact table; text columns fold rather than cut, so ids and numbers stay whole."""
    table = Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in columns:
        table.add_column(name, justify=justify, overflow="fold", no_wrap=justify == "right")
    return table


def _config(model: str, scaffold: str, hints: str) -> str:
    return f"{model} · {scaffold} · hints {hints}"


def sessions_table(infos: list[SessionInfo]) -> Table:
    table = _table("Sessions", [("id", "left"), ("started", "left"), ("task", "left"), ("mode", "left"),
                                ("model · scaffold · hints", "left"), ("status", "left"), ("nodes", "right"),
                                ("best", "right"), ("FSR", "right")])
    for info in infos:
        status = info.status if info.ended in ("", info.status) else f"{info.status} ({info.ended})"
        style = _STATUS_STYLE.get(info.status, "")
        table.add_row(info.id, time.strftime("%m-%d %H:%M", time.localtime(info.created_ts)), info.task, info.mode,
                      _config(info.model, info.scaffold, info.hints), f"[{style}]{status}[/]" if style else status,
                      str(info.nodes), _secs(info.best_time_s),
                      fsr_text(info.fsr, info.target_source, info.fsr_low, info.fsr_high))
    table.caption = _PROVISIONAL_NOTE if any(i.target_source == "provisional" for i in infos) else None
    return table


def scores_table(scores: list[Score]) -> Table:
    table = _table("Scores", [("session", "left"), ("task", "left"), ("mode", "left"),
                              ("model · scaffold · hints", "left"), ("FSR", "right"), ("best", "right"),
                              ("start→next", "right"), ("nodes b/i/n", "right"), ("tokens", "right"),
                              ("cost", "right"), ("wall", "right"), ("interv.", "right")])
    for s in scores:
        times = f"{_secs(s.start_time_s)}→{_secs(s.target_time_s)}"
        if s.target_source == "timed":
            times += " (t)"
        elif s.times_source == "measured":
            times += " (m)"
        table.add_row(s.session, s.task, s.mode, _config(s.model, s.scaffold, s.hints),
                      fsr_text(s.fsr, s.target_source, s.fsr_low, s.fsr_high),
                      _secs(s.best_time_s), times,
                      f"{s.nodes} {s.buggy_nodes}/{s.improved_nodes}/{s.no_improvement_nodes}",
                      str(s.tokens), f"${s.cost_usd:.2f}", _secs(s.wall_s), str(s.interventions))
    notes = ["nodes b/i/n: buggy / improved / no improvement", "(m): start time measured in the session"]
    if any(s.verified for s in scores):
        notes.append("FSR [a, b]: verified by paired re-timing, with its 95% interval")
    if any(s.target_source == "timed" for s in scores):
        notes.append("(t): both times measured in the session")
    if any(s.provisional for s in scores):
        notes.append(_PROVISIONAL_NOTE)
    table.caption = "; ".join(notes)
    return table


def task_table(tasks: list[TaskScore]) -> Table:
    table = _table("Per task and configuration: top-3 sessions, padded with FSR 0",
                   [("task", "left"), ("mode", "left"), ("model · scaffold · hints", "left"), ("sessions", "right"),
                    ("top-3 FSR", "right"), ("mean ± s.e.", "right")])
    for t in tasks:
        config = _config(*(t.config.get(key, "*") for key in ("model", "scaffold", "hints")))
        table.add_row(t.task, t.config.get("mode", "*"), config, str(t.sessions),
                      " ".join(f"{v:.2f}" for v in t.top), f"{t.mean:.3f} ± {t.stderr:.3f}")
    return table


def _ci(estimate: Estimate) -> str:
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"


def compare_table(groups: list[GroupSummary], by: str, seed: int) -> Table:
    baseline = groups[0].config[by] if groups else ""
    table = _table(f"FSR by {by} across tasks, bootstrap 95% CI (seed {seed})",
                   [(by, "left"), ("tasks", "right"), ("sessions", "right"), ("mean", "right"),
                    ("median", "right"), ("IQM", "right"), (f"mean - {baseline}", "right")])
    for group in groups:
        gap = ""
        if group is not groups[0]:
            estimate, significant = difference(group, groups[0], seed=seed)
            gap = f"{_ci(estimate)} {'significant' if significant else 'n.s.'}"
        table.add_row(group.config[by], str(len(group.tasks)), str(sum(t.sessions for t in group.tasks)),
                      _ci(group.mean), _ci(group.median), _ci(group.iqm), gap)
    return table


def anytime_table(groups: list, by: str, at_s: list[float], seed: int) -> Table:
    """`compare --at`: each group's mean best search FSR by each elapsed time, over the sessions
    that ran that long (n), with a bootstrap 95 % CI."""
    from sessions.elapsed import format_duration

    table = _table(f"best search FSR by elapsed time, by {by}, bootstrap 95% CI (seed {seed})",
                   [(by, "left"), ("sessions", "right"), *[(f"by {format_duration(t)}", "right") for t in at_s]])
    for group in groups:
        cells = [f"{_ci(e)} n={n}" if e is not None else "- n=0" for e, n in zip(group.at, group.counted)]
        table.add_row(group.config[by], str(group.sessions), *cells)
    return table


def write_csv(scores: list[Score], out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for score in scores:
        row = score.to_json()
        writer.writerow(["" if row[key] is None else row[key] for key in CSV_FIELDS])
