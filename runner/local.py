"""run_local: run one candidate as a local subprocess and report exactly what happened.

Call it from a thread that lives for the whole run (it blocks until the end): the
child's parent-death signal is tied to the spawning thread (see process.py).
on_line is called from that same thread, in order, for each kept line.
"""

from __future__ import annotations

import math
import os
import selectors
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from runner.childenv import child_env
from runner.launch import build_command
from runner.intake import RunOutput
from runner.lines import LogLine
from runner.machineload import LoadSampler, threads_of
from runner.pipes import READ_BYTES, LineSplitter
from runner.process import GroupWatchdog, signal_group, spawn, wait
from runner.result import RunResult
from runner.sandbox import confine
from runner.spec import RunSpec
from runner.treeclock import ClockTrail
from runner.torchrun import hardware_string, link_data
from runner.workspace import prepare, write_result
from speedrun_tui.errors import UserError

_POLL_S = 0.1  # how often cancel and the deadline are checked
_EOF_WAIT_S = 2.0  # after exit, how long to wait for a pipe some escaped process still holds
_FLUSH_S = 0.5  # run.log reaches the disk at least this often (a flush per line costs a syscall)
_CLAIM_POLL_S = 0.25  # after a target claim, how often the clock is read against the claim grace
_LOAD_S = 2.0  # how often the load average is sampled (one small read of /proc/loadavg)


def run_local(spec: RunSpec, on_line: Callable[[LogLine], None] | None = None,
              cancel: threading.Event | None = None) -> RunResult:
    spec.check()
    workdir, script = prepare(spec)
    link_data(workdir, spec.env)
    run = _LocalRun(spec, workdir, on_line, cancel)
    result = run.execute(*confine(spec, workdir, build_command(spec, script), child_env(spec)))
    result.workdir = str(workdir)
    result.hardware = hardware_string(spec)
    write_result(workdir, result)
    return result


class _LocalRun:
    def __init__(self, spec: RunSpec, workdir: Path, on_line, cancel):
        self.spec = spec
        self.cancel = cancel
        self.output = RunOutput(spec, workdir, on_line)
        self.killed_for: str | None = None
        self.workdir = workdir
        self._claim_poll_at = 0.0
        self.load = LoadSampler(workdir, threads=threads_of(spec.env))

    def execute(self, argv: list[str], env: dict[str, str]) -> RunResult:
        self.load.start()
        try:
            proc = spawn(argv, cwd=self.workdir, env=env)
        except OSError as err:
            self.output.close()
            raise UserError(f"cannot start {argv[0]}: {err.strerror or err}") from err
        start = time.monotonic()
        watchdog = GroupWatchdog(proc.pid)
        self.output.clock = ClockTrail(proc.pid, self.spec.clock, self.spec.target_loss)
        try:
            exit_code, peak_rss_mb, cpu_s, end = self._supervise(proc, start)
        except BaseException:  # a failing callback or Ctrl-C must not leave the run behind
            signal_group(proc.pid, signal.SIGKILL)
            raise
        finally:
            watchdog.release()
        self.output.close()
        result = self.output.summarize(exit_code=exit_code, wall_s=end - start, peak_rss_mb=peak_rss_mb,
                                       killed_for=self.killed_for, total_cpu_s=cpu_s)
        result.load = self.load.finish()
        return result

    def _supervise(self, proc, start: float) -> tuple[int, float, float, float]:
        """Pump output, enforce timeout, cancel and the harness's stops; (exit code, peak RSS MB, CPU s, exit time)."""
        exit_r, exit_w = os.pipe()  # the waiter thread's "it exited" wakes the selector
        exit_info: list = []
        threading.Thread(target=_wait_exit, args=(proc, exit_info, exit_w), name="runner-wait", daemon=True).start()
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout.fileno(), selectors.EVENT_READ, ("stdout", LineSplitter()))
        selector.register(proc.stderr.fileno(), selectors.EVENT_READ, ("stderr", LineSplitter()))
        selector.register(exit_r, selectors.EVENT_READ, None)
        try:
            self._pump(proc, selector, start)
        finally:
            selector.close()
            os.close(exit_r)
            proc.stdout.close()
            proc.stderr.close()
        return exit_info[0]

    def _pump(self, proc, selector: selectors.BaseSelector, start: float) -> None:
        deadline, kill_at, exited_at, flushed_at = start + self.spec.timeout_s, math.inf, None, start
        load_at = start + _LOAD_S
        while True:
            for key, _ in selector.select(_POLL_S):
                if key.data is None:
                    selector.unregister(key.fd)
                    exited_at = time.monotonic()
                    signal_group(proc.pid, signal.SIGKILL)  # whatever the script left running
                else:
                    self._read(selector, key)
            now = time.monotonic()
            if exited_at is not None:
                if not selector.get_map() or now > exited_at + _EOF_WAIT_S:  # pipes done, or held by an escapee
                    return
            elif self.killed_for is None and self._harness_stop(now):
                signal_group(proc.pid, signal.SIGKILL)  # no SIGTERM: a candidate could trap it and go on
            elif self.killed_for is None and self._should_stop(now, deadline):
                signal_group(proc.pid, signal.SIGTERM)
                kill_at = now + self.spec.kill_grace_s
            elif now >= kill_at:
                signal_group(proc.pid, signal.SIGKILL)
                kill_at = math.inf
            if now - flushed_at > _FLUSH_S:
                self.output.flush()
                flushed_at = now
            if now >= load_at:
                self.load.sample()
                load_at = now + _LOAD_S

    def _read(self, selector: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
        stream, splitter = key.data
        chunk = os.read(key.fd, READ_BYTES)
        if chunk:
            self._take(stream, splitter.feed(chunk))
        else:
            self._take(stream, splitter.rest())
            selector.unregister(key.fd)

    def _should_stop(self, now: float, deadline: float) -> bool:
        if self.cancel is not None and self.cancel.is_set():
            self.killed_for = "cancelled"
        elif now >= deadline:
            self.killed_for = "timeout"
        return self.killed_for is not None

    def _harness_stop(self, now: float) -> bool:
        """Whether the run has done all the harness wants of it: enough validation lines (the seed
        check), or more CPU after its target claim than the grace (its model must be the claimed one)."""
        spec, clock = self.spec, self.output.clock.result
        if spec.stop_after_vals and self.output.trail.vals >= spec.stop_after_vals:
            self.killed_for = "enough_vals"
        elif spec.claim_grace_s is not None and clock.claim_s is not None and now >= self._claim_poll_at:
            self._claim_poll_at = now + _CLAIM_POLL_S
            spent = self.output.clock.after_claim()
            if spent is not None and spent > spec.claim_grace_s:
                self.killed_for = "after_claim"
        return self.killed_for is not None

    def _take(self, stream: str, texts: list[str]) -> None:
        for text in texts:
            self.output.take(stream, text)


def _wait_exit(proc, exit_info: list, exit_w: int) -> None:
    exit_code, peak_rss_mb, cpu_s = wait(proc)
    exit_info.append((exit_code, peak_rss_mb, cpu_s, time.monotonic()))
    try:
        os.write(exit_w, b"x")
    except OSError:  # the run was abandoned (callback error, Ctrl-C): nobody listens
        pass
    finally:
        os.close(exit_w)
