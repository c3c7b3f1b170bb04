"""The verification phase's plan and verdict: which runs are still owed, and the score they give.

The controller runs them (agent/controller.py, `_verify`); sessions/verification.py does
the statistics. Round r (1-based) runs every role on seed `session seed + r`, a seed the
search never used; a resumed session owes only the runs it has no Retimed event for.
"""

from __future__ import annotations

from dataclasses import dataclass

from sessions.events import Verified
from sessions.state import SessionState
from sessions.target_rule import FinalRun, mean_final_verdict
from sessions.verification import VerifiedScore, rounds_of, score_rounds, unchanged_score


@dataclass(frozen=True)
class RetimeRun:
    round: int
    role: str  # root, best or reference
    seed: int
    code: str
    code_sha: str


def owed_rounds(state: SessionState, codes: dict[str, tuple[str, str]], *, repeats: int,
                base_seed: int) -> list[list[RetimeRun]]:
    """Per round, the runs not done yet; `codes` maps each role to (code, sha)."""
    done = {(e.round, e.role) for e in state.retimings}
    rounds = []
    for r in range(1, repeats + 1):
        owed = [RetimeRun(r, role, base_seed + r, code, sha) for role, (code, sha) in codes.items()
                if (r, role) not in done]
        if owed:
            rounds.append(owed)
    return rounds


def verdict(state: SessionState, *, best_node: int | None, timed_reference: bool,
            reference_is_best: bool = False, rule: str = "first_crossing",
            target_loss: float | None = None) -> Verified:
    """The Verified event for the session's Retimed runs (FSR 0 exactly when the start code is best).
    When the best node runs the next record's very program, its times stand for both. Under the
    records' rule (GPU tracks) each code's time counts only when its runs pass it (sessions/target_rule.py)."""
    source = "timed" if timed_reference else "calibrated"
    note = ""
    if best_node in (None, 0):
        score = unchanged_score(source)
    elif rule == "mean_final":
        score, note = _mean_final_score(state, timed_reference, reference_is_best, target_loss, source)
    else:
        times = {(e.round, e.role): e.time_s for e in state.retimings}
        score = _paired_score(state, times, timed_reference, reference_is_best, source)
    return Verified(fsr=score.fsr, low=score.low, high=score.high, rounds=score.rounds, speedup_s=score.speedup_s,
                    stderr_s=score.stderr_s, improved=score.improved, reference_source=score.reference_source,
                    best_node=best_node, rule=rule, rule_note=note)


def _paired_score(state: SessionState, times: dict, timed_reference: bool, reference_is_best: bool,
                  source: str) -> VerifiedScore:
    started = state.started
    ratio = (started.target_time_s / started.start_time_s
             if started.start_time_s and started.target_time_s else None)
    if reference_is_best:
        times.update({(r, "reference"): t for (r, role), t in list(times.items()) if role == "best"})
    return score_rounds(rounds_of(times, timed_reference=timed_reference, ratio=ratio), reference_source=source)


def _mean_final_score(state: SessionState, timed_reference: bool, reference_is_best: bool,
                      target_loss: float, source: str) -> tuple[VerifiedScore, str]:
    """Each code's runs of the complete rounds against the records' rule. A start code or next
    record that fails it leaves nothing to score against (no FSR); a best node that fails it
    does not count, so the start code stays the best (FSR 0)."""
    runs = {(e.round, e.role): FinalRun(e.final_val_loss, e.final_time_s) for e in state.retimings
            if e.final_val_loss is not None and e.final_time_s is not None}
    if reference_is_best:
        runs.update({(r, "reference"): run for (r, role), run in list(runs.items()) if role == "best"})
    roles = ("root", "best", "reference") if timed_reference else ("root", "best")
    complete = [r for r in sorted({key[0] for key in runs}) if all((r, role) in runs for role in roles)]
    verdicts = {role: mean_final_verdict([runs[(r, role)] for r in complete], target_loss) for role in roles}
    note = "; ".join(f"{role}: {v.reason}" for role, v in verdicts.items())
    if not all(verdicts[role].passes for role in roles if role != "best"):
        return VerifiedScore(None, None, None, len(complete), None, None, False, source), note
    if not verdicts["best"].passes:
        return VerifiedScore(0.0, 0.0, 0.0, len(complete), None, None, False, source), note
    times = {key: run.time_s for key, run in runs.items() if key[0] in complete}
    return _paired_score(state, times, timed_reference, False, source), note
