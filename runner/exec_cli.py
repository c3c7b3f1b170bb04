"""`speedrun-tui exec`: one script through run_local, streamed to the terminal.

Output contract: the child's stdout lines go to stdout and its stderr lines to
stderr; with --json every log line goes to stderr and stdout holds exactly one
line, the RunResult JSON. A progress line (step, last val_loss, elapsed) is drawn
on stderr when stderr is a terminal.
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from runner.lines import LogLine
from runner.local import run_local
from runner.result import RunResult
from runner.spec import RunSpec
from speedrun_tui.errors import UserError


def run_exec(args) -> int:
    spec = RunSpec(script=Path(args.script), target_loss=_number(args.target, "--target"),
                   timeout_s=_number(args.timeout, "--timeout"), python=_interpreter(args.python),
                   workdir=Path(args.workdir) if args.workdir else None, sandbox=args.sandbox)
    spec.check()
    view = ExecView(json_mode=args.json, target=spec.target_loss)
    with view, _ctrl_c_cancels() as cancel:
        result = run_local(spec, on_line=view.show, cancel=cancel)
    if args.json:
        print(json.dumps(result.to_json()), flush=True)
    else:
        print_summary(Console(), result)
    return 0 if result.status == "ok" else 1


class ExecView:
    """Streams lines and keeps a live progress line at the bottom of a terminal's stderr."""

    def __init__(self, *, json_mode: bool, target: float | None):
        self.json_mode = json_mode
        self.target = target
        self.err = Console(stderr=True, highlight=False)
        self.start = time.monotonic()
        self.step = "-"
        self.val_loss: float | None = None
        self.spinner = Spinner("dots")
        self.live = Live(get_renderable=self._progress, console=self.err, transient=True,
                         refresh_per_second=4, redirect_stdout=False, redirect_stderr=False)
        self.live_on = self.err.is_terminal

    def __enter__(self) -> ExecView:
        if self.live_on:
            self.live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.live_on:
            self.live.stop()

    def show(self, line: LogLine) -> None:
        if line.metric is not None:
            total = line.metric.total_steps
            self.step = f"{line.metric.step}/{total}" if total else str(line.metric.step)
            if line.metric.val_loss is not None:
                self.val_loss = line.metric.val_loss
        to_stderr = self.json_mode or line.stream == "stderr"
        if line.dropped_before:
            self._emit(f"[... {line.dropped_before} lines dropped: output over the keep cap ...]", to_stderr)
        self._emit(line.text, to_stderr)

    def _emit(self, text: str, to_stderr: bool) -> None:
        stream = sys.stderr if to_stderr else sys.stdout
        if self.live_on and stream.isatty():  # same screen as the progress line: print above it
            self.err.print(Text(text), soft_wrap=True)
        else:
            stream.write(text + "\n")
            stream.flush()

    def _progress(self) -> Spinner:
        loss = "-" if self.val_loss is None else f"{self.val_loss:.4f}"
        target = "" if self.target is None else f" (target {self.target:.4f})"
        elapsed = time.monotonic() - self.start
        self.spinner.update(text=f"step {self.step} · val_loss {loss}{target} · {elapsed:.1f} s")
        return self.spinner


@contextmanager
def _ctrl_c_cancels():
    """The first Ctrl-C cancels the run (its result is still reported); a second one interrupts."""
    cancel = threading.Event()

    def on_sigint(signum, frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


def print_summary(console: Console, result: RunResult) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    style = "green" if result.status == "ok" else "red"
    grid.add_row("status", Text(result.status, style=style))
    grid.add_row("reason", result.reason)
    if result.time_to_target_ms is not None:
        grid.add_row("time to target", f"{result.time_to_target_ms / 1000:.3f} s (step {result.steps_to_target})")
    if result.final_val_loss is not None:
        grid.add_row("final val_loss", f"{result.final_val_loss:.4f}")
    grid.add_row("wall time", f"{result.wall_s:.1f} s")
    grid.add_row("peak RSS", f"{result.peak_rss_mb:.0f} MB")
    if result.dropped_lines:
        grid.add_row("dropped lines", str(result.dropped_lines))
    grid.add_row("run folder", result.workdir)
    console.print(grid)


def _number(raw: str | None, flag: str) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise UserError(f"{flag} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise UserError(f"{flag} must be a finite number, got {raw!r}")
    return value


def _interpreter(raw: str | None) -> str:
    if raw is None:
        return sys.executable
    found = shutil.which(raw)
    if found is None:
        raise UserError(f"--python: interpreter not found or not executable: {raw}")
    return found
