"""SearchTree: the session's nodes as a tree, coloured by status, with time and val_loss."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from sessions.nodes import Node
from sessions.state import SessionState, display_status

STATUS_STYLES = {
    "pending": "dim",
    "proposed": "cyan",
    "running": "bold yellow",
    "buggy": "red",
    "valid": "green",
    "improved": "bold green",
    "within noise": "green",
    "best": "bold magenta",
    "target_missed": "dark_orange",
    "invalid": "red dim",
    "rejected": "dim strike",
}


def node_label(node: Node, state: SessionState) -> Text:
    status = display_status(node, state)
    label = Text(f"#{node.id} ", style="bold")
    label.append(f"{node.stage} ", style="dim")
    if node.forked:
        label.append("fork ", style="bold cyan")  # a person picked its parent, not the scaffold
    label.append(status, style=STATUS_STYLES.get(status, ""))
    if node.time_s is not None:
        label.append(f" {node.time_s:.1f}s")
    if node.result is not None and node.result.load is not None and node.result.load.oversubscribed:
        label.append(" busy", style="yellow")  # timed on an oversubscribed machine: the time is suspect
    loss = _last_loss(node, state)
    if loss is not None:
        label.append(f" {loss:.3f}", style="dim")
    return label


def _last_loss(node: Node, state: SessionState) -> float | None:
    if node.result is not None and node.result.final_val_loss is not None:
        return node.result.final_val_loss
    curve = state.curves.get(node.id)
    return curve[-1].val_loss if curve else None


class SearchTree(Tree[int]):
    class NodeChosen(Message):
        """The user picked a node to look at."""

        def __init__(self, node_id: int):
            super().__init__()
            self.node_id = node_id

    def __init__(self, *, id: str | None = None):
        super().__init__("search", id=id)
        self.show_root = False
        self.guide_depth = 2
        self._items: dict[int, TreeNode[int]] = {}

    def show(self, state: SessionState) -> None:
        if any(node_id not in state.nodes for node_id in self._items):
            self.clear()  # replay stepped back past a node's creation
            self._items.clear()
        for node_id in sorted(state.nodes):
            node = state.nodes[node_id]
            label = node_label(node, state)
            item = self._items.get(node_id)
            if item is None:
                parent = self._items.get(node.parent, self.root) if node.parent is not None else self.root
                self._items[node_id] = parent.add(label, data=node_id, expand=True)
            elif item.label != label:
                item.set_label(label)

    def on_tree_node_selected(self, message: Tree.NodeSelected[int]) -> None:
        message.stop()
        if message.node.data is not None:
            self.post_message(self.NodeChosen(message.node.data))
