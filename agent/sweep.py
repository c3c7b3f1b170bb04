"""Running a sweep: every cell of the grid as an ordinary session, a few at a time, resumably.

Each cell is a Controller over the one Store, exactly as `speedrun-tui run --headless` drives
one, in a worker thread of this process. What to do with a cell comes from the database: a
finished session is skipped, a killed, stopped or failed one is resumed, a live one (another
process's) is left alone, and the rest are started. So running the same command again after
a kill loses nothing: every event was committed as it happened, and the cell goes on from there.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from agent.controller import Controller
from agent.headless import sigterm_interrupts
from agent.sweepfile import SweepFile
from sessions import sweeps
from sessions.store import Store
from sessions.sweep_progress import SweepProgress, sweep_progress
from sessions.sweeps import Cell
from speedrun_tui.errors import UserError

REFRESH_S = 1.0  # how often the progress is read back from the database and shown
HEARTBEAT_S = 10.0


@dataclass
class Todo:
    cell: Cell
    session_id: str | None  # the session to resume; None: start one


@dataclass
class SweepOutcome:
    progress: SweepProgress
    errors: dict[Cell, str] = field(default_factory=dict)  # cells that could not start, and why
    stopped: bool = False  # stop() (Ctrl-C, SIGTERM, the sweep screen closed) ended it before every cell


def plan(progress: SweepProgress) -> list[Todo]:
    """What this run does with each cell: done and live ones are left as they are."""
    return [Todo(cell.cell, cell.session.id if cell.session is not None else None)
            for cell in progress.cells if cell.state in ("failed", "left")]


class SweepRunner:
    """Runs the cells `plan` gives on `workers` threads; `stop` ends them all, resumable."""

    def __init__(self, sweep: SweepFile, db_path: Path, *, workers: int, oversubscribe: bool = False):
        self.sweep = sweep
        self.db_path = Path(db_path)
        self.workers = workers
        self.oversubscribe = oversubscribe
        self._todo: queue.Queue[Todo] = queue.Queue()
        self._controllers: dict[Cell, Controller] = {}
        self._errors: dict[Cell, str] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._done = threading.Event()  # every worker has returned
        self._busy = 0  # workers still running

    def run(self, show: Callable[[SweepProgress], None]) -> SweepOutcome:
        """Claim the sweep, run what is left, show the progress every REFRESH_S; Ctrl-C or SIGTERM stops
        every cell (each stays resumable) and returns."""
        sweep = self.sweep
        self.claim()
        try:
            for todo in plan(sweep_progress(self.db_path, sweep.name)):
                self._todo.put(todo)
            with Store(self.db_path) as store, sigterm_interrupts():
                self._start_workers(store)
                try:
                    self._watch(show)
                except BaseException as err:  # Ctrl-C, SIGTERM, or the display failed: no cell runs on unwatched
                    self.stop()
                    self._done.wait()
                    if not isinstance(err, KeyboardInterrupt):
                        raise
        finally:
            sweeps.release(self.db_path, sweep.name)
        progress = sweep_progress(self.db_path, sweep.name)
        show(progress)
        return SweepOutcome(progress, dict(self._errors), self._stopping.is_set())

    def claim(self) -> None:
        """Record the grid and this process as the one running the sweep; a one-line UserError when
        another process runs it (again from this process: nothing changes)."""
        sweep = self.sweep
        sweeps.claim(self.db_path, sweep.name, list(sweep.cells), sweep.settings(), str(sweep.path))

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for controller in self._controllers.values():
                controller.stop()

    def _start_workers(self, store: Store) -> None:
        count = min(self.workers, self._todo.qsize())
        self._busy = count
        if not count:
            self._done.set()
        for i in range(count):
            threading.Thread(target=self._work, args=(store,), name=f"sweep-{i}", daemon=True).start()

    def _watch(self, show: Callable[[SweepProgress], None]) -> None:
        # An Event, not Thread.join: a join interrupted by Ctrl-C can later report a thread gone while it runs.
        beat = time.monotonic()
        while not self._done.wait(REFRESH_S):
            show(sweep_progress(self.db_path, self.sweep.name))
            if time.monotonic() - beat > HEARTBEAT_S:
                sweeps.heartbeat(self.db_path, self.sweep.name)
                beat = time.monotonic()

    def _work(self, store: Store) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    todo = self._todo.get_nowait()
                except queue.Empty:
                    return
                self._run_cell(store, todo)
        finally:
            with self._lock:
                self._busy -= 1
                if not self._busy:
                    self._done.set()

    def _run_cell(self, store: Store, todo: Todo) -> None:
        config = replace(self.sweep.session_config(todo.cell), oversubscribe=self.oversubscribe)
        try:
            controller = Controller(config, store, session_id=todo.session_id)
        except UserError as err:  # this cell cannot start here (its task, its model file, ...); the others go on
            self._errors[todo.cell] = str(err)
            return
        with self._lock:
            self._controllers[todo.cell] = controller
            if self._stopping.is_set():  # stop() came while it opened
                controller.stop()
        try:
            controller.run()
        except Exception as err:  # the session recorded its failure (resumable); the sweep goes on
            self._errors[todo.cell] = str(err) if isinstance(err, UserError) else f"{type(err).__name__}: {err}"
        finally:
            with self._lock:
                self._controllers.pop(todo.cell, None)
