"""The micro ladder's calibrations: time to target per rung, over several seeds, per kind of CPU.

A calibration is one JSON file measured by `speedrun-tui calibrate micro` on one machine,
with that machine's CpuFingerprint. A rung's time to target is its steps to the target
(fixed by the seed) times the cost of one of its steps (set by the CPU, timed for every
rung in one sitting, so a machine whose speed drifts over hours compares rungs like for
like). The project ships the ones it measured
(records/micro/calibrations/); a user's own go to $SPEEDRUN_TUI_HOME/calibrations/ and
come first. For each task the catalog takes a calibration of this kind of CPU that holds
both of its rungs, else the nearest one, and marks the task provisional.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from records.fingerprint import CpuFingerprint
from records.ladder import MICRO_DIR
from speedrun_tui.errors import UserError

SHIPPED_DIR = MICRO_DIR / "calibrations"
DEFAULT_TARGET_LOSS = 1.78
DEFAULT_THREADS = 1


@dataclass
class RungTimes:
    id: str  # the rung's folder name
    mirrors: str  # "record #N"
    times_s: list[float]  # time to target per seed, seed 0 first: steps x step cost (else the run's own time)
    steps: list[int]  # steps to the target per seed
    mean_s: float
    std_s: float  # the spread of one run: seeds' steps and rounds' step costs together
    wall_times_s: list[float] = field(default_factory=list)  # the runs to the target on the wall clock
    run_times_s: list[float] = field(default_factory=list)  # the runs' own train_time at the target (CPU)
    step_ms: list[float] = field(default_factory=list)  # the CPU cost of a step, one per round of the sitting

    @property
    def se_s(self) -> float:
        """The standard error of mean_s: the seeds' steps and, when timed, the rounds' step costs."""
        if not self.step_ms:
            return self.std_s / math.sqrt(len(self.times_s))
        from_steps, from_costs = _spreads(self.steps, self.step_ms)
        return math.hypot(from_steps / math.sqrt(len(self.steps)), from_costs / math.sqrt(len(self.step_ms)))

    def measured_runs(self) -> list[float]:
        """The runs' own times to target, seed 0 first."""
        return list(self.run_times_s or self.times_s)


@dataclass(frozen=True)
class RunTime:
    """One finished calibration run of a rung whose other seeds are still to come."""

    rung: str
    seed: int
    time_s: float
    steps: int
    wall_s: float


@dataclass
class Calibration:
    target_loss: float
    fingerprint: CpuFingerprint
    seeds: int
    clock: str
    rungs: list[RungTimes] = field(default_factory=list)
    pending: list[RunTime] = field(default_factory=list)  # runs kept for a resumed calibration
    note: str = ""  # provenance, when the numbers need it
    path: Path | None = None  # where it was read from

    @property
    def name(self) -> str:
        return self.path.stem if self.path else "unsaved"

    @property
    def threads(self) -> int:
        return self.fingerprint.threads

    def rung(self, slug: str) -> RungTimes | None:
        return next((r for r in self.rungs if r.id == slug), None)

    def mean_s(self, slug: str) -> float | None:
        rung = self.rung(slug)
        return rung.mean_s if rung else None

    def std_s(self, slug: str) -> float | None:
        rung = self.rung(slug)
        return rung.std_s if rung else None

    def seed_times_s(self, slug: str) -> list[float]:
        """The rung's time per calibration seed, seed 0 first."""
        rung = self.rung(slug)
        return list(rung.times_s) if rung else []

    def runs_of(self, slug: str) -> list[RunTime]:
        """Every measured run of a rung: its entry's seeds, then its pending runs."""
        rung = self.rung(slug)
        done = [RunTime(slug, seed, t, n, w) for seed, (t, n, w) in
                enumerate(zip(rung.measured_runs(), rung.steps, rung.wall_times_s or [math.nan] * len(rung.steps)))] \
            if rung else []
        return done + [r for r in self.pending if r.rung == slug]

    def holds(self, *slugs: str) -> bool:
        return all(self.rung(slug) is not None for slug in slugs)

    def to_json(self) -> dict:
        return {"target_loss": self.target_loss, "fingerprint": self.fingerprint.to_json(), "seeds": self.seeds,
                "clock": self.clock, "rungs": [asdict(r) for r in self.rungs],
                "pending": [asdict(r) for r in self.pending], **({"note": self.note} if self.note else {})}


@dataclass(frozen=True)
class Choice:
    """The calibration a task's times come from, and whether it was measured on this kind of CPU."""

    calibration: Calibration
    exact: bool


def load_calibration(path: Path) -> Calibration | None:
    """The calibration file at `path`, or None when there is none."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return Calibration(
            target_loss=float(data["target_loss"]), fingerprint=CpuFingerprint.from_json(data["fingerprint"]),
            seeds=int(data["seeds"]), clock=data.get("clock", "cpu"),
            rungs=[RungTimes(**r) for r in data["rungs"]],
            pending=[RunTime(**r) for r in data.get("pending", [])], note=data.get("note", ""), path=path)
    except (ValueError, TypeError, KeyError) as err:
        raise UserError(f"{path}: damaged calibration file ({err!r}); run `speedrun-tui calibrate micro` "
                        "again or delete it") from err


def save_calibration(calibration: Calibration, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(calibration.to_json(), indent=2) + "\n")
    tmp.replace(path)
    calibration.path = path


def user_dir() -> Path:
    from speedrun_tui.home import home_dir

    return home_dir() / "calibrations"


def file_name(fingerprint: CpuFingerprint) -> str:
    """`amd-epyc_avx2_torch2.13.0_1t.json`: one file per kind of CPU."""
    model = "-".join("".join(c if c.isalnum() else " " for c in fingerprint.model.lower()).split()) or "cpu"
    return f"{model}_{fingerprint.capability.lower()}_torch{fingerprint.torch}_{fingerprint.threads}t.json"


def all_calibrations() -> list[Calibration]:
    """The user's calibrations, then the shipped ones, each folder in name order."""
    found = []
    for folder in (user_dir(), SHIPPED_DIR):
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            calibration = load_calibration(path)
            if calibration is not None:
                found.append(calibration)
    return found


def choose(slugs: tuple[str, ...], here: CpuFingerprint, calibrations: list[Calibration]) -> Choice | None:
    """A calibration of this kind of CPU holding `slugs`, else the nearest that holds them."""
    holding = [c for c in calibrations if c.holds(*slugs)]
    for calibration in holding:
        if calibration.fingerprint.same_kind(here):
            return Choice(calibration, exact=True)
    if not holding:
        return None
    return Choice(max(holding, key=lambda c: here.likeness(c.fingerprint)), exact=False)


def significant(faster: RungTimes, slower: RungTimes) -> bool:
    """Mean faster by more than twice the standard error of the difference of the two means."""
    return slower.mean_s - faster.mean_s > 2 * _difference_se(faster, slower)


def _difference_se(faster: RungTimes, slower: RungTimes) -> float:
    """The standard error of slower.mean_s - faster.mean_s.

    Step costs timed in the same rounds are paired: the machine's speed drifts between rounds
    (30-40 % under some VMs' hosts) and moves every rung of a round alike, so the spread that
    counts is that of the two rungs' difference round by round, not of each rung's costs."""
    if not (faster.step_ms and len(faster.step_ms) == len(slower.step_ms) > 1):
        return math.hypot(faster.se_s, slower.se_s)
    from_steps = [_spreads(r.steps, r.step_ms)[0] / math.sqrt(len(r.steps)) for r in (faster, slower)]
    steps_f, steps_s = statistics.fmean(faster.steps), statistics.fmean(slower.steps)
    per_round = [(steps_s * s - steps_f * f) / 1000 for f, s in zip(faster.step_ms, slower.step_ms)]
    return math.hypot(*from_steps, _stdev(per_round) / math.sqrt(len(per_round)))


def rung_times(slug: str, mirrors: int, runs: list[RunTime], step_ms: list[float] = ()) -> RungTimes:
    """A rung's entry from its runs to the target, one per seed, and its step costs when timed."""
    runs = sorted(runs, key=lambda r: r.seed)
    measured, steps = [round(r.time_s, 3) for r in runs], [r.steps for r in runs]
    walls, record = [round(r.wall_s, 3) for r in runs], f"record #{mirrors}"
    if not step_ms:
        return RungTimes(slug, record, measured, steps, round(statistics.fmean(measured), 3),
                         round(_stdev(measured), 3), wall_times_s=walls)
    cost_s = statistics.fmean(step_ms) / 1000
    times = [round(n * cost_s, 3) for n in steps]
    spread = math.hypot(*_spreads(steps, step_ms))
    return RungTimes(slug, record, times, steps, round(statistics.fmean(times), 3), round(spread, 3),
                     wall_times_s=walls, run_times_s=measured, step_ms=[round(c, 2) for c in step_ms])


def _spreads(steps: list[int], step_ms: list[float]) -> tuple[float, float]:
    """A run's time spread (s) that its seed's steps cause, and the one its step cost's rounds cause."""
    cost_s = statistics.fmean(step_ms) / 1000
    return cost_s * _stdev(steps), statistics.fmean(steps) * _stdev(step_ms) / 1000


def _stdev(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0
