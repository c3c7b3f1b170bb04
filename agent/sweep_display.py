"""The sweep headless: a line per cell that starts or ends, and on a terminal a live Rich table of
every cell (done, running, failed, left; best FSR so far). Also `sweep --dry-run`'s plan.

It renders sessions.sweep_progress's model, as the TUI's sweep screen does.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agent.sweep_estimate import CellCost, wall_s
from sessions.elapsed import format_duration
from sessions.sweep_progress import COLUMNS, STATE_STYLES, CellProgress, SweepProgress, cell_row

ORDER = ("running", "failed", "left", "done")  # what the live table shows first when it cannot show all


class SweepDisplay:
    """Called with each new SweepProgress; `close` leaves the last table (or, piped, the counts) behind."""

    def __init__(self, console: Console):
        self.console = console
        self._states: dict | None = None  # cell key -> (state, session id) at the last call
        self._live: Live | None = None

    def __call__(self, progress: SweepProgress) -> None:
        self._say_changes(progress)
        if not self.console.is_terminal:
            return
        if self._live is None:
            self._live = Live(console=self.console, refresh_per_second=2, transient=False)
            self._live.start()
        self._live.update(self._table(progress))

    def close(self, progress: SweepProgress) -> None:
        if self._live is None:
            self.console.print(progress.summary(), highlight=False)
            return
        self._live.update(self._table(progress))
        self._live.stop()
        self._live = None

    def _say_changes(self, progress: SweepProgress) -> None:
        states = {cell.cell.key: (cell.state, cell.session.id if cell.session else None) for cell in progress.cells}
        if self._states is None:
            self.console.print(f"[bold]sweep {progress.name}[/]: {progress.summary()}", highlight=False)
        else:
            for cell in progress.cells:
                if self._states.get(cell.cell.key) != states[cell.cell.key] and cell.session is not None:
                    self.console.print(_change_line(cell, progress), highlight=False)
        self._states = states

    def _table(self, progress: SweepProgress) -> Group:
        shown = sorted(progress.cells, key=lambda c: ORDER.index(c.state))
        limit = max(3, self.console.size.height - 8)
        table = cells_table(shown[:limit])
        more = len(shown) - limit
        footer = Text(f"... {more} more cells" if more > 0 else "", style="dim")
        return Group(Text(f"sweep {progress.name}: {progress.summary()}", style="bold"), table, footer)


def _change_line(cell: CellProgress, progress: SweepProgress) -> Text:
    row = dict(zip(COLUMNS, cell_row(cell)))
    state = "left (stopped, resumable)" if cell.resumable else cell.state
    text = Text(f"[{progress.count('done')}/{len(progress.cells)} done] ")
    text.append(state, style=STATE_STYLES[cell.state])
    text.append(f" {cell.cell.label} · session {row['session']} · nodes {row['nodes']} · best FSR {row['best FSR']}")
    return text


def cells_table(cells: list[CellProgress]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    for name in COLUMNS:
        table.add_column(name, justify="right" if name in ("seed", "nodes", "best FSR") else "left")
    for cell in cells:
        table.add_row(*cell_row(cell))
    return table


def plan_table(costs: list[CellCost], states: dict | None) -> Table:
    """The cells of a dry run, each with its runs and training time, and its state when the database has it
    (every cell runs in mode auto: the column is left out)."""
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    for name in ("#", "task", "model", "scaffold", "hints", "seed", "state", "runs", "time"):
        table.add_column(name, justify="right" if name in ("#", "seed", "runs", "time") else "left",
                         no_wrap=name != "model", overflow="fold", min_width=12 if name == "model" else None)
    for i, cost in enumerate(costs, 1):
        c = cost.cell
        state = states.get(c.key, "left") if states is not None else "new"
        kind = " GPU" if cost.gpu_s else " CPU"
        time_text = "?" if cost.run_s is None else hours(cost.cpu_s + cost.gpu_s) + kind
        table.add_row(str(i), c.task, c.model, c.scaffold, c.hints, str(c.seed), state, str(cost.runs), time_text)
    return table


def hours(seconds: float) -> str:
    """1h30m20s as 1.5h: a sweep's costs are hours; under one, minutes and seconds."""
    return format_duration(seconds) if seconds < 3600 else f"{seconds / 3600:,.1f}h"


def cost_lines(costs: list[CellCost], runs_at_once: int, backend: str) -> list[str]:
    """The totals of a dry run, and what they leave out."""
    cpu_h = sum(c.cpu_s for c in costs) / 3600
    gpu_h = sum(c.gpu_s for c in costs) / 3600
    used = []
    if cpu_h:
        used.append(f"{cpu_h:,.1f} CPU core-hours")
    if gpu_h:
        used.append(f"{gpu_h:,.0f} GPU-hours (8 GPUs a run)")
    lines = [f"{len(costs)} cells, {sum(c.runs for c in costs):,} training runs: {', '.join(used) or 'no known time'}"]
    if cpu_h and backend == "local":
        lines.append(f"on this machine, {runs_at_once} run(s) at once: about {hours(wall_s(costs, runs_at_once))} "
                     "of training")
    unknown = sorted({c.cell.task for c in costs if c.run_s is None})
    if unknown:
        lines.append(f"no calibrated time for {', '.join(unknown)}: left out of the totals")
    lines.append("training clock only, from the catalog's times of each start code: validation passes, start-up and "
                 "the harness's checks come on top")
    return lines
