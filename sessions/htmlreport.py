"""`speedrun-tui report`: a static HTML report of sessions that opens offline, with no server.

DIR/index.html holds the paper's figures on these sessions (FSR across tasks per hint regime,
scaffold and model, beside the paper's published means; node outcomes; FSR against elapsed time
per mode) and links one page per session, DIR/sessions/<id>.html: its search tree, each node's
plan, diff and loss curve, and the verification result. Plotly draws every chart; its JavaScript
is written once, as DIR/plotly.min.js, and each page loads it from there: a file beside the
pages, so nothing comes from the network, and a sweep's hundreds of pages share one copy.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sessions import events as ev
from sessions import figures, paper
from speedrun_tui.codediff import diff_stats
from sessions.elapsed import format_duration, fsr_over_span
from sessions.nodes import Node
from sessions.report import fsr_text, verified_text
from sessions.scoring import BOOTSTRAP_SAMPLES, Score, score_session, summarize
from sessions.state import SessionState, display_status
from sessions.store import Store
from speedrun_tui.errors import UserError

GROUPINGS = ("hints", "scaffold", "model")
PLOTLY_JS = "plotly.min.js"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; } td, th { padding: 2px 10px; text-align: left; }
th { border-bottom: 1px solid #999; } tr:nth-child(even) td { background: #f4f4f6; }
pre { background: #f7f7f9; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; }
.diff .add { color: #1b5e20; background: #e8f5e9; } .diff .del { color: #b71c1c; background: #ffebee; }
.diff .hunk { color: #6a1b9a; } .note { color: #555; } section.node { border-top: 1px solid #ccc; margin-top: 1.5em; }
"""


@dataclass
class SessionRecord:
    """One session read back for the report."""

    state: SessionState
    score: Score
    reasons: dict[int, str]  # why the harness scored each node as it did (NodeScored.reason)


def read_session(store: Store, session_id: str) -> SessionRecord:
    state, reasons = SessionState(session_id), {}
    for event in store.iter_events(session_id, skip_kinds=(ev.LogLines.kind,)):
        state.apply(event)
        if event.kind == ev.NodeScored.kind and event.reason:
            reasons[event.node] = event.reason
    return SessionRecord(state, score_session(state), reasons)


def write_report(store: Store, session_ids: list[str], out: Path, *, title: str = "", seed: int = 0,
                 with_paper: bool = True, track: Callable[[list[str]], Iterable[str]] = list) -> Path:
    """Write the report of these sessions into `out` (made if missing); returns its index page.
    `track` wraps the sessions as they are gone through (a progress bar)."""
    from plotly.offline import get_plotlyjs

    if not session_ids:
        raise UserError(f"no sessions to report in {store.path}")
    records = []
    try:
        (out / "sessions").mkdir(parents=True, exist_ok=True)
        (out / PLOTLY_JS).write_text(get_plotlyjs())
        for session_id in track(session_ids):
            records.append(read_session(store, session_id))
            (out / "sessions" / f"{session_id}.html").write_text(session_page(records[-1]))
        index = out / "index.html"
        index.write_text(index_page(store, records, title=title, seed=seed, with_paper=with_paper))
    except OSError as err:
        raise UserError(f"cannot write the report to {out}: {err.strerror or err}") from None
    return index


def _page(title: str, body: str, *, root: str = "") -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<script src=\"{root}{PLOTLY_JS}\"></script><style>{_STYLE}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def _chart(fig) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """Cells are HTML already (escaped by the caller)."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _num(value: float | None, fmt: str = "{:.2f} s") -> str:
    return "-" if value is None else fmt.format(value)


def index_page(store: Store, records: list[SessionRecord], *, title: str, seed: int, with_paper: bool) -> str:
    scores = [r.score for r in records]
    over_time, at_s = fsr_over_span(store, [r.state for r in records], by="mode", seed=seed)
    heading = title or "speedrun-tui report"
    parts = [f"<h1>{html.escape(heading)}</h1>",
             f"<p class=\"note\">{len(records)} sessions over {len({s.task for s in scores})} tasks, from "
             f"{html.escape(str(store.path))}; written {time.strftime('%Y-%m-%d %H:%M')}.</p>",
             "<h2>FSR across tasks</h2>",
             f"<p class=\"note\">Per task and configuration, the mean of its top-3 sessions' FSR (padded with 0); "
             f"across tasks, the mean and the IQM (the middle half of the top-3 FSRs of every task pooled), each "
             f"with a percentile 95% interval from a stratified bootstrap ({BOOTSTRAP_SAMPLES} resamples of each "
             f"task's sessions on their own, seed {seed}), as <code>compare</code> and the scores screen.</p>"]
    if with_paper:
        parts.append(f"<p class=\"note\">Grey hatched bars are <b>the paper's</b> published mean FSR ({paper.SOURCE}: "
                     "real NanoGPT records on 8xH100, 3 models x 5 scaffolds pooled), not a measurement of "
                     "these sessions; they compare with yours only on the same tasks and hardware.</p>")
    parts += [_chart(figures.estimates_figure(summarize(scores, by=(by,), seed=seed), by, with_paper=with_paper))
              for by in GROUPINGS]
    parts += ["<h2>Node outcomes</h2>", _chart(figures.outcomes_figure(scores, "model")),
              "<h2>FSR against elapsed time</h2>",
              "<p class=\"note\">Per mode, each session's best search FSR reached by each elapsed time (its "
              "running time), averaged over the sessions that ran that long (<code>compare --at</code>).</p>",
              _chart(figures.time_figure(over_time, at_s)),
              "<h2>Sessions</h2>", _sessions_table(records)]
    return _page(heading, "\n".join(parts))


def _sessions_table(records: list[SessionRecord]) -> str:
    rows = []
    for r in records:
        s, status = r.score, r.state.finished.status if r.state.finished else "unfinished"
        link = f"<a href=\"sessions/{s.session}.html\">{s.session}</a>"
        rows.append([link, *(html.escape(v) for v in (s.task, s.model, s.scaffold, s.hints, s.mode, status)),
                     html.escape(fsr_text(s.fsr, s.target_source, s.fsr_low, s.fsr_high)),
                     _node_counts(s), _num(s.best_time_s)])
    return _table(["session", "task", "model", "scaffold", "hints", "mode", "status", "FSR",
                   "nodes (buggy/improved/no impr.)", "best time"], rows)


def session_page(record: SessionRecord) -> str:
    state, s = record.state, record.score
    verified = " (verified)" if s.verified else " (search: one timing of each code)"
    times = f"{_num(s.start_time_s)} → {_num(s.target_time_s)} ({s.times_source}, next record {s.target_source})"
    facts = [("task", s.task),
             ("model · scaffold · hints · mode", f"{s.model} · {s.scaffold} · {s.hints} · {s.mode}"),
             ("FSR", fsr_text(s.fsr, s.target_source, s.fsr_low, s.fsr_high) + verified),
             ("search FSR", _num(s.search_fsr, "{:.3f}")), ("start → next record", times),
             ("best time", _num(s.best_time_s)), ("nodes (buggy/improved/no improvement)", _node_counts(s)),
             ("tokens · cost", f"{s.tokens} · ${s.cost_usd:.2f}"), ("running time", format_duration(s.wall_s)),
             ("interventions", str(s.interventions))]
    nodes = sorted(state.nodes.values(), key=lambda n: n.id)
    body = [f"<p><a href=\"../index.html\">← report</a></p><h1>Session {html.escape(s.session)}</h1>",
            _table(["", ""], [[name, html.escape(value)] for name, value in facts]),
            "<h2>Verification</h2>", _verification(state), "<h2>Search tree</h2>", _chart(figures.tree_figure(state)),
            "<h2>Nodes</h2>", *(_node_section(record, node) for node in nodes)]
    return _page(f"session {s.session}: {s.task}", "\n".join(body), root="../")


def _node_counts(s: Score) -> str:
    return f"{s.nodes} ({s.buggy_nodes}/{s.improved_nodes}/{s.no_improvement_nodes})"


def _verification(state: SessionState) -> str:
    parts = []
    verified = state.verified
    if verified is None:
        parts.append("<p>Not verified: the FSR is the search FSR, one timing of each code.</p>")
    else:
        text = verified_text(verified.fsr, verified.low, verified.high, verified.rounds, verified.improved)
        parts.append(f"<p>Verified {html.escape(text)}; best node #{verified.best_node}, next record's time "
                     f"{html.escape(verified.reference_source)}.</p>")
    if state.retimings:
        parts.append(_table(["round", "role", "seed", "time", "status", "reason"],
                            [[str(r.round), html.escape(r.role), str(r.seed), _num(r.time_s), html.escape(r.status),
                              html.escape(r.reason)] for r in state.retimings]))
    timed = state.target_timing
    if timed is not None:
        parts.append(f"<p>The next record's code, timed in this session: {_num(timed.time_s)} "
                     f"({html.escape(timed.status)}{', ' + html.escape(timed.reason) if timed.reason else ''}).</p>")
    return "\n".join(parts)


def _node_section(record: SessionRecord, node: Node) -> str:
    state = record.state
    status = display_status(node, state)
    parent = f", from #{node.parent}" if node.parent is not None else ""
    loss = node.result.final_val_loss if node.result is not None else None
    head = (f"<h3>#{node.id} {html.escape(node.stage)}{parent}: {html.escape(status)}, time {_num(node.time_s)}, "
            f"val_loss {_num(loss, '{:.4f}')}</h3>")
    reason = record.reasons.get(node.id) or (node.result.reason if node.result is not None else "")
    parts = [f"<section class=\"node\" id=\"node-{node.id}\">", head]
    if reason:
        parts.append(f"<p class=\"note\">{html.escape(reason)}</p>")
    if node.plan.strip():
        parts.append(f"<h4>Plan</h4><pre>{html.escape(node.plan)}</pre>")
    if node.diff:
        added, removed = diff_stats(node.diff)
        against = f" against #{node.parent}" if node.parent is not None else ""
        parts.append(f"<h4>Diff{against} (+{added} −{removed})</h4>{_diff(node.diff)}")
    if node.result is not None and node.result.buggy and node.result.stderr_tail:
        parts.append(f"<h4>stderr (tail)</h4><pre>{html.escape(node.result.stderr_tail)}</pre>")
    if state.curve(node.id):
        parts.append(_chart(figures.loss_figure(state, node.id)))
    return "\n".join(parts + ["</section>"])


def _diff(diff: str) -> str:
    def line(text: str) -> str:
        kind = ("hunk" if text.startswith("@@") else "add" if text.startswith("+") and not text.startswith("+++")
                else "del" if text.startswith("-") and not text.startswith("---") else "")
        return f"<span class=\"{kind}\">{html.escape(text)}</span>" if kind else html.escape(text)

    return "<pre class=\"diff\">" + "\n".join(line(t) for t in diff.splitlines()) + "</pre>"
