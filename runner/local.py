"""run_local: run one candidate as a local subprocess and report exactly what happened.

Call it from a thread that lives for the whole run (it blocks until the end): the
child's parent-death signal is tied to the spawning thread (see process.py).
on_line is called from that same thread, in order, for each kept line.
"""

from __future__ import annotations

import math
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from runner.childenv import child_env
from runner.launch import build_command
from runner.lines import LogLine, OutputKeeper
from runner.logparse import parse_line
from runner.outcome import MetricTrail, summarize
from runner.pipes import EOF, start_reader
from runner.process import GroupWatchdog, signal_group, spawn, wait
from runner.result import RunResult
from runner.spec import RunSpec
from runner.torchrun import hardware_string, link_data
from runner.workspace import LOG_NAME, prepare, write_result
from speedrun_tui.errors import UserError

STDERR_TAIL_LINES = 40
_POLL_S = 0.1  # how often cancel and the deadline are checked
_EOF_WAIT_S = 2.0  # after exit, how long to wait for a pipe some escaped process still holds
_QUEUE_BATCHES = 256  # bounded: a slow on_line back-pressures the child instead of growing memory


def run_local(spec: RunSpec, on_line: Callable[[LogLine], None] | None = None,
              cancel: threading.Event | None = None) -> RunResult:
    spec.check()
    workdir, script = prepare(spec)
    link_data(workdir, spec.env)
    run = _LocalRun(spec, workdir, on_line, cancel)
    result = run.execute(build_command(spec, script), child_env(spec))
    result.workdir = str(workdir)
    result.hardware = hardware_string(spec)
    write_result(workdir, result)
    return result


class _LocalRun:
    def __init__(self, spec: RunSpec, workdir: Path, on_line, cancel):
        self.spec = spec
        self.on_line = on_line
        self.cancel = cancel
        self.keeper = OutputKeeper(workdir / LOG_NAME, spec.keep_bytes)
        self.trail = MetricTrail(spec.target_loss)
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.events: queue.Queue = queue.Queue(maxsize=_QUEUE_BATCHES)
        self.killed_for: str | None = None
        self.workdir = workdir

    def execute(self, argv: list[str], env: dict[str, str]) -> RunResult:
        try:
            proc = spawn(argv, cwd=self.workdir, env=env)
        except OSError as err:
            self.keeper.finish()
            raise UserError(f"cannot start {argv[0]}: {err.strerror or err}") from err
        start = time.monotonic()
        watchdog = GroupWatchdog(proc.pid)
        try:
            exit_code, peak_rss_mb, end = self._supervise(proc, start)
        except BaseException:  # a failing callback or Ctrl-C must not leave the run behind
            signal_group(proc.pid, signal.SIGKILL)
            raise
        finally:
            watchdog.release()
        for line in self.keeper.finish():
            self._deliver(line)
        return summarize(self.trail.lines(), exit_code=exit_code, target_loss=self.spec.target_loss,
                         wall_s=end - start, peak_rss_mb=peak_rss_mb,
                         dropped_lines=self.keeper.dropped_lines,
                         stderr_tail="\n".join(self.stderr_tail), killed_for=self.killed_for)

    def _supervise(self, proc, start: float) -> tuple[int, float, float]:
        start_reader(proc.stdout.fileno(), "stdout", self.events)
        start_reader(proc.stderr.fileno(), "stderr", self.events)
        threading.Thread(target=self._wait_exit, args=(proc,), name="runner-wait", daemon=True).start()
        deadline, kill_at = start + self.spec.timeout_s, math.inf
        open_streams, exited, exited_at = 2, None, 0.0
        while exited is None or (open_streams and time.monotonic() < exited_at + _EOF_WAIT_S):
            now = time.monotonic()
            if exited is None and self.killed_for is None and self._should_stop(now, deadline):
                signal_group(proc.pid, signal.SIGTERM)
                kill_at = now + self.spec.kill_grace_s
            elif exited is None and now >= kill_at:
                signal_group(proc.pid, signal.SIGKILL)
                kill_at = math.inf
            try:
                stream, payload = self.events.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if stream == "exit":
                exited, exited_at = payload, time.monotonic()
                signal_group(proc.pid, signal.SIGKILL)  # whatever the script left running
            elif payload is EOF:
                open_streams -= 1
            else:
                self._take(stream, payload)
        if not open_streams:
            proc.stdout.close()
            proc.stderr.close()
        return exited

    def _should_stop(self, now: float, deadline: float) -> bool:
        if self.cancel is not None and self.cancel.is_set():
            self.killed_for = "cancelled"
        elif now >= deadline:
            self.killed_for = "timeout"
        return self.killed_for is not None

    def _wait_exit(self, proc) -> None:
        exit_code, peak_rss_mb = wait(proc)
        self.events.put(("exit", (exit_code, peak_rss_mb, time.monotonic())))

    def _take(self, stream: str, texts: list[str]) -> None:
        for text in texts:
            metric = parse_line(text) if stream == "stdout" else None
            if metric is not None:
                self.trail.add(metric)
            if stream == "stderr":
                self.stderr_tail.append(text[:1000])
            kept = self.keeper.offer(LogLine(text, stream, metric))
            if kept is not None:
                self._deliver(kept)
        self.keeper.flush()

    def _deliver(self, line: LogLine) -> None:
        if self.on_line is not None:
            self.on_line(line)
