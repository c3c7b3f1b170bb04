"""Task and Hint: one benchmark task, start code to next record, as the catalog hands it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

HintLevel = Literal["pseudo", "text", "paper"]
# When a run's time counts (sessions/target_rule.py): the first validation at or below the target
# (the micro track, as its tasks define it), or the records' own rule on the GPU tracks: the mean
# final validation loss over the verification runs at or below the target with p < 0.01.
TargetRule = Literal["first_crossing", "mean_final"]
HINT_LEVELS: tuple[str, ...] = ("pseudo", "text", "paper")

# The benchmark's hint regimes, as the CLI spells them, and the levels each one shows.
HINT_REGIMES: dict[str, tuple[str, ...]] = {
    "none": (),
    "pseudo": ("pseudo",),
    "text": ("text",),
    "paper": ("paper",),
    "pseudo+text": ("pseudo", "text"),
    "all": ("pseudo", "text", "paper"),
}


@dataclass(frozen=True)
class Hint:
    level: HintLevel  # L1 pseudo, L2 text, L3 paper
    text: str


@dataclass(frozen=True)
class Task:
    """Task `track/k`: start from record k's script, reach record k+1's time.

    Times are the catalog's (calibrated on one machine); scoring rescales them to
    the start time measured in each session.
    """

    id: str  # "micro/1", "nanogpt/4", "nanogpt-medium/2"
    track: Literal["micro", "nanogpt", "nanogpt-medium"]
    record: int
    title: str
    start_script: Path  # the start code (train.py of rung k, or the record's extracted code)
    start_time_s: float
    target_time_s: float
    target_loss: float
    # Seed-to-seed spread of the start time where it was calibrated: a node is "improved"
    # only when it beats the start by more than this.
    start_time_std_s: float = 0.0
    # (start, target) per calibration seed, seed 0 first: a micro run's steps to target are
    # fixed by its seed, so a session's own seed gives the truest ratio of the two times.
    seed_times_s: tuple[tuple[float, float], ...] = ()
    hint_files: dict[str, Path] = field(default_factory=dict)  # level -> file
    reference_diff_file: Path | None = None
    # The next record's own code, when this machine can run it: a session times it as its
    # target (records/micro/README.md), so the score needs no ratio from another CPU.
    target_script: Path | None = None
    # The calibration the times come from (records/calibration.py), and whether it was
    # measured on another kind of CPU than this one: then every score is provisional.
    calibration: str = ""
    provisional: bool = False
    threads: int = 1  # torch threads per run: the calibration's
    # The held-out split the harness evaluates a saved model on; never named in a run's environment.
    heldout_bin: Path | None = None
    launcher: Literal["python", "torchrun"] = "python"
    available: bool = True
    unavailable_reason: str = ""
    benchmark: bool = False  # one of the paper's 19 tasks (arXiv 2506.22419)
    hardware: str = "cpu"  # what the catalog's times were measured on: "8xH100" on the GPU tracks
    hint_source: str = ""  # where the hints come from: "llm-speedrunner", "record table" or "micro ladder"
    target_rule: TargetRule = "first_crossing"

    @property
    def hint_levels(self) -> list[str]:
        return [level for level in HINT_LEVELS if level in self.hint_files]

    def times_for_seed(self, seed: int) -> tuple[float, float]:
        """(start, target) as calibrated for runs with `seed`; the catalog's means for another seed."""
        if 0 <= seed < len(self.seed_times_s):
            return self.seed_times_s[seed]
        return self.start_time_s, self.target_time_s

    def start_code(self) -> str:
        return self.start_script.read_text()

    def hints(self, regime: str) -> list[Hint]:
        """The hints a session under `regime` shows the model, in L1, L2, L3 order."""
        levels = HINT_REGIMES[regime]
        return [Hint(level, self.hint_files[level].read_text()) for level in levels if level in self.hint_files]

    def reference_diff(self) -> str:
        return self.reference_diff_file.read_text() if self.reference_diff_file else ""
