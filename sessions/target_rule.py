"""When a code's time counts: the first crossing of the target (micro), or the records' own rule (GPU tracks).

The micro track defines its tasks by the first validation at or below the target loss: a
rung's steps to target are fixed by its seed, so one run decides. The real speedrun judges a
record otherwise (modded-nanogpt's README, Rules): over its runs, the mean final validation
loss must be at or below the target with p < 0.01 under a one-sided one-sample t-test (the
null hypothesis: the true mean is at or above the target), and its time is the mean of those
runs' times. One run of a faithful reproduction may end at 3.2808 while the record's runs
average 3.2790; under the first-crossing rule alone it would count as a missed target.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

ALPHA = 0.01  # the records' significance level


@dataclass(frozen=True)
class FinalRun:
    """One verification run as the records' rule sees it: where it ended, and when."""

    val_loss: float  # the last validation line's loss
    time_s: float  # that line's train_time


@dataclass(frozen=True)
class RuleVerdict:
    passes: bool
    runs: int
    mean_loss: float | None
    p_value: float | None
    mean_time_s: float | None  # the code's time under the rule; None when it does not pass
    reason: str


def mean_final_verdict(runs: list[FinalRun], target_loss: float, *, alpha: float = ALPHA) -> RuleVerdict:
    """The records' rule over `runs`: mean final loss <= target with p < alpha; time = their mean time."""
    n = len(runs)
    if n < 2:
        return RuleVerdict(False, n, runs[0].val_loss if runs else None, None, None,
                           f"{n} finished run(s): the rule tests a mean, it needs at least 2")
    losses = [r.val_loss for r in runs]
    mean = statistics.fmean(losses)
    p = one_sided_p(mean, statistics.stdev(losses), n, target_loss)
    passes = p < alpha
    what = f"mean final val_loss {mean:.4f} over {n} runs, p = {p:.3g}"
    if not passes:
        return RuleVerdict(False, n, mean, p, None, f"{what}: not significantly <= {target_loss} (p >= {alpha})")
    time_s = statistics.fmean(r.time_s for r in runs)
    return RuleVerdict(True, n, mean, p, time_s, f"{what} < {alpha}: its time is their mean, {time_s:.3f} s")


def start_ran(time_s: float | None, status: str, rule: str) -> bool:
    """Whether the start code's search run gives verification something to compare with: a time, or,
    under the records' rule, a run that ended just above the target (its mean over runs may pass)."""
    return time_s is not None or (rule == "mean_final" and status == "target_missed")


def one_sided_p(mean: float, std: float, n: int, target: float) -> float:
    """p of the one-sided one-sample t-test that the true mean is below `target` (what
    scipy.stats.ttest_1samp(losses, target, alternative='less') reports)."""
    if std == 0.0:  # identical losses: no spread to test against, the mean alone decides
        return 0.0 if mean < target else 1.0
    from scipy.stats import t  # lazy: the TUI never pays for scipy's import

    return float(t.cdf((mean - target) / (std / math.sqrt(n)), df=n - 1))
