"""Overhead of the runner against running the same script bare with subprocess.run.

The script is trainer-like: a fixed amount of pure-Python work per step (about
10 ms), a training line per step and a validation line every 25 steps, ~2.5 s in
all. Runs are interleaved (bare, runner, bare, runner, ...) after one warm-up of
each, so drift on a shared machine hits both sides alike. Prints each pair, then
the overhead as a ratio of medians (target: under 2 %). The harness's own CPU time
per run is printed too: unlike the wall ratio it does not drown in the noise of a
busy machine.

    .venv/bin/python bench/runner_overhead.py [--reps 5] [--steps 250]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TRAINER = textwrap.dedent("""
    import sys
    steps, work = int(sys.argv[1]), int(sys.argv[2])
    print("config: bench trainer", steps, "steps")
    for step in range(steps + 1):
        if step % 25 == 0:
            print(f"step:{step}/{steps} val_loss:{4.0 - step / steps:.4f} train_time:{step * 10}ms step_avg:10.00ms")
        if step < steps:
            acc = 0
            for i in range(work):
                acc += i * i % 7
            print(f"step:{step + 1}/{steps} train_loss:{4.1 - step / steps:.4f} train_time:{step * 10}ms "
                  f"step_avg:10.00ms")
""")


def calibrate_work(target_s: float = 0.010) -> int:
    """Loop iterations that take about target_s in this interpreter."""
    n = 200_000
    start = time.perf_counter()
    acc = 0
    for i in range(n):
        acc += i * i % 7
    return max(1000, int(n * target_s / (time.perf_counter() - start)))


def time_bare(script: Path, argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(script), *argv], capture_output=True, check=True, cwd=script.parent)
    return time.perf_counter() - start


def time_runner(script: Path, argv: list[str], workdir: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds the harness itself spent: its threads, not the child)."""
    from runner.local import run_local
    from runner.spec import RunSpec

    lines = []
    start, cpu = time.perf_counter(), time.process_time()
    result = run_local(RunSpec(script=script, args=argv, workdir=workdir, target_loss=3.5), on_line=lines.append)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if result.status != "ok" or not lines:
        raise SystemExit(f"runner run failed: {result.status} {result.reason}")
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=250)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SPEEDRUN_TUI_HOME"] = tmp
        script = Path(tmp) / "trainer.py"
        script.write_text(TRAINER)
        argv = [str(opts.steps), str(calibrate_work())]
        time_bare(script, argv), time_runner(script, argv, Path(tmp) / "warmup")  # warm caches
        bare, runner, harness_cpu = [], [], []
        for rep in range(opts.reps):
            bare.append(time_bare(script, argv))
            wall, cpu = time_runner(script, argv, Path(tmp) / f"run{rep}")
            runner.append(wall)
            harness_cpu.append(cpu)
            print(f"rep {rep + 1}: bare {bare[-1]:.3f} s  runner {wall:.3f} s  (harness CPU {cpu * 1000:.0f} ms)",
                  flush=True)
    b, r = statistics.median(bare), statistics.median(runner)
    print(f"median bare {b:.3f} s, runner {r:.3f} s ({opts.steps + 1 + opts.steps // 25 + 1} lines per run)")
    print(f"harness CPU per run: {statistics.median(harness_cpu) * 1000:.0f} ms "
          f"({statistics.median(harness_cpu) / b * 100:.2f} % of a bare run's wall time)")
    spread = (max(bare) - min(bare)) / b * 100
    print(f"bare runs spread over {spread:.1f} % of their median"
          + ("; the machine is busy, so trust the harness CPU figure over the wall ratio" if spread > 4 else ""))
    print(f"overhead ratio: {r / b:.4f} ({(r / b - 1) * 100:+.2f} %; target < +2 %)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
