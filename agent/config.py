"""SessionConfig: everything `speedrun-tui run` needs to start or continue a session."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Mode = Literal["auto", "copilot", "human"]
MODES: tuple[str, ...] = ("auto", "copilot", "human")


@dataclass
class SessionConfig:
    task_id: str
    model: str = "reference"
    api_base: str | None = None
    scaffold: str = "flat"
    hints: str = "none"
    mode: Mode = "auto"
    max_nodes: int | None = None  # agent nodes after the root; None = the scaffold's budget
    parallel: int = 1
    seed: int = 0
    timeout_s: float | None = None  # per run; None = derived from the root's measured time
    backend: str = "local"
    slurm_config: str | None = None  # TOML of Slurm options (partition, account, ...); backend slurm only
    sandbox: str = "auto"
    llm_timeout_s: float = 600.0  # one model call, before it counts as a failed try
    # Time the next record's code at the end, so the score needs no ratio calibrated on another CPU.
    # Configs stored before this field read as True through the default (from_json keeps known keys only).
    time_target: bool = True

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SessionConfig:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
