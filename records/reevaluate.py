"""The harness's measurement of the model a micro run saved at its target claim.

Tasks whose start code saves its model (the micro rungs read SPEEDRUN_SAVE_MODEL)
get it. The harness picks the tokens, the candidate's code only turns them into
logits, and the harness computes the losses:

1. Here, without torch: the validation windows the task evaluates (the start code's
   `val_tokens` and `seq_len`), as many windows of the held-out split (a file no run
   can read), and probe copies of some validation windows whose later half is random,
   all shuffled with a fresh secret seed. Only the inputs go to the run's folder; the
   targets and which window is which stay in a private folder.
2. records/micro/model_logits.py, in the run's sandbox: the candidate's model, built by
   its own code and loaded from the saved weights, returns logits for those inputs.
3. records/micro/losses.py, the harness's code only: cross-entropy on the validation
   and held-out windows, and how much the probes moved the logits before their change.

The runner reads the sandboxed process's CPU clock around the forward passes, which
gives what one validation pass of this model costs (records/integrity.py uses it).
"""

from __future__ import annotations

import json
import random
import re
import secrets
import shutil
import struct
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path

SAVE_MODEL_ENV = "SPEEDRUN_SAVE_MODEL"
SAVED_MODEL = "final_model.pt"
MICRO_DIR = Path(__file__).resolve().parent / "micro"
LOGITS_SCRIPT = MICRO_DIR / "model_logits.py"
LOSSES_SCRIPT = MICRO_DIR / "losses.py"
EVAL_TIMEOUT_S = 600.0
PROBES = 8  # validation windows copied with a random later half
_HEADER = 256 * 4
_SETTING_RE = r"^\s*{name}\s*:\s*int\s*=\s*([\d_]+)"


@dataclass(frozen=True)
class ModelCheck:
    """What the harness measured of a saved model; `error` says why it could not."""

    error: str = ""
    val_loss: float | None = None
    test_loss: float | None = None  # the held-out split; None when the task has none
    probe_change: float | None = None  # largest change of an earlier logit when only later tokens changed
    val_pass_s: float | None = None  # CPU of one forward pass over the validation windows, in the sandbox


def saves_model(start_code: str) -> bool:
    """Whether runs of this task leave a model the harness can evaluate."""
    return SAVE_MODEL_ENV in start_code


def eval_settings(start_code: str) -> tuple[int, int]:
    """(seq_len, val_tokens) of the start code's Hyperparameters: the harness's, whatever a candidate says."""
    values = []
    for name in ("seq_len", "val_tokens"):
        match = re.search(_SETTING_RE.format(name=name), start_code, re.MULTILINE)
        if match is None:
            raise ValueError(f"the start code has no `{name}: int = N` setting")
        values.append(int(match[1].replace("_", "")))
    return values[0], values[1]


def measure_model(workdir: Path, *, start_code: str, val_bin: str, heldout_bin: str | None, env: dict[str, str],
                  sandbox: str = "off", hide: list[str] | None = None,
                  timeout_s: float = EVAL_TIMEOUT_S) -> ModelCheck:
    """Evaluate the model the run in `workdir` saved (its train.py beside it)."""
    workdir = Path(workdir)
    if not (workdir / SAVED_MODEL).is_file():
        return ModelCheck(error=f"the run saved no model (${SAVE_MODEL_ENV}) at its claim, so its loss cannot "
                                "be checked")
    seq_len, val_tokens = eval_settings(start_code)
    folder = workdir / "harness-eval"
    folder.mkdir(exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="speedrun-eval-"))
    try:
        kinds = _write_windows(folder, private, val_bin, heldout_bin, seq_len, val_tokens)
        shutil.copyfile(workdir / "train.py", folder / "train.py")
        shutil.copyfile(workdir / SAVED_MODEL, folder / SAVED_MODEL)
        logits = _model_logits(folder, seq_len, env, sandbox, [*(hide or []), str(private)], timeout_s)
        if "error" in logits:
            return ModelCheck(error=f"evaluating its model failed: {logits['error']}")
        losses = _losses(folder, private, timeout_s)
    finally:
        shutil.rmtree(private, ignore_errors=True)
        for name in ("inputs.bin", "logits.pt", SAVED_MODEL):
            (folder / name).unlink(missing_ok=True)
    if "error" in losses:
        return ModelCheck(error=f"evaluating its model failed: {losses['error']}")
    val_share = kinds.count("val") / len(kinds)
    forward = logits.get("forward_s")
    return ModelCheck(val_loss=losses["val_loss"], test_loss=losses["test_loss"],
                      probe_change=losses["probe_change"],
                      val_pass_s=None if forward is None else forward * val_share)


def _write_windows(folder: Path, private: Path, val_bin: str, heldout_bin: str | None, seq_len: int,
                   val_tokens: int) -> list[str]:
    """inputs.bin in the run's folder; targets.bin and key.json in the private one. The window kinds, in order."""
    rng = random.Random(secrets.randbits(64))
    count = val_tokens // seq_len
    val = _windows(_read_tokens(val_bin, val_tokens + 1), seq_len)
    windows = [(x, y, "val") for x, y in val[:count]]
    if heldout_bin:
        windows += [(x, y, "test") for x, y in _windows(_read_tokens(heldout_bin, val_tokens + 1), seq_len)[:count]]
    for x, y in val[:PROBES]:
        changed = x[: seq_len // 2] + array("H", (rng.randrange(256) for _ in range(seq_len - seq_len // 2)))
        windows.append((changed, y, "probe"))
    order = list(range(len(windows)))
    rng.shuffle(order)
    position = {original: i for i, original in enumerate(order)}
    first_probe = len(windows) - PROBES
    probe_of = {str(position[first_probe + j]): position[j] for j in range(PROBES)}
    inputs, targets = array("H"), array("H")
    for i in order:
        inputs.extend(windows[i][0])
        targets.extend(windows[i][1])
    (folder / "inputs.bin").write_bytes(inputs.tobytes())
    (private / "targets.bin").write_bytes(targets.tobytes())
    kinds = [windows[i][2] for i in order]
    (private / "key.json").write_text(json.dumps({"kinds": kinds, "probe_of": probe_of, "seq_len": seq_len}))
    return kinds


def _read_tokens(path: str, count: int) -> array:
    with open(path, "rb") as f:
        magic, version = struct.unpack("<2i", f.read(_HEADER)[:8])
        if magic != 20240520 or version != 1:
            raise ValueError(f"{path} is not a token shard")
        tokens = array("H")
        tokens.frombytes(f.read(2 * count))
    return tokens


def _windows(tokens: array, seq_len: int) -> list[tuple[array, array]]:
    n = (len(tokens) - 1) // seq_len
    return [(tokens[i * seq_len:(i + 1) * seq_len], tokens[i * seq_len + 1:(i + 1) * seq_len + 1]) for i in range(n)]


def _model_logits(folder: Path, seq_len: int, env: dict[str, str], sandbox: str, hide: list[str],
                  timeout_s: float) -> dict:
    from runner.spec import RunSpec

    child_env = {k: v for k, v in env.items() if k != SAVE_MODEL_ENV}
    spec = RunSpec(script=LOGITS_SCRIPT, workdir=folder, args=["train.py", SAVED_MODEL, "inputs.bin", str(seq_len)],
                   env=child_env, timeout_s=timeout_s, sandbox=sandbox, sandbox_hide=hide)
    payload, result = _reported(spec, "speedrun-logits ")
    marks = result.clock.marks if result.clock is not None else {}
    if "ready" in marks and "done" in marks:
        payload["forward_s"] = marks["done"] - marks["ready"]
    return payload


def _losses(folder: Path, private: Path, timeout_s: float) -> dict:
    from runner.spec import RunSpec

    args = [str(folder / "logits.pt"), str(private / "targets.bin"), str(private / "key.json")]
    spec = RunSpec(script=LOSSES_SCRIPT, workdir=private / "losses", args=args, timeout_s=timeout_s)
    return _reported(spec, "speedrun-losses ")[0]


def _reported(spec, prefix: str):
    """The JSON a harness script printed after `prefix`, and the run's result."""
    from runner.local import run_local

    lines: list[str] = []
    result = run_local(spec, on_line=lambda line: lines.append(line.text) if line.stream == "stdout" else None)
    reported = next((ln[len(prefix):] for ln in reversed(lines) if ln.startswith(prefix)), None)
    if reported is None:
        return {"error": result.reason or result.status}, result
    return json.loads(reported), result
