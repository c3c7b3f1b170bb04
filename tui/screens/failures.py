"""What a screen says when one of its workers fails: the one-line message, never a traceback."""

from __future__ import annotations

from textual.screen import Screen
from textual.worker import Worker, WorkerState

from speedrun_tui.errors import UserError


def worker_failure(worker: Worker) -> str:
    error = worker.error
    return str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"


def notify_failure(screen: Screen, event: Worker.StateChanged, title: str = "Failed") -> None:
    if event.state == WorkerState.ERROR:
        screen.notify(worker_failure(event.worker), title=title, severity="error", timeout=30)
