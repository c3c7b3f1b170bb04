"""The runs in flight as Rich's live progress display (headless, and plain mode reading a script).

It renders sessions.progress's model; the numbers come from there. Only a terminal gets it:
piped output (a log, CI) already has the one line each finished run prints.
"""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID
from rich.text import Text

from sessions import events as ev
from sessions.progress import RunProgress


def _draws_now(event: ev.Event) -> bool:
    """A run that starts, or a validation: worth drawing at once rather than at the display's next tick."""
    return isinstance(event, ev.RunStarted) or isinstance(event, ev.Metric) and event.val_loss is not None


class ViewColumn(ProgressColumn):
    """One field of the run's RunView, computed at each refresh so the clock keeps moving."""

    def __init__(self, field: str, style: str = ""):
        super().__init__()
        self.field = field
        self.style = style

    def render(self, task: Task) -> Text:
        run: RunProgress = task.fields["run"]
        return Text(getattr(run.view(time.time()), self.field), style=self.style)


class LiveProgress:
    """One progress task per run in flight, shown while runs train; closed in between."""

    def __init__(self, console: Console):
        self.console = console
        self._progress: Progress | None = None
        self._tasks: dict[int | None, TaskID] = {}
        self._lock = threading.Lock()  # the controller's thread updates, the main thread closes

    def follow(self, event: ev.Event, runs: tuple[RunProgress, ...], *, asking: bool) -> None:
        """`runs` as they are after `event`; none while the person is asked, since a live display
        would redraw over what they type."""
        self.show(() if asking else runs, refresh=_draws_now(event))

    def show(self, runs: tuple[RunProgress, ...], *, refresh: bool = False) -> None:
        """Show exactly `runs`; `refresh` draws now rather than at the next tick (a new validation loss)."""
        if not runs or not self.console.is_terminal:
            self.close()
            return
        with self._lock:
            progress = self._progress or self._start()
            for node in set(self._tasks) - {run.node for run in runs}:
                progress.remove_task(self._tasks.pop(node))
            for run in runs:
                self._put(progress, run)
            if refresh:
                progress.refresh()

    def close(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
            self._progress = None
            self._tasks.clear()

    def _start(self) -> Progress:
        # Transient: once a run ends, its summary line replaces the bar.
        self._progress = Progress(ViewColumn("label", "bold cyan"), BarColumn(bar_width=24), ViewColumn("steps"),
                                  ViewColumn("loss"), ViewColumn("elapsed", "dim"), ViewColumn("left", "green"),
                                  console=self.console, transient=True, refresh_per_second=4)
        self._progress.start()
        return self._progress

    def _put(self, progress: Progress, run: RunProgress) -> None:
        fields = {"completed": run.step or 0, "total": run.total_steps, "run": run}
        task = self._tasks.get(run.node)
        if task is None:
            self._tasks[run.node] = progress.add_task("", **fields)
        else:
            progress.update(task, **fields)
