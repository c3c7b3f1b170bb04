"""Scoring as the paper defines it: FSR per session, per task and configuration
(top-3 mean with its standard error), and across tasks (mean, median and IQM, each
with a seeded stratified bootstrap 95 % CI, as the paper's notebooks compute with rliable).

numpy and scipy are imported inside the functions that use them: this module is imported
by the store, hence by the TUI and `speedrun-tui --help`, which must start fast."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from sessions.fsr import compute_fsr
from sessions.state import SessionState
from sessions.verification import within_noise

TOP_K = 3
BOOTSTRAP_SAMPLES = 2000
CONFIG_KEYS = ("model", "scaffold", "hints", "mode")


@dataclass
class Score:
    session: str
    task: str
    model: str
    scaffold: str
    hints: str
    mode: str
    fsr: float | None  # the headline: the verified FSR when the session verified, else the search FSR
    best_time_s: float | None
    start_time_s: float | None
    target_time_s: float | None
    times_source: str  # measured (the session ran the start code) or catalog
    target_source: str  # timed (in the session), calibrated (for this CPU) or provisional (another CPU's)
    provisional: bool  # t_next rests on another kind of CPU's calibration: shown marked as such
    nodes: int  # nodes that ran: buggy + improved + no_improvement
    buggy_nodes: int
    improved_nodes: int  # valid and faster than t_start by more than its std
    no_improvement_nodes: int
    tokens: int
    cost_usd: float
    wall_s: float  # the time the session ran (SessionState.elapsed_s: a stop-to-resume gap left out)
    interventions: int  # human approvals, rejections, steers and hand edits
    intervention_counts: dict[str, int] = field(default_factory=dict)
    finished: bool = False
    judge_score: float | None = None  # fraction of the reference's key changes reproduced (LLM judge)
    search_fsr: float | None = None  # the paper's definition: one timing of each code, best of the nodes
    verified: bool = False  # fsr comes from paired re-timing (sessions/verification.py)
    fsr_low: float | None = None  # its 95 % interval over the rounds
    fsr_high: float | None = None
    verify_rounds: int = 0
    best_improved: bool | None = None  # paired speedup of the best node > 2 standard errors (None: not verified)

    def to_json(self) -> dict:
        return asdict(self)


def score_session(state: SessionState) -> Score:
    started = state.started
    if started is None:
        raise ValueError(f"session {state.session_id} has no SessionStarted event")
    root = next((n for n in state.nodes.values() if n.stage == "root"), None)
    valid_times = [n.time_s for n in state.nodes.values() if n.time_s is not None]
    timed = state.target_timing.time_s if state.target_timing is not None else None
    times = compute_fsr(started.start_time_s, started.target_time_s,
                        root.time_s if root is not None else None, min(valid_times, default=None),
                        timed_target_s=timed, provisional=bool(started.config.get("provisional")))
    ran = [n for n in state.nodes.values() if n.result is not None]
    buggy = {n.id for n in ran if n.status == "buggy" or n.result.buggy}
    std = float(started.config.get("start_time_std_s") or 0.0)
    improved = [n for n in ran if n.id not in buggy and n.time_s is not None
                and times.start_time_s is not None and n.time_s < times.start_time_s - std
                and not within_noise(n.time_s, times.start_time_s, state.noise_cv)]
    verified = state.verified
    if verified is not None and verified.best_node not in (None, 0) and not verified.improved:
        improved = [n for n in improved if n.id != verified.best_node]  # its gain did not survive re-timing
    return Score(
        session=state.session_id, task=started.task, model=started.model, scaffold=started.scaffold,
        hints=started.hints, mode=started.mode, fsr=verified.fsr if verified else times.fsr,
        best_time_s=times.best_time_s,
        start_time_s=times.start_time_s, target_time_s=times.target_time_s, times_source=times.times_source,
        target_source=times.target_source, provisional=times.target_source == "provisional",
        nodes=len(ran), buggy_nodes=len(buggy), improved_nodes=len(improved),
        no_improvement_nodes=len(ran) - len(buggy) - len(improved),
        tokens=state.tokens_in + state.tokens_out, cost_usd=state.cost_usd, wall_s=state.elapsed_s(),
        interventions=sum(state.interventions.values()), intervention_counts=dict(state.interventions),
        finished=state.finished is not None and state.finished.status == "finished",
        judge_score=state.judge.score if state.judge else None, search_fsr=times.fsr,
        verified=verified is not None, fsr_low=verified.low if verified else None,
        fsr_high=verified.high if verified else None, verify_rounds=verified.rounds if verified else 0,
        best_improved=verified.improved if verified else None)


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float  # bootstrap 95 % CI
    high: float


@dataclass
class TaskScore:
    """One task under one configuration: the mean of its top-3 sessions' FSR."""

    task: str
    config: dict[str, str]
    sessions: int
    top: list[float]  # padded with 0.0 (the start time) up to TOP_K
    mean: float
    stderr: float


@dataclass
class GroupSummary:
    """Across tasks, for one configuration (or one value of `compare --by`)."""

    config: dict[str, str]
    tasks: list[TaskScore]
    mean: Estimate
    median: Estimate
    iqm: Estimate

    def to_json(self) -> dict:
        return {"config": self.config, "tasks": len(self.tasks),
                "sessions": sum(t.sessions for t in self.tasks),
                "mean": asdict(self.mean), "median": asdict(self.median), "iqm": asdict(self.iqm),
                "per_task": [asdict(t) for t in self.tasks]}


def task_score(task: str, config: dict[str, str], fsrs: list[float]) -> TaskScore:
    top = sorted(fsrs, reverse=True)[:TOP_K]
    top += [0.0] * (TOP_K - len(top))
    stderr = statistics.stdev(top) / math.sqrt(len(top))
    return TaskScore(task, config, len(fsrs), top, statistics.fmean(top), stderr)


def strata_mean(*strata, axis: int = -1):
    """The mean of the per-stratum (per-task) means; vectorized along `axis` for the bootstrap."""
    import numpy as np

    return np.mean([np.mean(s, axis=axis) for s in strata], axis=0)


def strata_median(*strata, axis: int = -1):
    """The median of the per-stratum means (rliable's aggregate_median)."""
    import numpy as np

    return np.median([np.mean(s, axis=axis) for s in strata], axis=0)


def pooled_iqm(*strata, axis: int = -1):
    """Interquartile mean of every value of every stratum pooled (rliable's aggregate_iqm): the mean
    of the middle half, a quarter trimmed from each end."""
    import numpy as np
    from scipy.stats import trim_mean

    return trim_mean(np.concatenate(strata, axis=axis), 0.25, axis=axis)


def bootstrap(strata: list[list[float]], statistic: Callable, *, seed: int = 0,
              samples: int = BOOTSTRAP_SAMPLES) -> Estimate:
    """`statistic(*strata)` with a percentile bootstrap 95 % CI in which each stratum (a task's
    sessions) is resampled on its own: the stratified bootstrap. One stratum is a plain bootstrap.
    Same seed, same interval."""
    import numpy as np
    from scipy.stats import bootstrap as scipy_bootstrap

    data = [np.asarray(values, dtype=float) for values in strata]
    value = float(statistic(*data))
    if len(data) == 1 and len(data[0]) < 2:
        return Estimate(value, value, value)  # one value resamples to itself (scipy refuses it)
    result = scipy_bootstrap(data, statistic, n_resamples=samples, method="percentile",
                             rng=np.random.default_rng(seed))
    interval = result.confidence_interval
    return Estimate(value, float(interval.low), float(interval.high))


def summarize(scores: Iterable[Score], by: tuple[str, ...] = CONFIG_KEYS, *, seed: int = 0) -> list[GroupSummary]:
    """Group sessions by the `by` fields; per group, top-3 per task, then statistics across tasks."""
    groups: dict[tuple, dict[str, list[float]]] = {}
    for score in scores:
        if score.fsr is None:
            continue
        key = tuple(getattr(score, name) for name in by)
        groups.setdefault(key, {}).setdefault(score.task, []).append(score.fsr)
    summaries = []
    for key in sorted(groups):
        config = dict(zip(by, key))
        tasks = [task_score(task, config, fsrs) for task, fsrs in sorted(groups[key].items())]
        strata = [t.top for t in tasks]
        summaries.append(GroupSummary(config, tasks, *(bootstrap(strata, statistic, seed=seed)
                                                       for statistic in (strata_mean, strata_median, pooled_iqm))))
    return summaries


def difference(group: GroupSummary, baseline: GroupSummary, *, seed: int = 0,
               samples: int = BOOTSTRAP_SAMPLES) -> tuple[Estimate, bool]:
    """Mean per-task FSR of `group` minus `baseline`'s, with a 95 % stratified bootstrap interval (each
    task of each group resampled on its own), and whether the interval excludes 0: a significant gap."""
    ours = len(group.tasks)

    def gap(*strata, axis: int = -1):
        return strata_mean(*strata[:ours], axis=axis) - strata_mean(*strata[ours:], axis=axis)

    estimate = bootstrap([t.top for t in group.tasks + baseline.tasks], gap, seed=seed, samples=samples)
    return estimate, not estimate.low <= 0.0 <= estimate.high
