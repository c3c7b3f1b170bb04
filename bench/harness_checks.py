"""What the harness's checks cost, per check, as a ratio to the run they check; and the honest values.

Runs a micro rung (default: rung 8 as a candidate of micro/7, at a loose target so a run
is about a minute on one AVX2 core) through the same path a session uses, sandboxed,
then each check of agent/harness.py separately, REPEATS times, and prints per check its
wall time against the run's. It also prints what each allowance of
records/integrity.py is compared with on that honest run, so the margins can be read
against what an honest run shows on this machine.

    .venv/bin/python bench/harness_checks.py [--rung 8] [--target 2.5] [--repeats 3] [--sandbox bwrap]

Needs `speedrun-tui data micro` first (it uses $SPEEDRUN_TUI_HOME's data).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rung", type=int, default=8)
    parser.add_argument("--target", type=float, default=2.5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sandbox", default="bwrap")
    args = parser.parse_args()
    from agent.harness import RunGuard
    from records.catalog import get_task, task_env
    from records.fingerprint import this_cpu

    task = replace(get_task(f"micro/{args.rung - 1}"), target_loss=args.target)
    env = task_env(task, seed=0)
    guard = RunGuard(task=task, env=env, sandbox=args.sandbox, hide=[], session_id="bench")
    code = task.target_script.read_text()
    cpu = this_cpu(1)
    print(f"rung {args.rung} at target {args.target}, sandbox {args.sandbox}, {cpu.model} ({cpu.capability}), "
          f"{args.repeats} repeats")
    rows: dict[str, list[float]] = {}
    for i in range(args.repeats):
        for name, wall in measure_once(guard, code).items():
            rows.setdefault(name, []).append(wall)
        print(f"  repeat {i + 1}/{args.repeats} done", file=sys.stderr, flush=True)
    report(rows)


def measure_once(guard, code: str) -> dict[str, float]:
    from agent.harness import seed_check
    from agent.noderun import run_code
    from records.integrity import judge_run
    from runner.treeclock import tree_cpu_s

    out = {}
    result, out["run"] = timed(lambda: run_code(code, node=1, code_sha="", session_id="bench", task=guard.task,
                                                env=guard.env, timeout_s=1800, emit=lambda e: None,
                                                cancel=threading.Event(), sandbox=guard.sandbox, save_model=True,
                                                clock=guard.clock))
    if not result.valid:
        raise SystemExit(f"the honest run failed: {result.reason}")
    model, out["model evaluation (logits + losses)"] = timed(lambda: guard.measure(result))
    _, out["fresh-seed run (3 validations)"] = timed(lambda: seed_check(guard, code, result, node=1,
                                                                          timeout_s=600))
    samples = result.clock.val_intervals + result.steps_to_target  # one per metric line, at most
    _, per_sample = timed(lambda: [tree_cpu_s(1) for _ in range(200)])
    out["tree clock (harness side)"] = per_sample / 200 * samples
    verdict = judge_run(result, target_loss=guard.task.target_loss, model=model)
    print(honest_values(result, model, verdict))
    return out


def timed(work):
    start = time.perf_counter()
    value = work()
    return value, time.perf_counter() - start


def honest_values(result, model, verdict) -> str:
    from records import integrity as i

    c = result.clock
    pause = c.claim_val_unclaimed_s / max(1, c.claim_val_intervals)
    return (f"    honest: train clock ratio {c.train_ratio:.4f} (max {i.TRAIN_RATIO_MAX}); "
            f"pause {pause:.3f} s vs harness validation pass {model.val_pass_s:.3f} s "
            f"(allowed {i.VAL_PASS_FACTOR} x + {i.VAL_PASS_SLACK_S}); start-up {c.startup_s:.2f} s; "
            f"after claim {c.after_claim_s:.2f} s (max {i.CLAIM_GRACE_S}); "
            f"val {model.val_loss:.4f} held-out {model.test_loss:.4f} (gap {model.test_loss - model.val_loss:+.3f}, "
            f"max {i.HELDOUT_GAP}); probe {model.probe_change:.2g}; verdict: {verdict.reason}")


def report(rows: dict[str, list[float]]) -> None:
    """Wall time per check against the run's (rusage does not see CPU spent behind bubblewrap)."""
    runs = rows["run"]
    print(f"{'check':36} {'wall s':>14} {'/ run wall':>11}")
    for name, values in rows.items():
        ratio = statistics.fmean(w / r for w, r in zip(values, runs))
        print(f"{name:36} {_spread(values):>14} {ratio:>10.1%}")


def _spread(values: list[float]) -> str:
    middle = statistics.median(values)
    return f"{middle:.2f} ±{(max(values) - min(values)) / 2:.2f}"


if __name__ == "__main__":
    main()
