"""Running one node's code through the runner, with its output turned into events."""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from records.task import Task
from runner.lines import LogLine
from runner.result import RunResult
from sessions.events import Event, LogLines, Metric, RunStarted

FLUSH_S = 0.25  # a batch of log lines goes out at least this often while a run talks
MAX_BATCH = 200


class LogBatcher:
    """Groups a run's lines into LogLines events; each metric line also becomes a Metric event."""

    def __init__(self, node: int | None, emit: Callable[[Event], None]):
        self.node = node
        self.emit = emit
        self.lines: list[str] = []
        self.stream = "stdout"
        self.dropped = 0
        self.last_flush = time.monotonic()

    def line(self, line: LogLine) -> None:
        if self.lines and line.stream != self.stream:
            self.flush()
        self.stream = line.stream
        self.lines.append(line.text)
        self.dropped += line.dropped_before
        if line.metric is not None:
            self.flush()
            m = line.metric
            self.emit(Metric(node=self.node, step=m.step, val_loss=m.val_loss, train_loss=m.train_loss,
                             train_time_ms=m.train_time_ms, total_steps=m.total_steps))
        elif len(self.lines) >= MAX_BATCH or time.monotonic() - self.last_flush >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.lines:
            return
        self.emit(LogLines(node=self.node, lines=self.lines, stream=self.stream, dropped=self.dropped))
        self.lines, self.dropped = [], 0


def run_code(code: str, *, node: int | None, code_sha: str, session_id: str, task: Task, env: dict[str, str],
             timeout_s: float, emit: Callable[[Event], None], cancel: threading.Event,
             backend: str = "local", slurm_config: str | None = None, sandbox: str = "off",
             hide: list[str] | None = None, save_model: bool = False, stop_after_vals: int | None = None,
             clock: str = "cpu") -> RunResult:
    """Run `code` as the task's train script in a fresh run folder; blocks until it ends.

    `node` None is a run of the session's own that is no search node (the next record's timing).
    With save_model, the script is told to leave its final model in the run folder
    (records/reevaluate.py checks it) and is stopped if it runs on after its target claim;
    `hide` lists more paths the sandbox hides. `clock` is what its claimed time is checked
    against (agent/harness.py); stop_after_vals ends it after that many validation lines."""
    from runner.launch import build_command
    from runner.backends import runner_for
    from runner.spec import RunSpec
    from speedrun_tui.home import runs_dir

    with tempfile.TemporaryDirectory(prefix="speedrun-node-") as tmp:
        script = Path(tmp) / "train.py"
        script.write_text(code)
        label = "target" if node is None else f"node{node}"
        workdir = runs_dir() / f"{session_id}-{label}-{secrets.token_hex(3)}"
        grace = None
        if save_model:
            from records.integrity import CLAIM_GRACE_S
            from records.reevaluate import SAVE_MODEL_ENV, SAVED_MODEL

            env, grace = {**env, SAVE_MODEL_ENV: str(workdir / SAVED_MODEL)}, CLAIM_GRACE_S
        spec = RunSpec(script=script, workdir=workdir, target_loss=task.target_loss, timeout_s=timeout_s,
                       launcher=task.launcher, env=env, sandbox=sandbox, sandbox_hide=list(hide or []),
                       claim_grace_s=grace, stop_after_vals=stop_after_vals, clock=clock)
        emit(RunStarted(node=node, code_sha=code_sha, workdir=str(workdir),
                        command=build_command(spec, workdir / script.name), backend=backend))
        batcher = LogBatcher(node, emit)
        try:
            return runner_for(backend, slurm_config)(spec, batcher.line, cancel)
        finally:
            batcher.flush()
