"""The CPU clock's spread between identical runs of one rung, quiet and beside 1 or 2 competing
trainings, and the verified FSR a no-op change would get under each condition.

Each condition runs the same rung (the same seed, so the same steps) PAIRS x 2 times,
alternating "start" and "no-op" (the very same code), while COMPETITORS copies of the rung
train in a loop beside it. It prints the mean time, the standard deviation and the
max-min spread of one run, and the verified FSR (sessions/verification.py) of the no-op
pairs against the task's calibrated ratio: an honest harness gives an interval holding 0.

    .venv/bin/python bench/clock_noise.py [--rung 8] [--steps 40] [--pairs 3] [--competitors 0 1 2]

Needs `speedrun-tui data micro`. With --steps the runs stop after that many steps (no
target), so a condition costs about 2 x pairs x steps x the rung's step time.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rung", type=int, default=8)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--competitors", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    from records.catalog import get_task, micro_env
    from records.fingerprint import this_cpu
    from records.ladder import RUNGS

    script = RUNGS[args.rung - 1].script
    env = {**micro_env(seed=0, threads=1, target_loss=None), "SPEEDRUN_MAX_STEPS": str(args.steps)}
    task = get_task(f"micro/{args.rung}") if args.rung < len(RUNGS) else get_task(f"micro/{args.rung - 1}")
    ratio = task.target_time_s / task.start_time_s if task.start_time_s else 0.9
    cpu = this_cpu(1)
    print(f"rung {args.rung}, {args.steps} steps a run, {args.pairs} pairs, {cpu.model} ({cpu.capability}), "
          f"{_cores()} cores; no-op FSR against the calibrated ratio {ratio:.3f}")
    print(f"{'competitors':>11} {'mean s':>8} {'std':>7} {'max-min':>8} {'no-op verified FSR [95% CI]':>30}")
    for competitors in args.competitors:
        times = measure(script, env, args.pairs, competitors)
        print(f"{competitors:>11} {statistics.fmean(times):8.2f} {statistics.stdev(times) / statistics.fmean(times):7.1%} "
              f"{(max(times) - min(times)) / statistics.fmean(times):8.1%} {noop_fsr(times, ratio):>30}", flush=True)


def measure(script: Path, env: dict[str, str], pairs: int, competitors: int) -> list[float]:
    from runner.local import run_local
    from runner.spec import RunSpec

    rivals = [_rival(script, env) for _ in range(competitors)]
    try:
        time.sleep(3 if rivals else 0)  # let them get past start-up
        times = []
        for _ in range(2 * pairs):
            result = run_local(RunSpec(script=script, env=env, timeout_s=3600))
            times.append(result.curve[-1].train_time_ms / 1000.0)
            print(f"    run {len(times)}/{2 * pairs}: {times[-1]:.2f} s", file=sys.stderr, flush=True)
        return times
    finally:
        for rival in rivals:  # the shell and the training it runs: its whole session
            os.killpg(rival.pid, signal.SIGKILL)
            rival.wait()


def noop_fsr(times: list[float], ratio: float) -> str:
    from sessions.report import verified_text
    from sessions.verification import RoundTimes, score_rounds

    rounds = [RoundTimes(a, b, a * ratio) for a, b in zip(times[::2], times[1::2])]
    score = score_rounds(rounds, reference_source="calibrated")
    return verified_text(score.fsr, score.low, score.high, score.rounds, score.improved)


def _rival(script: Path, env: dict[str, str]) -> subprocess.Popen:
    loop = f"while true; do {sys.executable} {script} >/dev/null 2>&1; done"
    child_env = {**os.environ, **env, "SPEEDRUN_MAX_STEPS": "0"}
    return subprocess.Popen(["/bin/sh", "-c", loop], env=child_env, start_new_session=True)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
