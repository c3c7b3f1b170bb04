"""HelpScreen: every key of the screen below it, and the typed commands."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.slash import help_lines


def key_table(bindings: list[Binding]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for binding in bindings:
        if binding.description:
            table.add_row(binding.key_display or _key_name(binding.key), binding.description)
    return table


def _key_name(key: str) -> str:
    names = {"question_mark": "?", "space": "space", "left_square_bracket": "[", "right_square_bracket": "]"}
    return ", ".join(names.get(k, k) for k in key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, title: str, bindings: list[Binding], *, commands: bool):
        super().__init__()
        self._heading = title
        self._key_bindings = bindings
        self._with_commands = commands

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = f"{self._heading} · keys"
            yield Static(key_table(self._key_bindings))
            if self._with_commands:
                commands = Text("\nIn the input line", style="bold")
                commands.append(" (plain text steers the pending edit; tab completes):\n", style="")
                commands.append("\n".join(help_lines()))
                yield Static(commands)
            yield Static(Text("\nescape or ? closes", style="dim"))
