"""The HTML report's charts, as Plotly figures: FSR across tasks with its intervals (beside the
paper's), node outcomes, FSR against elapsed time, a session's search tree and a node's loss curve.

Only the report command imports this module (plotly is heavy: the TUI never loads it).
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from sessions import paper
from sessions.elapsed import AnytimeGroup
from sessions.scoring import Estimate, GroupSummary, Score
from sessions.state import SessionState, display_status

# A small template: Plotly's default one would be copied into every chart of every page.
_LAYOUT = dict(template=go.layout.Template(layout=dict(
    font=dict(family="system-ui, sans-serif", size=12), paper_bgcolor="white", plot_bgcolor="#f7f7f9",
    xaxis=dict(gridcolor="white"), yaxis=dict(gridcolor="white", zerolinecolor="#bbb"),
    margin=dict(l=60, r=20, t=50, b=50))))
MEAN, IQM, PAPER = "#3366cc", "#109618", "#aaaaaa"
STATUS_COLORS = {"best": "#9c27b0", "improved": "#2e7d32", "within noise": "#81c784", "valid": "#a5d6a7",
                 "buggy": "#e53935", "target_missed": "#fb8c00", "invalid": "#8d6e63", "rejected": "#bdbdbd",
                 "running": "#fdd835", "proposed": "#4fc3f7", "pending": "#e0e0e0"}
MODES = {"human": "person alone (human)", "auto": "agent alone (auto)", "copilot": "co-pilot (copilot)"}
OUTCOMES = (("buggy_nodes", "buggy", "#e53935"), ("no_improvement_nodes", "valid, no improvement", "#a5d6a7"),
            ("improved_nodes", "improved", "#2e7d32"))


def _errors(estimates: list[Estimate | None]) -> dict:
    """Asymmetric error bars from each estimate's interval."""
    return dict(type="data", symmetric=False, array=[e.high - e.value if e else None for e in estimates],
                arrayminus=[e.value - e.low if e else None for e in estimates])


def estimates_figure(groups: list[GroupSummary], by: str, *, with_paper: bool = True) -> go.Figure:
    """Mean and IQM FSR across tasks per value of `by`, with their 95 % intervals; the paper's
    published mean beside them where it has one for this grouping."""
    published = paper.MEAN_FSR.get(by, {}) if with_paper else {}
    ours = {g.config[by]: g for g in groups}
    names = list(published) + [name for name in ours if name not in published]
    x = [paper.label(by, name) for name in names]
    fig = go.Figure(layout=_LAYOUT)
    for stat, title, color in (("mean", "mean (yours)", MEAN), ("iqm", "IQM (yours)", IQM)):
        estimates = [getattr(ours[name], stat) if name in ours else None for name in names]
        fig.add_bar(x=x, y=[e.value if e else None for e in estimates], name=title, marker_color=color,
                    error_y=_errors(estimates), texttemplate="%{y:.3f}", textposition="inside")
    if published:
        fig.add_bar(x=x, y=[published.get(name) for name in names], name=f"mean, the paper's ({paper.SOURCE})",
                    marker=dict(color=PAPER, pattern_shape="/"), texttemplate="%{y:.3f}", textposition="inside")
    fig.update_layout(title=f"FSR by {by} across tasks (stratified bootstrap 95% CI)", barmode="group",
                      yaxis_title="FSR", legend=dict(orientation="h", y=-0.2))
    return fig


def outcomes_figure(scores: list[Score], by: str) -> go.Figure:
    """How the nodes that ran ended, per value of `by`: buggy, valid without improvement, improved."""
    names = sorted({getattr(s, by) for s in scores})
    fig = go.Figure(layout=_LAYOUT)
    for field, title, color in OUTCOMES:
        counts = [sum(getattr(s, field) for s in scores if getattr(s, by) == name) for name in names]
        fig.add_bar(x=names, y=counts, name=title, marker_color=color, texttemplate="%{y}")
    fig.update_layout(title=f"Node outcomes by {by}", barmode="stack", yaxis_title="nodes")
    return fig


def time_figure(groups: list[AnytimeGroup], at_s: list[float]) -> go.Figure:
    """Per mode (person, agent, co-pilot), the mean best search FSR reached by each elapsed time."""
    fig = go.Figure(layout=_LAYOUT)
    minutes = [t / 60 for t in at_s]
    for group in groups:
        mode = group.config["mode"]
        name = MODES.get(mode, mode)
        fig.add_scatter(x=minutes, y=[e.value if e else None for e in group.at], name=name, mode="lines+markers",
                        error_y=_errors(group.at), customdata=group.counted,
                        hovertemplate="%{y:.3f} over %{customdata} sessions<extra>" + name + "</extra>")
    fig.update_layout(title="Best search FSR against elapsed time, by mode (bootstrap 95% CI over sessions)",
                      xaxis_title="elapsed (minutes of running time)", yaxis_title="FSR")
    return fig


def tree_figure(state: SessionState) -> go.Figure:
    """The search tree, root on top, each node coloured by its status."""
    nodes = sorted(state.nodes.values(), key=lambda n: n.id)
    statuses = [display_status(n, state) for n in nodes]
    hover = [f"#{n.id} {n.stage}: {status}" + (f", {n.time_s:.2f} s" if n.time_s is not None else "")
             + (f"<br>{html.escape(n.plan.strip().splitlines()[0][:100])}" if n.plan.strip() else "")
             for n, status in zip(nodes, statuses)]
    fig = go.Figure(go.Icicle(
        ids=[str(n.id) for n in nodes], parents=[str(n.parent) if n.parent in state.nodes else "" for n in nodes],
        labels=[f"#{n.id} {status}" for n, status in zip(nodes, statuses)], hovertext=hover, hoverinfo="text",
        marker=dict(colors=[STATUS_COLORS.get(s, "#e0e0e0") for s in statuses]), tiling=dict(orientation="v"),
        maxdepth=-1), layout=_LAYOUT)
    fig.update_layout(title="Search tree (click a node to zoom in)", height=max(260, 90 * (1 + _depth(state))))
    return fig


def _depth(state: SessionState) -> int:
    def depth(node_id: int) -> int:
        parent = state.nodes[node_id].parent
        return 0 if parent not in state.nodes else 1 + depth(parent)

    return max((depth(n) for n in state.nodes), default=0)


def loss_figure(state: SessionState, node_id: int) -> go.Figure:
    """val_loss against train_time for this node and its parent, with the target loss."""
    parent = state.nodes[node_id].parent
    traces = [go.Scatter(x=[p.train_time_ms / 1000 for p in points], y=[p.val_loss for p in points], name=name,
                         mode="lines+markers", line_color=color)
              for shown, name, color in ((parent, f"parent #{parent}", "#9e9e9e"), (node_id, f"#{node_id}", MEAN))
              if (points := state.curve(shown))]
    target = state.started.target_loss if state.started else None
    # A layout line, not add_hline: that helper costs most of a page's time on a sweep's hundreds of nodes.
    marks = dict(shapes=[dict(type="line", xref="paper", x0=0, x1=1, y0=target, y1=target,
                              line=dict(dash="dash", color="#e53935"))],
                 annotations=[dict(xref="paper", x=1, y=target, text=f"target {target}", showarrow=False,
                                   xanchor="right", yanchor="bottom")]) if target is not None else {}
    return go.Figure(traces, layout=dict(_LAYOUT, title=f"Node #{node_id}: validation loss", height=320,
                                         xaxis_title="train_time (s)", yaxis_title="val_loss", **marks))
