"""Real-track costs that a person waits on: `import nanogpt` and the Slurm backend's overhead.

1. Import of a fake modded-nanogpt checkout at the real scale (21 records, ~600
   lines of code and ~7000 log lines each), with hints: seconds per import.
2. The same short trainer through run_local and through run_slurm on submitit's
   local executor: the extra seconds a job costs (submission, pickling, polling).

    .venv/bin/python bench/realtrack_bench.py [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

TRAINER = """import time
for step in range(21):
    time.sleep(0.05)
    print(f"step:{step}/20 val_loss:{4 - step * 0.05:.4f} train_time:{step * 50}ms step_avg:50.00ms", flush=True)
"""


def scale_checkout(root: Path) -> None:
    """Make every record's log real-sized: ~600 lines of code, ~7000 training lines."""
    from realtrack_helpers import SEP

    code = "".join(f"x_{i} = {i}  # filler line of a record's code\n" for i in range(600))
    log = "".join(f"step:{i}/7000 train_loss:3.5 train_time:{i * 200}ms step_avg:200.00ms\n" for i in range(7000))
    for txt in root.rglob("*.txt"):
        text = txt.read_text()
        if SEP in text:
            txt.write_text(code + text + log + "step:7000/7000 val_loss:3.2780 train_time:1400000ms step_avg:200ms\n")


def bench_import(reps: int) -> None:
    from realtrack_helpers import make_hints_tree, make_modded_nanogpt

    from records.nanogpt_catalog import import_nanogpt

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SPEEDRUN_TUI_HOME"] = str(Path(tmp) / "home")
        checkout = make_modded_nanogpt(Path(tmp) / "mn")
        scale_checkout(checkout)
        hints = make_hints_tree(Path(tmp) / "lsr")
        size = sum(p.stat().st_size for p in checkout.rglob("*") if p.is_file()) / 2**20
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            import_nanogpt(checkout, hints)
            times.append(time.perf_counter() - start)
        print(f"import nanogpt: {size:.1f} MiB checkout, median {statistics.median(times):.3f} s "
              f"over {reps} ({', '.join(f'{t:.3f}' for t in times)})")


def bench_slurm_overhead(reps: int) -> None:
    from runner.local import run_local
    from runner.slurm import SlurmOptions, run_slurm
    from runner.spec import RunSpec

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SPEEDRUN_TUI_HOME"] = str(Path(tmp) / "home")
        script = Path(tmp) / "train.py"
        script.write_text(TRAINER)
        local, slurm = [], []
        for _ in range(reps):
            start = time.perf_counter()
            run_local(RunSpec(script=script, target_loss=3.5))
            local.append(time.perf_counter() - start)
            start = time.perf_counter()
            run_slurm(RunSpec(script=script, target_loss=3.5), SlurmOptions(cluster="local", poll_s=0.2))
            slurm.append(time.perf_counter() - start)
        extra = statistics.median(slurm) - statistics.median(local)
        print(f"run_local median {statistics.median(local):.2f} s, run_slurm (local executor, poll 0.2 s) "
              f"median {statistics.median(slurm):.2f} s: +{extra:.2f} s per job")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    bench_import(args.reps)
    bench_slurm_overhead(args.reps)


if __name__ == "__main__":
    main()
