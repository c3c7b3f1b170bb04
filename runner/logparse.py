"""Deterministic parsing of training log lines into metrics (never an LLM).

Formats (see ARCHITECTURE.md):
  modded-nanogpt validation  `step:N/M val_loss:X train_time:Yms step_avg:Zms`
  modded-nanogpt training    `step:N/M train_loss:X train_time:Yms step_avg:Zms`
                             (records after 14 drop `train_loss:X`)
  llm.c style                `s:N trl:X` (training) and `s:N tel:X` (validation)
llm.c lines carry no clock, so their `train_time_ms` is None.
`nan` / `inf` values parse as float nan / inf; judging them is outcome.py's job.
Anything else, including a step line with a malformed value, is plain log: None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MetricLine:
    kind: Literal["val", "train"]
    step: int
    total_steps: int | None
    val_loss: float | None
    train_loss: float | None
    train_time_ms: float | None
    step_avg_ms: float | None

    @property
    def finite(self) -> bool:
        """False when a loss on this line is nan or inf (step_avg may be nan at step 0, that's fine)."""
        return all(v is None or math.isfinite(v) for v in (self.val_loss, self.train_loss))


# key in the log -> (MetricLine field, unit suffix to strip)
_KEYS = {
    "val_loss": ("val_loss", ""),
    "tel": ("val_loss", ""),
    "train_loss": ("train_loss", ""),
    "trl": ("train_loss", ""),
    "train_time": ("train_time_ms", "ms"),
    "step_avg": ("step_avg_ms", "ms"),
}


def parse_line(line: str) -> MetricLine | None:
    """The metrics on one stdout line, or None when it is not a metric line."""
    text = line.strip()
    if not text.startswith(("step:", "s:")):  # cheap exit: most lines of a flood land here
        return None
    head, *rest = text.split()
    step, total = _parse_step(head)
    if step is None:
        return None
    values: dict[str, float] = {}
    for token in rest:
        key, sep, raw = token.partition(":")
        if not sep or key not in _KEYS:
            continue
        name, unit = _KEYS[key]
        value = _parse_number(raw, unit)
        if value is None:
            return None
        values.setdefault(name, value)
    if "val_loss" in values:
        kind = "val"
    elif "train_loss" in values or "train_time_ms" in values:
        kind = "train"
    else:
        return None
    return MetricLine(kind=kind, step=step, total_steps=total,
                      val_loss=values.get("val_loss"), train_loss=values.get("train_loss"),
                      train_time_ms=values.get("train_time_ms"), step_avg_ms=values.get("step_avg_ms"))


def _parse_step(head: str) -> tuple[int | None, int | None]:
    """`step:N/M`, `step:N` or `s:N` -> (N, M or None); (None, None) if malformed."""
    _, _, raw = head.partition(":")
    done, slash, total = raw.partition("/")
    if not done.isdigit() or (slash and not total.isdigit()):
        return None, None
    return int(done), int(total) if slash else None


def _parse_number(raw: str, unit: str) -> float | None:
    if unit and raw.endswith(unit):
        raw = raw[: -len(unit)]
    try:
        return float(raw)  # accepts nan, inf, -inf, 1e-3
    except ValueError:
        return None
