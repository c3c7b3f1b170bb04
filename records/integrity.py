"""Whether a run's claimed time to target can be believed: the harness's checks, judged.

Every check compares what the run claims (its log) with what the harness measured
outside it: its process tree's clock (runner/treeclock.py), its saved model evaluated
with the harness's tokens and loss (records/reevaluate.py), and a second run under a
fresh seed. A run that fails one is invalid, with the first failure as its one-line
reason. The allowances below were calibrated on the honest rungs (bench/harness_checks.py
prints the honest values next to them; README, Security).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from records.reevaluate import ModelCheck
from runner.result import RunResult
from runner.treeclock import HarnessClock

CLAIM_GRACE_S = 3.0  # CPU a run may spend after its target claim (saving the model, exiting)
LOSS_TOLERANCE = 0.005  # nats between the claimed val_loss and the harness's on the saved model
PROBE_TOLERANCE = 1e-3  # largest change of an earlier logit when only later tokens change
HELDOUT_GAP = 0.10  # nats the held-out loss may exceed the validation loss by, with no start-code model ...
HELDOUT_MARGIN = 0.03  # ... or by the start code's own gap in this session plus this
TRAIN_RATIO_MAX = 1.05  # harness CPU per claimed CPU second over training intervals
WALL_RATIO_MAX = 1.25  # the same on the wall clock (GPU runs; not yet calibrated on a GPU)
LATER_MARGIN = 0.05  # nats a validation line after the claim may sit above the target (runs that save no model)
VAL_PASS_FACTOR = 1.25  # one validation pause may cost this much of the harness's own validation pass ...
VAL_PASS_SLACK_S = 0.05  # ... plus this (the /proc clock ticks every 10 ms)
STARTUP_FACTOR = 1.5  # start-up may cost this much of the start code's start-up in the same session ...
STARTUP_SLACK_S = 1.0  # ... plus this
STARTUP_ALLOW_S = 8.0  # start-up allowed when no start-code run of this session measured one
SEED_POINTS = 2  # validation points after step 0 the seed check compares (at least one)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # one line: the first failed check, or what was confirmed
    notes: list[str] = field(default_factory=list)  # checks that could not run here, and why


def judge_run(result: RunResult, *, target_loss: float, model: ModelCheck | None = None,
              reference: HarnessClock | None = None, reference_gap: float | None = None) -> Verdict:
    """All the checks on one run that claims the target; `model` is None when the task saves no model."""
    notes: list[str] = []
    claimed = claimed_loss(result)
    failures = [
        _after_claim(result, model is not None),
        "" if model is not None else _later_contradiction(result, target_loss),
        *([] if model is None else _model_failures(model, target_loss, claimed, reference_gap, notes)),
        *_clock_failures(result.clock, model, reference, notes),
    ]
    failure = next((f for f in failures if f), None)
    if failure:
        return Verdict(False, failure, notes)
    confirmed = f"harness val_loss {model.val_loss:.4f} confirms the claim" if model else "the clock checks pass"
    return Verdict(True, confirmed, notes)


def claimed_loss(result: RunResult) -> float | None:
    """The val_loss on the line that claimed the target."""
    return next((p.val_loss for p in result.curve if p.step == result.steps_to_target), None)


def _after_claim(result: RunResult, saves_model: bool) -> str:
    clock = result.clock
    if not saves_model or clock is None or clock.after_claim_s is None or clock.after_claim_s <= CLAIM_GRACE_S:
        return ""
    return (f"it kept running ({clock.after_claim_s:.1f} s of CPU) after it claimed the target at step "
            f"{result.steps_to_target}; the harness verifies the model at the claim, so a run must stop there")


def _later_contradiction(result: RunResult, target: float) -> str:
    """A run that saves no model runs on after its claim: its later validation must agree with it."""
    later = next((p for p in result.curve if p.step > (result.steps_to_target or 0)
                  and p.val_loss > target + LATER_MARGIN), None)
    if later is None:
        return ""
    return (f"its validation at step {later.step} ({later.val_loss:.4f}) is far above the target it claimed "
            f"at step {result.steps_to_target}: the claim is not the run's")


def _model_failures(model: ModelCheck, target: float, claimed: float | None, reference_gap: float | None,
                    notes: list[str]) -> list[str]:
    if model.error:
        return [model.error]
    said = f"; it claimed {claimed:.4f}" if claimed is not None else ""
    failures = []
    if not model.val_loss <= target + LOSS_TOLERANCE:
        failures.append(f"the harness measured val_loss {model.val_loss:.4f} on the model saved at the claim, "
                        f"above the target {target:.4f}{said}")
    elif claimed is not None and abs(model.val_loss - claimed) > LOSS_TOLERANCE:
        failures.append(f"the run claimed val_loss {claimed:.4f}, the harness measured {model.val_loss:.4f} "
                        "on its saved model: its loss is not the harness's")
    if model.probe_change is not None and model.probe_change > PROBE_TOLERANCE:
        failures.append(f"its predictions depend on later tokens (a logit moved by {model.probe_change:.3g} when "
                        "only later tokens changed): the model sees what it predicts")
    if model.test_loss is None:
        notes.append("no held-out split: the check for training on validation data did not run")
    else:
        gap = model.test_loss - model.val_loss
        allowed = HELDOUT_GAP if reference_gap is None else reference_gap + HELDOUT_MARGIN
        if gap > allowed:
            yardstick = "" if reference_gap is None else f", the start code's {reference_gap:.3f}"
            failures.append(f"held-out loss {model.test_loss:.4f} exceeds its validation loss {model.val_loss:.4f} "
                            f"by {gap:.3f} (allowed {allowed:.3f}{yardstick}): it trained on the validation data")
    return failures


def _clock_failures(clock: HarnessClock | None, model: ModelCheck | None, reference: HarnessClock | None,
                    notes: list[str]) -> list[str]:
    if clock is None or clock.claim_s is None:
        notes.append("the harness clock could not be read for this run (it needs /proc): clock checks skipped")
        return []
    failures = []
    ratio = clock.train_ratio
    if ratio is not None and ratio > (TRAIN_RATIO_MAX if clock.clock == "cpu" else WALL_RATIO_MAX):
        failures.append(f"over its training steps the harness counted {clock.train_s:.1f} s of {clock.clock} time "
                        f"where the run claims {clock.train_claimed_s:.1f} s (x{ratio:.2f}): its clock does not "
                        "count all its work (a scaled clock, or training in another process)")
    if clock.clock == "cpu" and model is not None and model.val_pass_s is not None:
        failures += _hidden_work(clock, model.val_pass_s, reference)
    return failures


def _hidden_work(clock: HarnessClock, val_pass_s: float, reference: HarnessClock | None) -> list[str]:
    per_pause = VAL_PASS_FACTOR * val_pass_s + VAL_PASS_SLACK_S
    failures = []
    allowed = clock.claim_val_intervals * per_pause
    if clock.claim_val_unclaimed_s > allowed:
        failures.append(f"{clock.claim_val_unclaimed_s:.1f} s of CPU went uncounted in its "
                        f"{clock.claim_val_intervals} validation pauses, where validating its model costs "
                        f"{val_pass_s:.2f} s a pass (allowed {allowed:.1f} s): it works while its clock is paused")
    base = (STARTUP_FACTOR * (reference.startup_s - per_pause) + STARTUP_SLACK_S
            if reference is not None and reference.startup_s is not None else STARTUP_ALLOW_S)
    startup = clock.startup_s - per_pause
    if startup > max(base, STARTUP_SLACK_S):
        failures.append(f"{startup:.1f} s of CPU before its clock started (the start code needs about "
                        f"{base:.1f} s): it works before its clock starts")
    return failures


def seed_failure(first: RunResult, fresh: RunResult, seeds: tuple[int, int]) -> str:
    """Why a run under a fresh seed shows the candidate ignores its seed ('' when it does not)."""
    earlier = {p.step: p.val_loss for p in first.curve if p.step > 0}
    points = [(earlier[p.step], p.val_loss) for p in fresh.curve if p.step in earlier][:SEED_POINTS]
    if not points:
        why = fresh.reason or fresh.status
        return f"under a fresh seed ({seeds[1]}) it reached no validation point after step 0: {why}"
    if all(abs(a - b) < 1e-6 for a, b in points):
        return (f"its validation losses are identical under seeds {seeds[0]} and {seeds[1]}: "
                "it ignores SPEEDRUN_SEED")
    return ""
