"""Check a micro run's claimed loss: re-evaluate its saved final model with the harness's own code.

A run that prints a validation loss below the target is only believed once
records/micro/evaluate.py, run by the harness in the run's sandbox, measures the
saved model on the validation split and finds it at the target too. Tasks whose
start code saves its model (the micro rungs read SPEEDRUN_SAVE_MODEL) get the check.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

SAVE_MODEL_ENV = "SPEEDRUN_SAVE_MODEL"
SAVED_MODEL = "final_model.pt"
EVALUATE_SCRIPT = Path(__file__).resolve().parent / "micro" / "evaluate.py"
TOLERANCE = 0.02  # nats: the run's own evaluation and ours may sum the same losses in another order
MIN_TARGET_EFFECT = 0.5  # nats between true and random targets; a real model is far above it
REEVAL_TIMEOUT_S = 600.0
_PREFIX = "speedrun-reeval "


@dataclass(frozen=True)
class Reevaluation:
    confirmed: bool
    loss: float | None  # what the harness measured
    reason: str  # one line


def saves_model(start_code: str) -> bool:
    """Whether runs of this task leave a final model the harness can re-evaluate."""
    return SAVE_MODEL_ENV in start_code


def reevaluate(workdir: Path, *, target_loss: float, claimed_loss: float | None, env: dict[str, str],
               sandbox: str = "off", hide: list[str] | None = None,
               timeout_s: float = REEVAL_TIMEOUT_S) -> Reevaluation:
    """Measure the final model a run saved in `workdir` (its train.py next to it) against the target."""
    from runner.local import run_local
    from runner.spec import RunSpec

    workdir = Path(workdir)
    weights, script = workdir / SAVED_MODEL, workdir / "train.py"
    if not weights.is_file():
        return Reevaluation(False, None, f"the run saved no final model (${SAVE_MODEL_ENV}), so its loss "
                                         "cannot be checked")
    folder = workdir / "reeval"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(script, folder / script.name)
    shutil.copyfile(weights, folder / SAVED_MODEL)
    child_env = {k: v for k, v in env.items() if k != SAVE_MODEL_ENV}
    lines: list[str] = []
    spec = RunSpec(script=EVALUATE_SCRIPT, workdir=folder, args=[script.name, SAVED_MODEL], env=child_env,
                   timeout_s=timeout_s, sandbox=sandbox, sandbox_hide=list(hide or []))
    result = run_local(spec, on_line=lambda line: lines.append(line.text) if line.stream == "stdout" else None)
    reported = next((ln[len(_PREFIX):] for ln in reversed(lines) if ln.startswith(_PREFIX)), None)
    if reported is None:
        return Reevaluation(False, None, f"re-evaluation failed: {result.reason or result.status}")
    return judge(json.loads(reported), target_loss=target_loss, claimed_loss=claimed_loss)


def judge(measured: dict, *, target_loss: float, claimed_loss: float | None) -> Reevaluation:
    if "error" in measured:
        return Reevaluation(False, None, f"re-evaluation failed: {measured['error']}")
    loss, random_loss = float(measured["loss"]), float(measured["random_loss"])
    claimed = f" (the run claimed {claimed_loss:.4f})" if claimed_loss is not None else ""
    if not loss <= target_loss + TOLERANCE:
        return Reevaluation(False, loss, f"re-evaluated val_loss {loss:.4f} is above the target "
                                         f"{target_loss:.4f}{claimed}")
    if not random_loss - loss >= MIN_TARGET_EFFECT:
        return Reevaluation(False, loss, f"the saved model's loss does not depend on the targets "
                                         f"({loss:.4f} on true, {random_loss:.4f} on random next tokens)")
    return Reevaluation(True, loss, f"re-evaluated val_loss {loss:.4f} confirms the target {target_loss:.4f}")
