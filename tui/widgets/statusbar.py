"""StatusBar: task, model, mode, node k of N, best time, FSR so far, tokens and cost, elapsed."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from sessions.state import SessionState

DEFAULT_NODE_BUDGET = 20  # the benchmark's cap on training runs per session


@dataclass(frozen=True)
class Status:
    task: str
    model: str
    mode: str
    nodes: int
    node_budget: int
    best_time_s: float | None
    fsr: float | None
    tokens: int
    cost_usd: float
    elapsed_s: float
    state: str  # running, paused, waiting for you, finished...
    provisional: bool = False  # the FSR rests on another CPU's calibration: marked "(prov.)"
    interval: tuple[float | None, float | None] | None = None  # the verified FSR's 95 % interval
    busy: str = ""  # the last finished run's machine was oversubscribed: why its times are suspect, short
    time_budget_s: float | None = None  # --time-budget: the search stops when elapsed_s reaches it


def status_of(state: SessionState, *, mode: str | None, fsr: float | None, now: float, activity: str,
              provisional: bool = False) -> Status:
    started = state.started
    # "budget" is what the controller settled on (max_nodes, or the model's default: 1 for reference).
    config = started.config if started else {}
    budget = config.get("budget") or config.get("max_nodes") or DEFAULT_NODE_BUDGET
    return Status(
        task=started.task if started else "-",
        model=started.model if started else "-",
        mode=mode or (started.mode if started else "-"),
        nodes=sum(1 for node in state.nodes.values() if node.stage != "root"),
        node_budget=budget,
        best_time_s=state.best_time_s,
        fsr=state.verified.fsr if state.verified else fsr,
        interval=(state.verified.low, state.verified.high) if state.verified and state.verified.rounds else None,
        tokens=state.tokens_in + state.tokens_out,
        cost_usd=state.cost_usd,
        elapsed_s=state.elapsed_s(now),
        time_budget_s=state.time_budget_s,
        state=activity,
        provisional=provisional,
        busy=state.last_run.load.short if state.last_run is not None and state.last_run.load is not None else "",
    )


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _fsr(status: Status) -> str:
    if status.fsr is None:
        return "-"
    if status.interval is not None and status.interval[0] is not None:
        return f"{status.fsr:.3f} [{status.interval[0]:.2f}, {status.interval[1]:.2f}] verified"
    return f"{status.fsr:.3f}" + (" (prov.)" if status.provisional else "")


def status_text(status: Status) -> Text:
    parts = [
        ("", status.task, "bold"),
        ("", _short(status.model), ""),
        ("mode ", status.mode, "bold cyan"),
        ("node ", f"{status.nodes}/{status.node_budget}", ""),
        ("best ", "-" if status.best_time_s is None else f"{status.best_time_s:.1f}s", "green"),
        ("FSR ", _fsr(status), "bold magenta"),
        *([("busy: ", status.busy, "yellow")] if status.busy else []),
        ("", f"{status.tokens:,} tok ${status.cost_usd:.2f}", ""),
        ("", _clock(status.elapsed_s) + (f"/{_clock(status.time_budget_s)}" if status.time_budget_s else ""),
         "yellow" if status.time_budget_s and status.elapsed_s >= 0.9 * status.time_budget_s else ""),
        ("", status.state, "reverse" if status.state.startswith("waiting") else "italic"),
    ]
    text = Text(" ")
    for i, (label, value, style) in enumerate(parts):
        if i:
            text.append(" │ ", style="dim")
        text.append(label, style="dim")
        text.append(value, style=style)
    return text


class StatusBar(Static):
    def __init__(self, *, id: str | None = None):
        super().__init__("", id=id)
        self._status: Status | None = None

    def show(self, status: Status) -> None:
        if status != self._status:
            self._status = status
            self.update(status_text(status))
