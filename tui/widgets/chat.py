"""ChatPane: the agent's plans and answers and the human's messages, newest at the bottom."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from sessions.events import Event
from tui.describe import chat_entry


class ChatPane(VerticalScroll):
    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self._shown: list[Event] = []

    def show(self, chat: list[Event]) -> None:
        """Mounts the entries not shown yet; starts over when the chat is not an extension (replay back)."""
        shown = len(self._shown)
        if chat[:shown] != self._shown:
            self.remove_children()
            self._shown, shown = [], 0
        fresh = chat[shown:]
        if not fresh:
            return
        at_bottom = self.scroll_offset.y >= self.max_scroll_y - 1
        self.mount_all(Static(chat_entry(event), classes=f"entry {event.kind}") for event in fresh)
        self._shown = list(chat)
        if at_bottom:
            self.call_after_refresh(self.scroll_end, animate=False)
