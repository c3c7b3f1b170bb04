"""SessionConfig: everything `speedrun-tui run` needs to start or continue a session."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Literal

from speedrun_tui.jsonfields import from_known_fields

Mode = Literal["auto", "copilot", "human"]
MODES: tuple[str, ...] = ("auto", "copilot", "human")
# The model of a session a person drives alone: nothing to call, the benchmark's budget, no upper-bound label.
HUMAN_MODEL = "human"


@dataclass
class SessionConfig:
    task_id: str  # "" with --resume alone: the stored session's task
    model: str = "reference"
    api_base: str | None = None
    scaffold: str = "flat"
    hints: str = "none"
    mode: Mode | None = None  # None: not given; a new session runs auto, a resumed one keeps its own
    max_nodes: int | None = None  # agent nodes after the root; None = the scaffold's budget
    parallel: int | None = None  # None: not given; a new session runs 1, a resumed one keeps its own
    seed: int = 0
    timeout_s: float | None = None  # per run; None = derived from the root's measured time
    backend: str = "local"
    slurm_config: str | None = None  # TOML of Slurm options (partition, account, ...); backend slurm only
    sandbox: str = "auto"
    llm_timeout_s: float = 600.0  # one model call, before it counts as a failed try
    # Time the next record's code at the end, so the score needs no ratio calibrated on another CPU.
    # Configs stored before this field read as True through the default (from_json keeps known keys only).
    time_target: bool = True
    # Paired re-timing rounds after the search (sessions/verification.py); None: 3 on micro, 0 elsewhere.
    verify_repeats: int | None = None
    # Run --parallel x the task's threads per run above this machine's cores anyway (times are then suspect).
    oversubscribe: bool = False
    # The search's wall-clock budget: when spent, the session stops (resumable), as a person stopping it would.
    time_budget_s: float | None = None
    # The sweep this session is a cell of ("" for none): stored with the session row, so the tag and the
    # session are one write (sessions/sweeps.py reads it back).
    sweep: str = ""

    def for_new_session(self) -> SessionConfig:
        """The config a new session is stored with: what was not given takes its default.

        In human mode the default model `reference` would bring its one-node budget and its
        upper-bound label to a person's session, so an unset or `reference` model becomes `human`."""
        mode = self.mode or "auto"
        model = HUMAN_MODEL if mode == "human" and self.model in ("", "reference") else self.model
        return replace(self, model=model, mode=mode, parallel=1 if self.parallel is None else self.parallel)

    def check_cores(self, threads: int, *, oversubscribe: bool = False) -> None:
        """A one-line UserError when --parallel runs of `threads` threads each want more than this machine's
        cores (local runs only), unless --oversubscribe was given (here or as `oversubscribe`)."""
        if self.backend != "local" or self.oversubscribe or oversubscribe:
            return
        from runner.machineload import refuse_oversubscription

        refuse_oversubscription(self.parallel or 1, threads, option="--parallel")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SessionConfig:
        return from_known_fields(cls, data)
