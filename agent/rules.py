"""The benchmark's rules, checked on every candidate before it runs.

A candidate may change anything except what makes times comparable: the validation
data and how much of it is used, the target loss, and the metric lines the runner
parses. Protected settings are found in the start code by name and must keep their
start values; the metric line's field names must still be printed.
"""

from __future__ import annotations

import ast
import functools
import re
import threading

from records.reevaluate import SAVE_MODEL_ENV  # micro rungs save their model there; the harness evaluates it

_ASSIGNMENT_RE = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.]*)\s*(?::[^=]*)?=(?!=)\s*(?P<value>.+?)\s*(?:#.*)?$")
PROTECTED_WORDS = ("val_tokens", "val_bin", "val_files", "val_path", "val_data", "val_pattern", "target_loss",
                   "val_seqs", "val_steps")
_LITERAL_RE = re.compile(r"""^[-+]?[\d._]+(e[-+]?\d+)?$|^(['"]).*\2$""", re.IGNORECASE)
METRIC_FIELDS = ("step:", "val_loss:", "train_time:")
_TOP_MODEL_RE = re.compile(r"^model\s*(?::[^=\n]*)?=(?!=)", re.MULTILINE)  # what records/micro/model_logits.py builds

RULES_TEXT = (
    "Do not change the validation data, how many validation tokens are evaluated, or the target loss. "
    "Keep printing the metric lines exactly as the start code does "
    "(`step:N/M val_loss:X train_time:Yms step_avg:Zms`): the harness parses them to time your run. "
    "If the start code saves its model to $SPEEDRUN_SAVE_MODEL, keep doing so, right after the first validation "
    "line at or below the target (the run must end there), and keep `model = ...` at the top level with "
    "`model(idx)` returning logits of shape (B, T, vocab): the harness evaluates that model on its own data with "
    "its own loss, checks your clock against its own, and re-runs you under a fresh SPEEDRUN_SEED; a claim it "
    "cannot confirm makes the run invalid."
)


def protected_settings(code: str) -> dict[str, set[str]]:
    """name -> the values it is assigned, for every protected setting in `code` (`args.x` counts as `x`)."""
    found: dict[str, set[str]] = {}
    for line in code.splitlines():
        match = _ASSIGNMENT_RE.match(line)
        if not match:
            continue
        name = match["name"].rsplit(".", 1)[-1]
        if any(word in name.lower() for word in PROTECTED_WORDS):
            found.setdefault(name, set()).add(_normalize(match["value"]))
    return found


def check_rules(start_code: str, code: str) -> list[str]:
    """Violations of the rules, one line each; empty when the candidate may run.

    A protected setting must keep every value the start code gives it, and may not be
    set to any other constant (reassigning it from an expression, such as moving the
    validation tokens to a device, is fine).
    """
    violations = []
    now = protected_settings(code)
    for name, values in protected_settings(start_code).items():
        lost = values - now.get(name, set())
        forged = {v for v in now.get(name, set()) - values if _LITERAL_RE.match(v)}
        if lost:
            violations.append(f"`{name}` must keep its start value `{sorted(lost)[0]}`")
        if forged:
            violations.append(f"`{name}` may not be set to `{sorted(forged)[0]}` (protected setting)")
    for token in METRIC_FIELDS:
        if token in start_code and token not in code:
            violations.append(f"the printed metric line lost its `{token}` field; keep the start code's format")
    if SAVE_MODEL_ENV in start_code and SAVE_MODEL_ENV not in code:
        violations.append(f"the model is no longer saved to ${SAVE_MODEL_ENV}; the harness evaluates it")
    if _TOP_MODEL_RE.search(start_code) and not _TOP_MODEL_RE.search(code):
        violations.append("the top-level `model = ...` is gone; the harness builds that model to evaluate it "
                          "(`model(idx)` must return logits)")
    return violations


def _normalize(value: str) -> str:
    return "".join(value.split()).rstrip(",")


def same_program(code: str, other: str) -> bool:
    """Whether two scripts differ only in comments, whitespace and no-op string statements
    (docstrings): one would run exactly what the other runs."""
    program = _program(code)
    return program is not None and program == _program(other)


_PARSE_LOCK = threading.Lock()  # CPython 3.11's parser is not safe to enter from two threads at once


@functools.lru_cache(maxsize=256)
def _program(code: str) -> str | None:
    try:
        with _PARSE_LOCK:
            tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [n for n in body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
                                            and isinstance(n.value.value, str))]
            node.body = kept or [ast.Pass()]
    return ast.dump(tree)
