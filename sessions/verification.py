"""The verified score: FSR from paired, interleaved re-timing of the start code, the best node and
the next record's code, on seeds the search never used, with a 95 % confidence interval.

One timing of each code cannot tell a 7 % gain from the clock's run-to-run spread (7-10 %
between identical runs on this project's machines), and the best of N nodes is biased
low. So, after the search, round r runs the start code, the best node and the next
record's code one after the other (or side by side) on seed r; FSR comes from the means
over the rounds, and its 95 % interval from the paired speedups (start - best) with
Student's t, which stays wide while the rounds are few. The best node counts as improved
only when that interval excludes zero, so "improved" and the interval never disagree: with
two rounds the speedup must exceed 12.7 standard errors, not 2.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

# The clock's run-to-run spread, relative (one standard deviation): five runs of one rung with one
# seed on the AVX2 EPYC took 228.5-245.7 s (std 2.7 %); a task's calibrated seed spread, when
# larger, is used instead.
NOISE_CV = 0.03


@dataclass(frozen=True)
class RoundTimes:
    root: float
    best: float
    reference: float  # the next record's code, timed; or the root's time scaled by the calibrated ratio


@dataclass(frozen=True)
class VerifiedScore:
    fsr: float | None
    low: float | None  # 95 % interval (Student's t on the paired speedups), clipped at 0 as the FSR is
    high: float | None
    rounds: int  # complete rounds (every role reached the target)
    speedup_s: float | None  # mean paired (start - best) time
    stderr_s: float | None  # its standard error (None with fewer than 2 rounds)
    improved: bool  # the speedup's 95 % interval lies above zero
    reference_source: str  # timed (the next record's code ran) or calibrated (a ratio)


def rounds_of(times: dict[tuple[int, str], float | None], *, timed_reference: bool,
              ratio: float | None) -> list[RoundTimes]:
    """The complete rounds among (round, role) -> time; a role that missed the target voids its round."""
    rounds = []
    for r in sorted({key[0] for key in times}):
        root, best = times.get((r, "root")), times.get((r, "best"))
        reference = times.get((r, "reference")) if timed_reference else (root * ratio if root and ratio else None)
        if None not in (root, best, reference):
            rounds.append(RoundTimes(root, best, reference))
    return rounds


def score_rounds(rounds: list[RoundTimes], *, reference_source: str) -> VerifiedScore:
    if not rounds:
        return VerifiedScore(None, None, None, 0, None, None, False, reference_source)
    speedups = [r.root - r.best for r in rounds]
    mean = statistics.fmean(speedups)
    stderr = statistics.stdev(speedups) / math.sqrt(len(speedups)) if len(speedups) > 1 else None
    gap = statistics.fmean(r.root - r.reference for r in rounds)  # t_start - t_next, the FSR's denominator
    if gap <= 0:
        return VerifiedScore(None, None, None, len(rounds), mean, stderr, False, reference_source)
    low = high = None
    improved = False
    if stderr is not None:  # Student's t on the paired speedups: honest about how few rounds there are
        half = t975(len(speedups) - 1) * stderr
        low, high = max(0.0, (mean - half) / gap), max(0.0, (mean + half) / gap)
        improved = mean - half > 0
    return VerifiedScore(max(0.0, mean / gap), low, high, len(rounds), mean, stderr, improved, reference_source)


def unchanged_score(reference_source: str) -> VerifiedScore:
    """The start code is the best node: nothing to re-time, FSR 0 exactly."""
    return VerifiedScore(0.0, 0.0, 0.0, 0, 0.0, None, False, reference_source)


def t975(df: int) -> float:
    """Student's t, two-sided 95 %."""
    from scipy.stats import t  # lazy: the TUI never pays for scipy's import

    return float(t.ppf(0.975, df))


def noise_cv(start_time_s: float | None, start_time_std_s: float | None) -> float:
    """The relative run-to-run spread one run of this task's code is taken to have."""
    calibrated = (start_time_std_s or 0.0) / start_time_s if start_time_s else 0.0
    return max(NOISE_CV, calibrated)


def within_noise(time_s: float, parent_time_s: float, cv: float) -> bool:
    """Faster than its parent, but by less than two standard deviations of the difference of two
    single runs: a gain one run each cannot tell from the clock's noise."""
    return time_s < parent_time_s and parent_time_s - time_s <= 2 * math.sqrt(2) * cv * parent_time_s
