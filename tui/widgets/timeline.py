"""Timeline: the whole session as one bar, with where the human stepped in and where we are."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.widget import Widget

MARKS = {"approve": ("✓", "green"), "approve_all": ("✓", "bold green"), "reject": ("✗", "red"),
         "skip": ("✗", "red"), "steer": ("➜", "yellow"), "edit": ("✎", "magenta"), "ask": ("?", "cyan"),
         "fork": ("⑂", "bold cyan")}


@dataclass
class TimelineMarks:
    """Seqs worth marking or jumping to: human decisions, node boundaries, the best node so far."""

    decisions: dict[int, str] = field(default_factory=dict)  # seq -> decision
    node_first: dict[int, int] = field(default_factory=dict)  # node -> its first seq
    node_last: dict[int, int] = field(default_factory=dict)  # node -> its last seq
    best: int | None = None  # as of the last event noted, not of the replay's position

    def note(self, event) -> None:
        if event.seq is None:
            return
        if event.kind == "human_decision" and event.by == "human":
            self.decisions[event.seq] = event.decision
        if event.kind == "node_scored" and event.is_best:
            self.best = event.node
        if event.node is not None:
            self.node_first.setdefault(event.node, event.seq)
            self.node_last[event.node] = max(event.seq, self.node_last.get(event.node, -1))


class Timeline(Widget):
    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.total = 0
        self.position = 0  # events applied
        self.caption = ""
        self.marks = TimelineMarks()

    def show(self, total: int, position: int, caption: str) -> None:
        if (total, position, caption) != (self.total, self.position, self.caption):
            self.total, self.position, self.caption = total, position, caption
            self.refresh()

    def render(self) -> Text:
        width = max(10, self.size.width)
        bar = Text(no_wrap=True)
        cells = [("─", "dim")] * width
        for seq in self.marks.node_first.values():
            cells[self._cell(seq, width)] = ("┬", "blue")
        for seq, decision in sorted(self.marks.decisions.items()):
            cells[self._cell(seq, width)] = MARKS.get(decision, ("•", "white"))
        for char, style in cells:
            bar.append(char, style=style)
        bar.append("\n")
        cursor = self._cell(max(0, self.position - 1), width) if self.total else 0
        line = Text(" " * cursor + "▲", no_wrap=True, style="bold")
        caption = f" {self.caption}"
        if cursor + 1 + len(caption) <= width:
            line.append(caption)
        else:
            line = Text(f"{self.caption} ".rjust(cursor) + "▲", no_wrap=True)
            line.stylize("bold", len(line) - 1)
        bar.append_text(line)
        return bar

    def _cell(self, seq: int, width: int) -> int:
        if self.total <= 1:
            return 0
        return min(width - 1, seq * width // self.total)
