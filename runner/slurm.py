"""run_slurm: run one candidate as a Slurm job through submitit, streaming its log as it grows.

Same contract as run_local: a RunResult, on_line for each kept line, `cancel` to
stop. The run folder is prepared here (it must be on a filesystem the nodes
share); the job (runner.slurm_job) runs the script there and writes to submitit's
stdout/stderr files, which are polled and parsed with the same parser, cap and
outcome rules as a local run. Slurm states that end a job without a result map
to run statuses (SLURM_STATES). `cluster="local"` runs the same path through
submitit's local executor, which is how the tests exercise it. cap_jobs bounds the jobs one
process (a sweep) has in flight at once.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from runner.intake import RunOutput
from runner.lines import LogLine
from runner.result import RunResult
from runner.slurm_job import JobOutcome, run_job
from runner.spec import RunSpec
from runner.torchrun import link_data
from runner.workspace import prepare, write_result
from speedrun_tui.errors import UserError

TIME_LIMIT_MARGIN_MIN = 10  # queue-side start-up (imports, compile) beyond the run's own timeout
CANCEL_WAIT_S = 60.0  # after scancel, how long to wait for Slurm to report the job ended
_READ_CHUNK = 1 << 20
_OUR_PREFIXES = ("submitit ", "[speedrun-tui]")  # lines that are not the script's own stderr
_job_slots: threading.BoundedSemaphore | None = None  # cap_jobs: this process's jobs in flight

# Slurm's state for a job that ended without our job function's result -> (run status, reason).
# Node failure and preemption are not the candidate's fault, so they don't count as bugs.
SLURM_STATES: dict[str, tuple[str, str]] = {
    "TIMEOUT": ("timeout", "Slurm stopped the job at its time limit"),
    "DEADLINE": ("timeout", "Slurm stopped the job at its deadline"),
    "FAILED": ("crashed", "the Slurm job failed"),
    "OUT_OF_MEMORY": ("crashed", "the Slurm job ran out of memory"),
    "NODE_FAIL": ("cancelled", "the node failed (NODE_FAIL); not the script's fault"),
    "BOOT_FAIL": ("cancelled", "the node failed to boot (BOOT_FAIL); not the script's fault"),
    "PREEMPTED": ("cancelled", "the job was preempted; not the script's fault"),
    "CANCELLED": ("cancelled", "the job was cancelled outside speedrun-tui"),
}


@dataclass
class SlurmOptions:
    partition: str | None = None
    account: str | None = None
    gpus_per_node: int | None = None
    cpus_per_task: int | None = None
    mem_gb: float | None = None
    time_limit_min: int | None = None  # default: the run's timeout plus TIME_LIMIT_MARGIN_MIN
    extra_sbatch: dict[str, str | int | bool] = field(default_factory=dict)  # `#SBATCH --key=value`
    setup: list[str] = field(default_factory=list)  # shell lines before the job (module load, ...)
    folder: Path | None = None  # submitit's job folder; default $SPEEDRUN_TUI_HOME/slurm
    cluster: str = "slurm"  # "local": submitit's local executor (tests, one workstation)
    poll_s: float = 1.0


def load_options(path: Path | None = None, **overrides) -> SlurmOptions:
    """Options from a TOML file (a [slurm] table, or top-level keys), then non-None overrides."""
    data: dict = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).expanduser().read_text())
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise UserError(f"slurm config {path}: {err}") from err
        data = raw.get("slurm", raw)
    data.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(SlurmOptions)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError(f"slurm config: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if data.get("folder") is not None:
        data["folder"] = Path(data["folder"]).expanduser()
    return SlurmOptions(**data)


def slurm_status(state: str) -> tuple[str, str] | None:
    """(run status, reason) for a Slurm state such as 'NODE_FAIL' or 'CANCELLED by 1000'."""
    return SLURM_STATES.get(state.split()[0].upper()) if state.strip() else None


def cap_jobs(limit: int | None) -> None:
    """At most `limit` jobs of this process in flight at once, over all its sessions (a sweep's cap);
    a run waits for a free slot before it submits. None: no cap."""
    global _job_slots
    _job_slots = threading.BoundedSemaphore(limit) if limit else None


@contextlib.contextmanager
def _job_slot(cancel: threading.Event | None, poll_s: float):
    """Hold one of cap_jobs' slots while the job runs; yields False when `cancel` came first."""
    slots = _job_slots
    if slots is None:
        yield True
        return
    while not slots.acquire(timeout=poll_s):
        if cancel is not None and cancel.is_set():
            yield False
            return
    try:
        yield True
    finally:
        slots.release()


def run_slurm(spec: RunSpec, options: SlurmOptions, on_line: Callable[[LogLine], None] | None = None,
              cancel: threading.Event | None = None) -> RunResult:
    spec.check()
    with _job_slot(cancel, options.poll_s) as granted:
        if not granted:
            return RunResult(status="cancelled", exit_code=None, reason="cancelled while it waited for a job slot")
        return _run_job(spec, options, on_line, cancel)


def _run_job(spec: RunSpec, options: SlurmOptions, on_line, cancel) -> RunResult:
    workdir, script = prepare(spec)
    link_data(workdir, spec.env)
    job = _executor(options, spec).submit(run_job, spec, str(script))
    follow = _Follow(job, spec, workdir, on_line)
    follow.announce(f"[speedrun-tui] Slurm job {job.job_id} submitted; log {job.paths.stdout}")
    try:
        cancelled = follow.until_done(cancel, options.poll_s)
    except BaseException:  # Ctrl-C or a failing callback: the job must not run on unwatched
        job.cancel(check=False)
        raise
    result = follow.result(cancelled)
    write_result(workdir, result)
    return result


def _executor(options: SlurmOptions, spec: RunSpec):
    import submitit

    from speedrun_tui.home import home_dir

    folder = options.folder or home_dir() / "slurm"
    try:
        executor = submitit.AutoExecutor(folder=Path(folder) / "%j", cluster=options.cluster)
    except RuntimeError as err:  # submitit's "Could not detect srun": no Slurm on this machine
        raise UserError(f"Slurm backend: {err} (for a test run, set cluster = \"local\" in the slurm config)") from err
    params: dict = {
        "name": f"speedrun-{Path(spec.script).stem}",
        "timeout_min": options.time_limit_min or math.ceil(spec.timeout_s / 60) + TIME_LIMIT_MARGIN_MIN,
        "slurm_additional_parameters": dict(options.extra_sbatch),
        "slurm_setup": list(options.setup),
    }
    for key, param in (("gpus_per_node", "gpus_per_node"), ("cpus_per_task", "cpus_per_task"),
                       ("mem_gb", "mem_gb"), ("partition", "slurm_partition"), ("account", "slurm_account")):
        if getattr(options, key) is not None:
            params[param] = getattr(options, key)
    executor.update_parameters(**params)
    return executor


class _Tail:
    """One growing file, read from where the last read stopped; hands out complete lines."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self.partial = b""

    def lines(self, final: bool = False):
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            return
        with fh:
            fh.seek(self.offset)
            while chunk := fh.read(_READ_CHUNK):
                self.offset += len(chunk)
                *complete, self.partial = (self.partial + chunk).split(b"\n")
                for raw in complete:
                    yield raw.decode("utf-8", "replace").rstrip("\r")
        if final and self.partial:
            yield self.partial.decode("utf-8", "replace").rstrip("\r")
            self.partial = b""


class _Follow:
    """Streams one job's log files through the parser and the output cap until the job ends."""

    def __init__(self, job, spec: RunSpec, workdir: Path, on_line):
        self.job, self.spec, self.workdir = job, spec, workdir
        self.output = RunOutput(spec, workdir, on_line, not_stderr_of_script=_OUR_PREFIXES)
        self.tails = {"stdout": _Tail(job.paths.stdout), "stderr": _Tail(job.paths.stderr)}
        self.start = time.monotonic()

    def announce(self, text: str) -> None:
        self.output.take("stderr", text)

    def until_done(self, cancel: threading.Event | None, poll_s: float) -> bool:
        """Poll until the job ends; True when `cancel` stopped it."""
        cancelled_at = None
        while not self.job.done() and not _ended_badly(self.job):
            if cancel is not None and cancel.is_set() and cancelled_at is None:
                self.job.cancel(check=False)
                cancelled_at = time.monotonic()
            if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_WAIT_S:
                break
            self._drain(final=False)
            time.sleep(poll_s)
        self._drain(final=True)
        return cancelled_at is not None

    def result(self, cancelled: bool) -> RunResult:
        outcome = _outcome(self.job)
        self.output.close()
        killed_for = "cancelled" if cancelled else (outcome.killed_for if outcome else None)
        result = self.output.summarize(
            exit_code=outcome.exit_code if outcome else None,
            wall_s=outcome.wall_s if outcome else time.monotonic() - self.start,
            peak_rss_mb=outcome.peak_rss_mb if outcome else 0.0, killed_for=killed_for)
        if outcome is None and killed_for is None:
            state = _state(self.job)
            result.status, reason = slurm_status(state) or ("crashed", f"the job ended without a result ({state})")
            result.reason = f"Slurm job {self.job.job_id}: {reason}"
        result.hardware = outcome.hardware if outcome else ""
        result.workdir = str(self.workdir)
        return result

    def _drain(self, final: bool) -> None:
        for stream, tail in self.tails.items():
            for text in tail.lines(final):
                self.output.take(stream, text)
        self.output.flush()


def _ended_badly(job) -> bool:
    """Slurm reports a state that ends the job without a result (PREEMPTED counts: submitit waits on it)."""
    return slurm_status(_state(job)) is not None


def _outcome(job) -> JobOutcome | None:
    """What the job function returned, or None when the job ended without finishing it."""
    if _ended_badly(job) or not job.done():  # no result is coming (or not yet, after a cancel): don't wait
        return None
    try:
        return job.result()
    except Exception:  # submitit's FailedJobError / UncompletedJobError: the state says why
        return None


def _state(job) -> str:
    try:
        return str(job.state)
    except Exception:  # sacct unreachable: say so rather than guess
        return "UNKNOWN"
