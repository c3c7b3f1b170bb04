"""The harness's checks of one candidate run that claims the target, for sessions and `verify`.

It evaluates the model the run saved at its claim (records/reevaluate.py), judges the
run's clock and losses against the harness's measurements (records/integrity.py), and
runs the candidate once more under a fresh secret seed for a few validation points, to
see that it uses its seed. What decides is a Verdict; what could not be checked is said
in its notes.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from records.integrity import SEED_POINTS, Verdict, judge_run, seed_failure
from records.reevaluate import ModelCheck, measure_model, saves_model
from records.task import Task
from runner.result import RunResult
from runner.treeclock import HarnessClock

ENV_SEED = "SPEEDRUN_SEED"


@dataclass(frozen=True)
class RunGuard:
    """How the runs of one session (or one `verify`) are confined and checked."""

    task: Task
    env: dict[str, str]  # the run environment (data paths, seed, threads, target)
    sandbox: str
    hide: list[str]  # paths the sandbox hides beyond its defaults (the session DB)
    session_id: str

    @cached_property
    def saves_model(self) -> bool:
        return saves_model(self.task.start_code())

    @cached_property
    def seeded(self) -> bool:
        """Whether the start code takes its seed from the harness: only then can a candidate ignore it."""
        return ENV_SEED in self.task.start_code()

    @property
    def clock(self) -> str:
        """What claimed times are checked against: CPU on CPU runs, the wall clock on GPUs."""
        gpu = self.task.launcher == "torchrun" or self.env.get("SPEEDRUN_DEVICE") == "cuda"
        return "wall" if gpu else "cpu"

    def measure(self, result: RunResult) -> ModelCheck | None:
        """The harness's evaluation of the model `result` saved; None when the task saves none."""
        if not self.saves_model:
            return None
        heldout = str(self.task.heldout_bin) if self.task.heldout_bin else None
        return measure_model(Path(result.workdir), start_code=self.task.start_code(),
                             val_bin=self.env["SPEEDRUN_VAL_BIN"], heldout_bin=heldout, env=self.env,
                             sandbox=self.sandbox, hide=self.hide)


@dataclass(frozen=True)
class Reference:
    """What the start code's own run (trusted) measured in this session: the allowances' yardstick."""

    clock: HarnessClock | None = None
    heldout_gap: float | None = None  # held-out minus validation loss of the start code's model


def describe_checks(guard: RunGuard) -> str:
    """One line for the session's start: which of the harness's checks this task's runs get."""
    checks = [f"the {guard.clock} clock"]
    if guard.saves_model:
        checks.insert(0, "the model saved at the claim (the harness's loss, "
                      + ("held-out split, " if guard.task.heldout_bin else "") + "causality probe)")
    else:
        checks.append("later validation lines")
    if guard.seeded:
        checks.append("a fresh-seed run")
    return "harness checks of every faster candidate: " + ", ".join(checks)


def check_claim(guard: RunGuard, code: str, result: RunResult, *, node: int, timeout_s: float,
                reference: Reference = Reference(), fresh_seed: bool = True) -> Verdict:
    """All the harness's checks of `result`, a run of `code` that claims the target."""
    verdict = judge_run(result, target_loss=guard.task.target_loss, model=guard.measure(result),
                        reference=reference.clock, reference_gap=reference.heldout_gap)
    if not verdict.ok or not fresh_seed or not guard.seeded:
        return verdict
    failure = seed_check(guard, code, result, node=node, timeout_s=timeout_s)
    return Verdict(False, failure, verdict.notes) if failure else verdict


def seed_check(guard: RunGuard, code: str, result: RunResult, *, node: int, timeout_s: float) -> str:
    """'' when a short run under a fresh secret seed gives another validation curve; its log stays out
    of the session (the node's log is its search run's)."""
    from agent.noderun import run_code

    first = int(guard.env.get(ENV_SEED, "0"))
    fresh = secrets.randbelow(2**31 - 1) + 1
    fresh += fresh == first
    rerun = run_code(code, node=node, code_sha="", session_id=f"{guard.session_id}-seedcheck", task=guard.task,
                     env={**guard.env, ENV_SEED: str(fresh)}, timeout_s=timeout_s, emit=lambda event: None,
                     cancel=threading.Event(), sandbox=guard.sandbox, hide=guard.hide,
                     stop_after_vals=SEED_POINTS + 1, clock=guard.clock)
    return seed_failure(result, rerun, (first, fresh))

