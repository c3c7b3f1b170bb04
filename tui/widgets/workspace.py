"""Workspace: plan/chat, search tree, diff, loss chart and live log, side by side.

The live session screen and the replay screen both feed it a SessionState (and the
events just applied to it); it decides which node to show and what to repaint.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Log

from sessions import events as ev
from sessions.state import SessionState, display_status
from tui.widgets.chart import LossChart, Series
from tui.widgets.chat import ChatPane
from tui.widgets.diffpane import DiffPane
from tui.widgets.tree import SearchTree

LOG_PANE_LINES = 10_000
NODE_KINDS = {"node_created", "edit_proposed", "human_decision", "edit_applied", "run_started",
              "run_finished", "node_scored", "metric"}
CHART_KINDS = {"metric", "run_started", "run_finished", "node_scored"}
DIFF_KINDS = {"edit_proposed", "approval_requested", "edit_applied", "human_decision"}


class Workspace(Horizontal):
    def __init__(self, *extra_left: Widget, id: str | None = None):
        super().__init__(id=id)
        self._extra_left = extra_left
        self.pinned: int | None = None  # the node the user chose; None follows the newest
        self._shown_node: int | None = None
        self._last_state: SessionState | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="left-col"):
            yield ChatPane(id="chat")
            yield from self._extra_left
            yield SearchTree(id="tree")
        yield DiffPane(id="diff")
        with Vertical(id="right-col"):
            yield LossChart(id="chart")
            yield Log(id="log", max_lines=LOG_PANE_LINES)

    def on_mount(self) -> None:
        self.query_one(ChatPane).border_title = "Plan & chat"
        self.query_one(SearchTree).border_title = "Search tree"
        self.query_one(LossChart).border_title = "val_loss vs train_time"
        self.query_one(Log).border_title = "Log"

    def focus_node(self, state: SessionState) -> int | None:
        if self.pinned is not None and self.pinned in state.nodes:
            return self.pinned
        if state.pending_approval is not None and state.pending_approval.node in state.nodes:
            return state.pending_approval.node
        return max(state.nodes) if state.nodes else None

    def pin(self, node_id: int | None) -> None:
        self.pinned = node_id
        if self._last_state is not None:
            self.show(self._last_state)

    def show(self, state: SessionState, events: list[ev.Event] | None = None) -> None:
        """Repaint from `state`; with `events` (just applied), only what they touched."""
        self._last_state = state
        node_id = self.focus_node(state)
        full = events is None or node_id != self._shown_node
        kinds = set() if events is None else {event.kind for event in events}
        self._shown_node = node_id
        self.query_one(ChatPane).show(state.chat)
        if full or kinds & NODE_KINDS:
            self.query_one(SearchTree).show(state)
        if full or kinds & DIFF_KINDS:
            self._show_diff(state, node_id)
        if full or kinds & CHART_KINDS:
            self._show_chart(state, node_id)
        if full or any(e.kind == "run_started" and e.node == node_id for e in events or ()):
            self._show_log(state.logs.get(node_id, []), node_id)
        else:
            self._append_log(events or (), node_id)

    def _show_diff(self, state: SessionState, node_id: int | None) -> None:
        node = state.node(node_id)
        pending = state.pending_approval
        if pending is not None and pending.node == node_id:
            diff, title = pending.diff, f"Diff · node {node_id} · awaiting approval"
        elif node is not None:
            diff, title = node.diff, f"Diff · node {node_id} vs {node.parent if node.parent is not None else 'start'}"
        else:
            diff, title = "", "Diff"
        self.query_one(DiffPane).show(diff, title)

    def _show_chart(self, state: SessionState, node_id: int | None) -> None:
        node = state.node(node_id)
        series: list[Series] = []
        if node is not None and node.parent is not None and node.parent != state.best_node:
            series.append(Series(f"parent #{node.parent}", _curve(state, node.parent), "grey62"))
        if state.best_node is not None and state.best_node != node_id:
            series.append(Series(f"best #{state.best_node}", _curve(state, state.best_node), "magenta"))
        if node is not None:
            series.append(Series(f"#{node_id} {display_status(node, state)}", _curve(state, node_id), "yellow"))
        target = state.started.target_loss if state.started else None
        self.query_one(LossChart).plot(series, target)

    def _show_log(self, lines: list[str], node_id: int | None) -> None:
        log = self.query_one(Log)
        log.clear()
        log.border_title = f"Log · node {node_id}" if node_id is not None else "Log"
        log.write_lines(lines)

    def _append_log(self, events: Iterable[ev.Event], node_id: int | None) -> None:
        lines = [line for event in events if isinstance(event, ev.LogLines) and event.node == node_id
                 for line in event.lines]
        if lines:
            self.query_one(Log).write_lines(lines)

    def on_search_tree_node_chosen(self, message: SearchTree.NodeChosen) -> None:
        self.pin(None if message.node_id == self.pinned else message.node_id)


def _curve(state: SessionState, node_id: int) -> tuple[tuple[float, float], ...]:
    return tuple((p.train_time_ms / 1000.0, p.val_loss) for p in state.curve(node_id))
