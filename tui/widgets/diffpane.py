"""DiffPane: the proposed or applied edit against the parent; side by side when wide enough."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.events import Resize
from textual.widgets import Static

from speedrun_tui.codediff import diff_stats
from tui.diffview import render_split, render_unified

# Columns of content from which each side of a split view still shows a full line.
SPLIT_MIN_WIDTH = 150


class DiffPane(VerticalScroll):
    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self._diff = ""
        self._split: bool | None = None
        self._body = Static("", id="diff-body")

    def compose(self):
        yield self._body

    def show(self, diff: str, title: str) -> None:
        added, removed = diff_stats(diff)
        self.border_title = title
        self.border_subtitle = f"+{added} -{removed}" if diff else ""
        if diff == self._diff and self._split is not None:
            return
        self._diff = diff
        self._paint()

    def _paint(self) -> None:
        self._split = self.content_size.width >= SPLIT_MIN_WIDTH
        self._body.update(render_split(self._diff) if self._split else render_unified(self._diff))

    def on_resize(self, event: Resize) -> None:
        if (self.content_size.width >= SPLIT_MIN_WIDTH) != self._split:
            self._paint()
