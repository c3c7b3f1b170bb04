"""`speedrun-tui calibrate micro`: time every rung to the target on this machine, per seed.

Two phases. First each rung runs to the target per seed, through the runner with a fixed
thread count, `jobs` at a time; each run is saved to the calibration file as soon as it
ends (an interrupted calibration keeps what it measured, and the same command later runs
only what is missing), and a rung's entry is written once all its seeds have run. Those
runs fix each seed's steps to the target. Then every calibrated rung's cost of a step is
timed in rounds: short runs, one at a time, each round a pass over the whole ladder. A
rung's time to target is its steps times that cost, so rungs measured on different days
still compare like for like: this project's VM ran the same code 15 % slower per step
from one afternoon to the next, more than a rung's gain.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from records.calibration import (Calibration, RunTime, RungTimes, all_calibrations, file_name, load_calibration,
                                 rung_times, save_calibration, significant, user_dir)
from records.fingerprint import CpuFingerprint, this_cpu
from records.ladder import RUNGS, Rung
from speedrun_tui.errors import UserError

RUN_TIMEOUT_S = 3600.0  # the slowest rung on a slow CPU takes about 20 minutes
COST_WARMUP_STEPS = 10  # not counted in a step's cost: the first steps allocate and warm the caches
DEFAULT_COST_ROUNDS = 3
DEFAULT_COST_STEPS = 30


@dataclass(frozen=True)
class Job:
    rung: Rung
    seed: int
    expected_steps: int  # from an earlier calibration of the same seed, else 0 (unknown)
    cost_round: int | None = None  # a short run timing the cost of a step in this round; None: a run to the target
    script: Path | None = None  # a variant of the rung's code (bench/rung_change_costs.py); None: the rung's own

    @property
    def code(self) -> Path:
        return self.script or self.rung.script

    @property
    def label(self) -> str:
        if self.cost_round is None:
            return f"rung {self.rung.number} seed {self.seed}"
        return f"rung {self.rung.number} step cost, round {self.cost_round + 1}"


class Progress:
    """What a calibration reports while it runs; the CLI shows it with Rich (records/calibrate_view.py)."""

    def start(self, jobs: list[Job], fingerprint: CpuFingerprint, out: Path) -> None: ...
    def step(self, job: Job, step: int, total: int, val_loss: float | None) -> None: ...
    def done(self, job: Job, run: RunTime | None, error: str = "") -> None: ...
    def stop(self) -> None: ...


def select_rungs(numbers: list[int] | None) -> list[Rung]:
    if not numbers:
        return list(RUNGS)
    bad = [n for n in numbers if not 1 <= n <= len(RUNGS)]
    if bad:
        raise UserError(f"unknown rung {bad[0]}: the micro ladder has rungs 1-{len(RUNGS)}")
    return [RUNGS[n - 1] for n in sorted(set(numbers))]


@dataclass(frozen=True)
class CostPlan:
    """How the cost of a step is timed: `rounds` short runs per rung of `steps` counted steps each."""

    rounds: int = DEFAULT_COST_ROUNDS
    steps: int = DEFAULT_COST_STEPS


def calibrate(rungs: list[Rung], *, seeds: int, threads: int, target_loss: float, jobs: int = 1,
              out: Path | None = None, redo: bool = False, progress: Progress | None = None,
              cancel: threading.Event | None = None, oversubscribe: bool = False,
              costs: CostPlan = CostPlan()) -> Calibration:
    """Measure what `rungs` still miss (all of it with `redo`), time the step costs when any rung lacks
    them, and return the saved calibration.
    More jobs x threads than cores is refused unless `oversubscribe`: the runs would time each other."""
    if min(seeds, jobs, threads, costs.rounds, costs.steps) < 1:
        raise UserError(f"--seeds, --jobs, --threads, --cost-rounds and --cost-steps must be at least 1, got "
                        f"{seeds}, {jobs}, {threads}, {costs.rounds} and {costs.steps}")
    if not oversubscribe:
        from runner.machineload import refuse_oversubscription

        refuse_oversubscription(jobs, threads, option="--jobs")
    here = this_cpu(threads)
    out = out or user_dir() / file_name(here)
    calibration = _resumable(load_calibration(out), here, seeds, target_loss)
    if redo:
        redone = {r.slug for r in rungs}
        calibration.rungs = [r for r in calibration.rungs if r.id not in redone]
        calibration.pending = [r for r in calibration.pending if r.rung not in redone]
    todo = _jobs(rungs, calibration, seeds)
    progress = progress or Progress()
    cancel = cancel or threading.Event()
    failures = _run_phase(todo, jobs, lambda job: _run_once(job, threads, calibration.target_loss, progress, cancel),
                          lambda job, run: _record(calibration, job.rung, run, out, seeds), here, out, progress, cancel)
    if failures:
        raise UserError(f"{len(failures)} run(s) failed, their rungs were not written; first: {failures[0]}")
    if _cost_rounds_done(calibration) < costs.rounds:
        _time_step_costs(calibration, out, threads, costs, progress, cancel)
    save_calibration(calibration, out)
    return calibration


def _resumable(previous: Calibration | None, here: CpuFingerprint, seeds: int, target_loss: float) -> Calibration:
    """What an earlier calibration in the same file leaves to keep: nothing unless it is comparable."""
    fresh = Calibration(target_loss, here, seeds, "cpu")
    if previous is None or previous.target_loss != target_loss or not previous.fingerprint.same_kind(here):
        return fresh
    fresh.rungs, fresh.pending = previous.rungs, [r for r in previous.pending if r.seed < seeds]
    fresh.note = previous.note  # its provenance stays with the numbers it describes
    fresh.seeds = max(seeds, previous.seeds)  # the most seeds a rung has; --seeds 5 adds seeds 3 and 4
    return fresh


def _jobs(rungs: list[Rung], calibration: Calibration, seeds: int) -> list[Job]:
    """The runs still missing: more --seeds than a rung has adds only the new seeds.

    Seed by seed across the rungs, not rung by rung: a machine whose load changes over the
    hours a calibration takes then slows every rung alike instead of one transition."""
    steps = _known_steps()
    missing = [(seed, k, rung) for k, rung in enumerate(rungs)
               for seed in set(range(seeds)) - {r.seed for r in calibration.runs_of(rung.slug)}]
    return [Job(rung, seed, steps.get((rung.slug, seed), 0)) for seed, _, rung in sorted(missing)]


def _known_steps() -> dict[tuple[str, int], int]:
    """Steps to target per (rung, seed) from any calibration: a seed fixes them on every CPU."""
    steps: dict[tuple[str, int], int] = {}
    for calibration in reversed(all_calibrations()):
        for rung in calibration.rungs:
            steps.update({(rung.id, seed): n for seed, n in enumerate(rung.steps)})
    return steps


def _run_phase(todo: list[Job], jobs: int, run_once: Callable[[Job], RunTime | None],
               keep: Callable[[Job, RunTime], None], here: CpuFingerprint, out: Path, progress: Progress,
               cancel: threading.Event) -> list[str]:
    """Run `todo`, `jobs` at a time in their order, keeping each finished run; the failures' one-liners."""
    failures: list[str] = []
    progress.start(todo, here, out)
    try:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="calibrate") as pool:
            futures = {pool.submit(run_once, job): job for job in todo}
            try:
                for future in as_completed(futures):
                    job = futures[future]
                    try:
                        run = future.result()
                    except UserError as err:  # keep measuring the other rungs; report at the end
                        failures.append(str(err))
                        progress.done(job, None, str(err))
                        continue
                    if run is not None:  # None: cancelled
                        keep(job, run)
                        progress.done(job, run)
            except KeyboardInterrupt:
                cancel.set()
    finally:
        progress.stop()
    if cancel.is_set():
        raise UserError(f"interrupted: the finished runs are kept in {out}; run the same command to resume")
    return failures


def _cost_rounds_done(calibration: Calibration) -> int:
    """The rounds of step costs every rung has, from one set of sittings; 0 when any rung lacks them."""
    counts = {len(r.step_ms) for r in calibration.rungs}
    return counts.pop() if len(counts) == 1 else 0


def _time_step_costs(calibration: Calibration, out: Path, threads: int, plan: CostPlan, progress: Progress,
                     cancel: threading.Event) -> None:
    """Every calibrated rung's cost of a step, round after round: one run at a time (a neighbouring run
    slows a step by several per cent), the ladder's order reversed every other round so that a drift
    weighs on every rung alike. Each round is a whole pass, saved when it ends: the rounds a calibration
    already has are kept and `plan.rounds` adds the rest. The rungs' entries then take steps x cost."""
    rungs = [r for r in RUNGS if calibration.rung(r.slug)]
    first = _cost_rounds_done(calibration)
    costs = {r.slug: list(calibration.rung(r.slug).step_ms) if first else [] for r in rungs}
    todo = [Job(rung, k, COST_WARMUP_STEPS + plan.steps, k) for k in range(first, plan.rounds)
            for rung in (rungs if k % 2 == 0 else rungs[::-1])]

    def keep(job: Job, run: RunTime) -> None:
        costs[job.rung.slug].append(1000 * run.time_s / run.steps)
        if all(len(c) == job.cost_round + 1 for c in costs.values()):  # a whole round
            calibration.rungs = [rung_times(r.slug, r.mirrors, calibration.runs_of(r.slug), costs[r.slug])
                                 for r in rungs]
            save_calibration(calibration, out)

    failures = _run_phase(todo, 1, lambda job: time_step_cost(job, threads, progress, cancel), keep,
                          calibration.fingerprint, out, progress, cancel)
    if failures:
        raise UserError(f"timing the cost of a step failed, the runs to the target are kept in {out}: {failures[0]}")


def _record(calibration: Calibration, rung: Rung, run: RunTime, out: Path, seeds: int) -> None:
    """Keep one finished run; a rung with all `seeds` seeds becomes (or extends) its ladder entry."""
    calibration.pending.append(run)
    mine = calibration.runs_of(rung.slug)  # an entry given new seeds loses its step costs: they are timed again
    if {r.seed for r in mine} >= set(range(seeds)):
        calibration.pending = [r for r in calibration.pending if r.rung != rung.slug]
        entries = {r.id: r for r in calibration.rungs}
        entries[rung.slug] = rung_times(rung.slug, rung.mirrors, mine)
        calibration.rungs = [entries[r.slug] for r in RUNGS if r.slug in entries]
    save_calibration(calibration, out)


def _run_once(job: Job, threads: int, target_loss: float, progress: Progress,
              cancel: threading.Event) -> RunTime | None:
    """One run to the target; None when cancelled."""
    ran = _run_rung(job, threads, target_loss, {}, progress, cancel)
    if ran is None:
        return None
    result, wall_s = ran
    if not result.valid:
        raise UserError(f"rung {job.rung.number} ({job.rung.slug}) seed {job.seed}: {result.status}, "
                        f"{result.reason}; fix the rung or choose another --target-loss")
    return RunTime(job.rung.slug, job.seed, result.time_to_target_ms / 1000.0, int(result.steps_to_target), wall_s)


def time_step_cost(job: Job, threads: int, progress: Progress, cancel: threading.Event) -> RunTime | None:
    """A short run with no target: the CPU time of its steps after the warm-up, from its validation lines."""
    ran = _run_rung(job, threads, None, {"SPEEDRUN_MAX_STEPS": str(job.expected_steps)}, progress, cancel)
    if ran is None:
        return None
    result, wall_s = ran
    counted = [p for p in result.curve if p.step >= COST_WARMUP_STEPS]
    if result.status != "ok" or len(counted) < 2 or counted[-1].step != job.expected_steps:
        raise UserError(f"{job.label} ({job.rung.slug}): {result.status} before step {job.expected_steps}, "
                        f"{result.reason or 'its validation lines stopped early'}")
    first, last = counted[0], counted[-1]
    return RunTime(job.rung.slug, job.seed, (last.train_time_ms - first.train_time_ms) / 1000,
                   last.step - first.step, wall_s)


def _run_rung(job: Job, threads: int, target_loss: float | None, extra_env: dict[str, str], progress: Progress,
              cancel: threading.Event):
    """Run `job`'s rung on the CPU clock: (its RunResult, its wall seconds), or None when cancelled."""
    from records.catalog import micro_env
    from runner.local import run_local
    from runner.spec import RunSpec

    if cancel.is_set():
        return None
    env = {**micro_env(seed=job.seed, threads=threads, target_loss=target_loss), "SPEEDRUN_CLOCK": "cpu",
           **extra_env}
    clocks: list[str] = []
    result = run_local(RunSpec(script=job.code, target_loss=target_loss, timeout_s=RUN_TIMEOUT_S, env=env),
                       on_line=_watch(job, progress, clocks), cancel=cancel)
    if result.status == "cancelled" or cancel.is_set():
        return None
    return result, _wall_seconds(clocks)


def _watch(job: Job, progress: Progress, clocks: list[str]) -> Callable:
    def on_line(line) -> None:
        if line.text.startswith("clocks:"):
            clocks.append(line.text)
        elif line.metric is not None:
            m = line.metric
            progress.step(job, m.step, job.expected_steps or m.total_steps or 0, m.val_loss)
    return on_line


def _wall_seconds(clock_lines: list[str]) -> float:
    """The wall clock from a rung's final `clocks: train_time_cpu:Xms train_time_wall:Yms` line (nan if none)."""
    for token in (clock_lines[-1].split() if clock_lines else []):
        if token.startswith("train_time_wall:"):
            return float(token.removeprefix("train_time_wall:").removesuffix("ms")) / 1000.0
    return float("nan")


@dataclass(frozen=True)
class LadderRow:
    rung: Rung
    times: RungTimes
    vs_first: float | None  # the speedup over rung 1, when rung 1 is calibrated
    vs_previous: float | None
    significant: bool | None  # against the previous rung; None for the first


def ladder_rows(calibration: Calibration) -> list[LadderRow]:
    """The calibrated rungs in ladder order, with their speedups and whether each step is significant."""
    rows: list[LadderRow] = []
    first = calibration.rung(RUNGS[0].slug)
    previous: RungTimes | None = None
    for rung in RUNGS:
        times = calibration.rung(rung.slug)
        if times is None:
            previous = None
            continue
        rows.append(LadderRow(rung, times, first.mean_s / times.mean_s if first else None,
                              previous.mean_s / times.mean_s if previous else None,
                              significant(times, previous) if previous else None))
        previous = times
    return rows
