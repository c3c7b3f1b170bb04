"""Sandbox overhead: wall time a run gains under each --sandbox mode.

Runs a trivial script (it prints one validation line) through run_local N times per mode,
interleaved, and reports the median and the spread of the wall time. Training runs take
seconds to minutes, so what matters is the fixed cost per run.

    .venv/bin/python bench/sandbox_overhead.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCRIPT = 'print("step:1/1 val_loss:1.0000 train_time:1ms step_avg:1.00ms")\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from runner.local import run_local
    from runner.sandbox import bwrap_problem, resolve
    from runner.spec import RunSpec

    modes = ["off", "rlimits"] + ([] if bwrap_problem() else ["bwrap"])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SPEEDRUN_TUI_HOME"] = tmp
        script = Path(tmp) / "trivial.py"
        script.write_text(SCRIPT)
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        for mode in modes:  # warm-up: the first bwrap run probes it and the interpreter's paths
            run_local(RunSpec(script=script, sandbox=mode))
        for _ in range(args.runs):
            for mode in modes:
                started = time.perf_counter()
                run_local(RunSpec(script=script, sandbox=mode))
                times[mode].append(time.perf_counter() - started)
    base = statistics.median(times["off"])
    print(f"{'mode':8} {'median ms':>10} {'p90 ms':>8} {'overhead ms':>12}")
    for mode in modes:
        values = sorted(times[mode])
        median, p90 = statistics.median(values), values[int(0.9 * (len(values) - 1))]
        print(f"{mode:8} {1000 * median:10.1f} {1000 * p90:8.1f} {1000 * (median - base):12.1f}")
    if bwrap_problem():
        print(f"bwrap: not measured ({bwrap_problem()})")
    print(f"auto here: {resolve('auto').mode}")


if __name__ == "__main__":
    main()
