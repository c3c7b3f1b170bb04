"""The micro ladder's calibration: time to target per rung, over several seeds, on one machine.

`records/micro/calibration.json` holds what `speedrun-tui calibrate micro` measured;
the catalog's start and target times come from it. Rungs run through the runner,
one seed after another, with a fixed thread count, so the clock (process CPU time,
see records/micro/README.md) compares like with like.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from records.ladder import MICRO_DIR, RUNGS, Rung
from speedrun_tui.errors import UserError

CALIBRATION_FILE = MICRO_DIR / "calibration.json"
DEFAULT_TARGET_LOSS = 1.78
DEFAULT_THREADS = 1
RUN_TIMEOUT_S = 1800.0


@dataclass
class RungTimes:
    id: str  # the rung's folder name
    mirrors: str  # "record #N"
    times_s: list[float]  # the log's train_time at the target: process CPU time
    steps: list[int]
    mean_s: float
    std_s: float
    wall_times_s: list[float] = field(default_factory=list)  # the same runs on the wall clock, for comparison


@dataclass
class Calibration:
    target_loss: float
    machine: str
    seeds: int
    threads: int
    clock: str
    rungs: list[RungTimes] = field(default_factory=list)

    def mean_s(self, slug: str) -> float | None:
        return next((r.mean_s for r in self.rungs if r.id == slug), None)

    def std_s(self, slug: str) -> float | None:
        return next((r.std_s for r in self.rungs if r.id == slug), None)

    def seed_times_s(self, slug: str) -> list[float]:
        """The rung's time per calibration seed, seed 0 first."""
        return next((list(r.times_s) for r in self.rungs if r.id == slug), [])


def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration | None:
    """The calibration file, or None when there is none yet."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        rungs = [RungTimes(**r) for r in data.pop("rungs")]
        return Calibration(**data, rungs=rungs)
    except (ValueError, TypeError, KeyError) as err:
        raise UserError(f"{path}: damaged calibration file ({err}); run `speedrun-tui calibrate micro` again") from err


def save_calibration(calibration: Calibration, path: Path = CALIBRATION_FILE) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(calibration), indent=2) + "\n")
    tmp.replace(path)


def machine_string(threads: int) -> str:
    cpu = _cpu_model() or platform.processor() or platform.machine()
    return f"{cpu}, {threads} thread{'s' if threads != 1 else ''}, {platform.system()}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def select_rungs(numbers: list[int] | None) -> list[Rung]:
    if not numbers:
        return list(RUNGS)
    bad = [n for n in numbers if not 1 <= n <= len(RUNGS)]
    if bad:
        raise UserError(f"unknown rung {bad[0]}: the micro ladder has rungs 1-{len(RUNGS)}")
    return [RUNGS[n - 1] for n in sorted(set(numbers))]


def calibrate(rungs: list[Rung], *, seeds: int, threads: int, target_loss: float, jobs: int = 1,
              out: Path = CALIBRATION_FILE, log: Callable[[str], None] = print) -> Calibration:
    """Run each rung once per seed through the runner and write the calibration file.

    `jobs` runs go at once (with 1 thread each, 2 jobs fill 2 cores; the CPU-time
    clock barely notices). Rungs not re-run keep their previous entries when the
    target loss is unchanged, so one rung can be recalibrated alone. A run that
    misses the target is an error: the ladder's times would mean nothing.
    """
    if seeds < 1 or jobs < 1:
        raise UserError(f"--seeds and --jobs must be at least 1, got {seeds} and {jobs}")
    previous = load_calibration(out)
    kept = previous.rungs if previous and previous.target_loss == target_loss else []
    measured = {r.id: r for r in kept}
    done: dict[str, list[tuple[int, float, int, float]]] = {r.slug: [] for r in rungs}
    calibration = Calibration(target_loss, machine_string(threads), seeds, threads, "cpu", list(kept))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_run_once, rung, seed, threads, target_loss): (rung, seed)
                   for rung in rungs for seed in range(seeds)}
        failures = []
        for future in as_completed(futures):
            rung, seed = futures[future]
            try:
                time_s, step, wall_s = future.result()
            except UserError as err:  # keep measuring the other rungs; report at the end
                log(str(err))
                failures.append(str(err))
                continue
            log(f"rung {rung.number} {rung.slug} seed {seed}: {time_s:.1f} s ({wall_s:.1f} s wall), {step} steps")
            done[rung.slug].append((seed, time_s, step, wall_s))
            if len(done[rung.slug]) == seeds:
                measured[rung.slug] = _rung_times(rung, sorted(done[rung.slug]))
                calibration.rungs = [measured[r.slug] for r in RUNGS if r.slug in measured]
                save_calibration(calibration, out)  # per rung: a long calibration that dies keeps its progress
    if failures:
        raise UserError(f"{len(failures)} run(s) failed, their rungs were not written; first: {failures[0]}")
    return calibration


def _rung_times(rung: Rung, runs: list[tuple[int, float, int, float]]) -> RungTimes:
    times = [round(t, 3) for _, t, _, _ in runs]
    return RungTimes(rung.slug, f"record #{rung.mirrors}", times, [s for _, _, s, _ in runs],
                     round(statistics.fmean(times), 3), round(_std(times), 3),
                     wall_times_s=[round(w, 3) for *_, w in runs])


def _run_once(rung: Rung, seed: int, threads: int, target_loss: float) -> tuple[float, int, float]:
    """(CPU seconds to target, steps to target, wall seconds to target) of one run."""
    from records.catalog import micro_env
    from runner.local import run_local
    from runner.spec import RunSpec

    env = micro_env(seed=seed, threads=threads, target_loss=target_loss)
    env["SPEEDRUN_CLOCK"] = "cpu"
    clocks: list[str] = []
    result = run_local(RunSpec(script=rung.script, target_loss=target_loss, timeout_s=RUN_TIMEOUT_S, env=env),
                       on_line=lambda line: clocks.append(line.text) if line.text.startswith("clocks:") else None)
    if not result.valid:
        raise UserError(f"rung {rung.number} ({rung.slug}) seed {seed}: {result.status}, "
                        f"{result.reason}; fix the rung or choose another --target-loss")
    return result.time_to_target_ms / 1000.0, int(result.steps_to_target), _wall_seconds(clocks)


def _wall_seconds(clock_lines: list[str]) -> float:
    """The wall clock from a rung's final `clocks: train_time_cpu:Xms train_time_wall:Yms` line (nan if none)."""
    for token in (clock_lines[-1].split() if clock_lines else []):
        if token.startswith("train_time_wall:"):
            return float(token.removeprefix("train_time_wall:").removesuffix("ms")) / 1000.0
    return math.nan


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def significant(faster: RungTimes, slower: RungTimes) -> bool:
    """Mean faster by more than twice the combined standard error of the two means."""
    se = math.sqrt(faster.std_s**2 / len(faster.times_s) + slower.std_s**2 / len(slower.times_s))
    return slower.mean_s - faster.mean_s > 2 * se
