"""Which change of a micro rung costs (or saves) the time of a step on this CPU.

Rung k+1 differs from rung k in a few hunks of code (rung 4 over rung 3: QK-norm, ReLU^2, zero-
initialized projections, ...). This bench builds rung k with each hunk applied alone, and rung
k+1 itself, and times the cost of a step of each the way `speedrun-tui calibrate micro` does
(10 warm-up steps, then STEPS counted ones, one run at a time, on the CPU clock), round after
round, the order reversed every other round. It prints each variant's cost against rung k's,
paired round by round (mean and 95 % interval, Student's t over the rounds; n.s. when it holds 0).
A hunk that cannot run alone (an import another hunk needs) is listed as such.

    .venv/bin/python bench/rung_change_costs.py 3 [--rounds 4] [--steps 30] [--threads 1]

Needs `speedrun-tui data micro`. A round costs about (hunks + 2) x (STEPS + 10) x the rung's step
time: rung 3 -> 4, 6 variants that run, 7 minutes a round on the AVX2 EPYC on 2026-12-04 (its host
slow that day: 1.3 s a step of rung 3). Ctrl-C prints the rounds so far.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from records.calibrate import COST_WARMUP_STEPS, Job, Progress, time_step_cost  # noqa: E402
from records.fingerprint import this_cpu  # noqa: E402
from records.ladder import RUNGS  # noqa: E402
from sessions.verification import t975  # noqa: E402


@dataclass(frozen=True)
class Variant:
    label: str
    script: Path


def _shape(code: str) -> str:
    """The code's syntax tree without its docstring: comments and prose leave it unchanged."""
    tree = ast.parse(code)
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        tree.body = tree.body[1:]
    return ast.dump(tree)


def _label(removed: list[str], added: list[str]) -> str:
    line = (added or removed)[0].strip()
    return ("" if added else "without: ") + (line[:60] + "..." if len(line) > 60 else line)


def variants(k: int, folder: Path) -> list[Variant]:
    """Rung k, rung k with each code hunk of rung k+1 alone, and rung k+1, written under `folder`."""
    base, goal = RUNGS[k - 1].script.read_text(), RUNGS[k].script.read_text()
    old, new = base.splitlines(keepends=True), goal.splitlines(keepends=True)
    found = [Variant(f"rung {k}", RUNGS[k - 1].script)]
    for n, (tag, i1, i2, j1, j2) in enumerate(difflib.SequenceMatcher(None, old, new).get_opcodes()):
        if tag == "equal" or all(line.strip().startswith("print(") for line in old[i1:i2] + new[j1:j2]):
            continue
        code = "".join(old[:i1] + new[j1:j2] + old[i2:])
        if _shape(code) != _shape(base):
            path = folder / f"hunk{n}.py"
            path.write_text(code)
            found.append(Variant(_label(old[i1:i2], new[j1:j2]), path))
    return found + [Variant(f"rung {k + 1} (all of it)", RUNGS[k].script)]


def _time_rounds(k: int, found: list[Variant], rounds: int, steps: int, threads: int) -> dict[str, list[float]]:
    costs: dict[str, list[float]] = {v.label: [] for v in found}
    broken: set[str] = set()  # a variant that failed once does not run alone: it is not run again
    runs, started, cancel = 0, time.monotonic(), threading.Event()
    try:
        for r in range(rounds):
            for n, v in enumerate(found if r % 2 == 0 else found[::-1]):
                if v.label in broken:
                    continue
                job = Job(RUNGS[k - 1], 0, COST_WARMUP_STEPS + steps, r, script=v.script)
                try:
                    run = time_step_cost(job, threads, Progress(), cancel)
                    costs[v.label].append(1000 * run.time_s / run.steps)
                except Exception as error:  # noqa: BLE001 - a hunk that cannot run alone is a finding
                    broken.add(v.label)
                    print(f"  {v.label}: does not run alone ({str(error)[:80]})", flush=True)
                    continue
                runs += 1
                working = len(found) - len(broken)
                left = (time.monotonic() - started) / runs * ((rounds - r - 1) * working + len(found) - n - 1)
                print(f"round {r + 1}/{rounds} · {v.label}: {costs[v.label][-1]:.0f} ms/step "
                      f"(about {left / 60:.0f} min left)", flush=True)
    except KeyboardInterrupt:
        cancel.set()
        print("interrupted: the rounds so far", flush=True)
    return costs


def report(costs: dict[str, list[float]]) -> None:
    labels = list(costs)
    base = costs[labels[0]]
    print(f"\n{'variant':<68} {'ms/step':>8}  vs {labels[0]} (paired, 95 % interval)")
    for label in labels:
        mine = costs[label][:len(base)]
        diffs = [100 * (m / b - 1) for m, b in zip(mine, base)]
        if not diffs:
            print(f"{label:<68} {'n/a':>8}  does not run alone")
            continue
        mean = statistics.fmean(diffs)
        err = t975(len(diffs) - 1) * statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float("inf")
        flag = "" if label == labels[0] else ("  n.s." if abs(mean) <= err else "")
        print(f"{label:<68} {statistics.fmean(mine):8.0f}  {mean:+6.1f} % +- {err:.1f}{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("k", type=int, help=f"the transition k -> k+1 (1-{len(RUNGS) - 1})")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.k < len(RUNGS):
        parser.error(f"k must be 1-{len(RUNGS) - 1}, got {args.k}")
    here = this_cpu(args.threads)
    print(here.describe())
    with tempfile.TemporaryDirectory() as folder:
        found = variants(args.k, Path(folder))
        print(f"rung {args.k} -> {args.k + 1}: {len(found) - 2} hunk(s) of code, {args.rounds} rounds of "
              f"{len(found)} runs of {COST_WARMUP_STEPS} + {args.steps} steps")
        report(_time_rounds(args.k, found, args.rounds, args.steps, args.threads))


if __name__ == "__main__":
    main()
