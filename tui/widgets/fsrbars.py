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


SPARKS = "▁▂▃▄▅▆▇█"


def fsr_time_chart(groups: list, at_s: list[float], by: str = "mode") -> Table | Text:
    """Per group (sessions/elapsed.AnytimeGroup), its mean best FSR at each elapsed time as a
    sparkline, then the value at the last time: people and agents at equal time."""
    from sessions.elapsed import format_duration

    if not groups or not at_s:
        return Text("No scored sessions yet.", style="dim")
    values = [e.value for g in groups for e in g.at if e is not None]
    scale = max([1.0, *values])
    table = Table.grid(padding=(0, 1))
    for column in (by, f"0 → {format_duration(at_s[-1])}", "at the end"):
        table.add_column(column, no_wrap=True)
    for i, group in enumerate(groups):
        color = PALETTE[i % len(PALETTE)]
        spark = "".join("·" if e is None else SPARKS[min(7, int(e.value / scale * 7.999))] for e in group.at)
        last = group.at[-1]
        table.add_row(Text(group.config[by], style=color), Text(spark, style=color),
                      "-" if last is None else f"{last.value:.3f} [{last.low:.2f}, {last.high:.2f}] n={group.counted[-1]}")
    return table
