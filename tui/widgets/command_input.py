"""CommandInput: the chat's input line; `/` commands complete with tab or right arrow."""

from __future__ import annotations

from textual.binding import Binding
from textual.suggester import SuggestFromList
from textual.widgets import Input

from tui.slash import COMMANDS


class CommandInput(Input):
    BINDINGS = [
        Binding("tab", "complete", "Complete", show=False),
        Binding("escape", "leave", "Leave the input", show=False),
    ]

    def __init__(self, *, id: str | None = None):
        super().__init__(placeholder="steer the next edit · /ask a question · /help",
                         suggester=SuggestFromList(list(COMMANDS)), id=id)

    def action_complete(self) -> None:
        if self._suggestion and self._suggestion != self.value:
            self.value = self._suggestion + " "
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()

    def action_leave(self) -> None:
        self.screen.set_focus(None)
