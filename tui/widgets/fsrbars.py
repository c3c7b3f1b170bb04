"""FsrBars: one horizontal bar per task and configuration (the mean of its top-3 sessions)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from sessions.scoring import TaskScore

EIGHTHS = " ▏▎▍▌▋▊▉"
PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "red")


def config_label(config: dict[str, str]) -> str:
    return " · ".join(config.get(key, "*") for key in ("mode", "model", "scaffold", "hints"))


def bar(value: float, scale: float, width: int) -> str:
    eighths = max(0, round(value / scale * width * 8)) if scale > 0 else 0
    full, part = divmod(min(eighths, width * 8), 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def fsr_chart(tasks: list[TaskScore], width: int = 40) -> Table | Text:
    if not tasks:
        return Text("No scored sessions yet.", style="dim")
    scale = max(1.0, max(t.mean for t in tasks))
    colors: dict[str, str] = {}
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, width=width)
    table.add_column(justify="right", no_wrap=True)
    for t in sorted(tasks, key=lambda t: (t.task, config_label(t.config))):
        label = config_label(t.config)
        color = colors.setdefault(label, PALETTE[len(colors) % len(PALETTE)])
        table.add_row(t.task, Text(label, style=color), Text(bar(t.mean, scale, width), style=color),
                      f"{t.mean:.3f} ± {t.stderr:.3f}")
    return table


class FsrBars(Static):
    def show(self, tasks: list[TaskScore]) -> None:
        self.update(fsr_chart(tasks))
