"""Where a sweep stands, cell by cell: done, running, failed or left, with each cell's best FSR so far.

The headless display and the TUI's sweep screen both render this model, read from the database,
so they show the same thing whether the sweep runs in this process, another, or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sessions.store import SessionInfo, Store
from sessions.sweeps import Cell, SweepRecord, load_sweep

STATES = ("done", "running", "failed", "left")
STATE_STYLES = {"done": "green", "running": "cyan", "failed": "red", "left": "dim"}  # as every view colours them


@dataclass(frozen=True)
class CellProgress:
    cell: Cell
    state: str  # one of STATES
    session: SessionInfo | None  # the session that stands for the cell (None: not started)
    sessions: int  # how many sessions the cell has (1 unless one was started by hand)

    @property
    def resumable(self) -> bool:
        """Left, with a session to resume (killed or stopped) rather than one to start."""
        return self.state == "left" and self.session is not None

    @property
    def best_fsr(self) -> float | None:
        return self.session.fsr if self.session is not None else None


@dataclass(frozen=True)
class SweepProgress:
    record: SweepRecord
    cells: tuple[CellProgress, ...]

    @property
    def name(self) -> str:
        return self.record.name

    def count(self, state: str) -> int:
        return sum(1 for cell in self.cells if cell.state == state)

    def settings_line(self) -> str:
        """What every cell shares (`max_nodes 20 · backend slurm · ...`) and the file it was run from."""
        shared = [f"{key} {value}" for key, value in self.record.settings.items() if value is not None]
        return " · ".join(shared + [f"from {self.record.source}"])

    def summary(self) -> str:
        """`3 done · 2 running · 0 failed · 3 left of 8 cells`."""
        parts = [f"{self.count(state)} {state}" for state in STATES]
        return " · ".join(parts) + f" of {len(self.cells)} cells"


def sweep_progress(db_path: Path, name: str) -> SweepProgress:
    record = load_sweep(db_path, name)
    return SweepProgress(record, cells_progress(db_path, name, record.cells))


def cells_progress(db_path: Path, name: str, cells: tuple[Cell, ...]) -> tuple[CellProgress, ...]:
    """Each of `cells` as sweep `name`'s sessions in the database leave it."""
    with Store(db_path, readonly=True) as store:
        tagged = [info for info in store.list_sessions() if info.config.get("sweep") == name]
    by_cell: dict[tuple, list[SessionInfo]] = {}
    for info in tagged:
        by_cell.setdefault(Cell.of_session(info).key, []).append(info)
    return tuple(cell_progress(cell, by_cell.get(cell.key, [])) for cell in cells)


def cell_progress(cell: Cell, sessions: list[SessionInfo]) -> CellProgress:
    """The cell's state from its sessions (oldest first): a finished one makes it done; else a live
    one running; else the newest decides: failed, or left to resume (killed, stopped)."""
    for state, status in (("done", "finished"), ("running", "running")):
        chosen = next((info for info in sessions if info.status == status), None)
        if chosen is not None:
            return CellProgress(cell, state, chosen, len(sessions))
    newest = sessions[-1] if sessions else None
    state = "failed" if newest is not None and newest.ended == "failed" else "left"
    return CellProgress(cell, state, newest, len(sessions))


COLUMNS = ("task", "model", "scaffold", "hints", "mode", "seed", "state", "session", "nodes", "best FSR")


def cell_row(cell: CellProgress) -> tuple:
    """A cell as the views show it, one value per COLUMNS entry (the state a coloured rich Text)."""
    from rich.text import Text

    from sessions.report import fsr_text

    c, info = cell.cell, cell.session
    state = Text("left (resumable)" if cell.resumable else cell.state, style=STATE_STYLES[cell.state])
    if info is None:
        return (c.task, c.model, c.scaffold, c.hints, c.mode, str(c.seed), state, "-", "-", "-")
    return (c.task, c.model, c.scaffold, c.hints, c.mode, str(c.seed), state, info.id, str(info.nodes),
            fsr_text(info.fsr, info.target_source, info.fsr_low, info.fsr_high))
