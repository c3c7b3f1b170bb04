"""RunResult: what one candidate run did, as the runner measured and parsed it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

from runner.machineload import MachineLoad
from runner.treeclock import HarnessClock
from speedrun_tui.jsonfields import from_known_fields

RunStatus = Literal["ok", "target_missed", "crashed", "timeout", "cancelled", "no_metrics"]
RUN_STATUSES: tuple[str, ...] = ("ok", "target_missed", "crashed", "timeout", "cancelled", "no_metrics")


@dataclass(frozen=True)
class ValPoint:
    """One validation line: `step:N/M val_loss:X train_time:Yms`."""

    step: int
    val_loss: float
    train_time_ms: float


@dataclass
class RunResult:
    status: RunStatus
    exit_code: int | None
    curve: list[ValPoint] = field(default_factory=list)
    time_to_target_ms: float | None = None
    steps_to_target: int | None = None
    target_loss: float | None = None
    final_val_loss: float | None = None
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    dropped_lines: int = 0
    stderr_tail: str = ""
    reason: str = ""  # one line on why the status is what it is (NaN, signal, timeout...)
    hardware: str = ""  # e.g. "cpu x2 threads" or "NVIDIA H100 x8": times compare only on equal hardware
    workdir: str = ""  # the run's folder: the script copy, run.log (kept output), result.json
    clock: HarnessClock | None = None  # the harness's own clock beside the claimed one (local runs)
    load: MachineLoad | None = None  # how busy the machine was around the run (local runs): times suspect if so

    @property
    def valid(self) -> bool:
        """Reached the target with finite losses: the run counts for scoring."""
        return self.status == "ok" and self.time_to_target_ms is not None

    @property
    def final_time_ms(self) -> float | None:
        """train_time of the last validation line: a run's time under the records' own rule."""
        return self.curve[-1].train_time_ms if self.curve else None

    @property
    def buggy(self) -> bool:
        return self.status in ("crashed", "no_metrics", "timeout")

    def to_json(self) -> dict:
        data = asdict(self)
        data["curve"] = [[p.step, p.val_loss, p.train_time_ms] for p in self.curve]
        for key in ("final_val_loss",):
            value = data[key]
            if isinstance(value, float) and not math.isfinite(value):
                data[key] = None
        return data

    @classmethod
    def from_json(cls, data: dict) -> RunResult:
        data = dict(data)
        data["curve"] = [ValPoint(int(s), float(v), float(t)) for s, v, t in data.get("curve", [])]
        data["clock"] = HarnessClock.from_json(data.get("clock"))
        data["load"] = MachineLoad.from_json(data.get("load"))
        return from_known_fields(cls, data)
