"""MFU of the micro baseline on this CPU: achieved training FLOP/s over the measured matmul peak.

Usage: .venv/bin/python bench/micro_mfu.py [--threads N] [--steps S]

Both numbers come from this one run, with the same thread count:
  peak      the best fp32 torch.matmul throughput over a few shapes (square, and the
            baseline's own 4096x128 @ 128x512);
  achieved  training FLOPs per step of rung 1 (PaLM convention: 6 x matmul parameters
            + 12 x layers x seq_len x d_model, per token) divided by its wall-clock
            step time, from a short run of the real train.py.
Needs the micro data (`speedrun-tui data micro`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The baseline's shape (records/micro/01_llmc_baseline/train.py, Hyperparameters).
VOCAB, LAYERS, D_MODEL, SEQ_LEN, BATCH = 256, 4, 128, 256, 16


def training_flops_per_step() -> float:
    matmul_params = LAYERS * 12 * D_MODEL**2 + D_MODEL * VOCAB  # qkv + proj + 2 MLP mats, and the head
    per_token = 6 * matmul_params + 12 * LAYERS * SEQ_LEN * D_MODEL
    return per_token * SEQ_LEN * BATCH


def matmul_peak(threads: int) -> tuple[float, str]:
    """Best fp32 matmul FLOP/s over a few shapes, and the shape that gave it."""
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    import torch

    torch.set_num_threads(threads)
    best, best_shape = 0.0, ""
    for m, k, n in ((1024, 1024, 1024), (2048, 2048, 2048), (BATCH * SEQ_LEN, D_MODEL, 4 * D_MODEL)):
        a, b = torch.randn(m, k), torch.randn(k, n)
        for _ in range(3):
            a @ b
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < 1.0:
            a @ b
            reps += 1
        rate = 2 * m * k * n * reps / (time.perf_counter() - start)
        if rate > best:
            best, best_shape = rate, f"{m}x{k} @ {k}x{n}"
    return best, best_shape


def baseline_step_seconds(threads: int, steps: int) -> float:
    """Wall seconds per training step of rung 1, from its own log (validation excluded)."""
    from records.catalog import micro_env
    from records.ladder import RUNGS

    env = {**os.environ, **micro_env(seed=0, threads=threads, target_loss=None),
           "SPEEDRUN_MAX_STEPS": str(steps), "SPEEDRUN_CLOCK": "wall"}
    out = subprocess.run([sys.executable, str(RUNGS[0].script)], env=env, capture_output=True,
                         text=True, check=True).stdout
    last_train = [ln for ln in out.splitlines() if "train_loss:" in ln][-1]
    step_avg = next(t for t in last_train.split() if t.startswith("step_avg:"))
    return float(step_avg.removeprefix("step_avg:").removesuffix("ms")) / 1000.0


def main() -> None:
    from speedrun_tui.errors import UserError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    try:
        step_s = baseline_step_seconds(args.threads, args.steps)
    except UserError as err:
        sys.exit(f"micro_mfu: {err}")
    peak, shape = matmul_peak(args.threads)
    achieved = training_flops_per_step() / step_s
    print(f"threads                 {args.threads}")
    print(f"matmul peak             {peak / 1e9:8.1f} GFLOP/s  ({shape}, fp32)")
    print(f"baseline step           {step_s * 1000:8.1f} ms  ({args.steps} steps, batch {BATCH} x {SEQ_LEN} bytes)")
    print(f"baseline FLOPs/step     {training_flops_per_step() / 1e9:8.2f} GFLOP")
    print(f"baseline achieved       {achieved / 1e9:8.1f} GFLOP/s")
    print(f"MFU                     {achieved / peak:8.3f}")


if __name__ == "__main__":
    main()
