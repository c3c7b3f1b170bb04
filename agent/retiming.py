"""The verification phase's plan and verdict: which runs are still owed, and the score they give.

The controller runs them (agent/controller.py, `_verify`); sessions/verification.py does
the statistics. Round r (1-based) runs every role on seed `session seed + r`, a seed the
search never used; a resumed session owes only the runs it has no Retimed event for.
"""

from __future__ import annotations

from dataclasses import dataclass

from sessions.events import Verified
from sessions.state import SessionState
from sessions.verification import rounds_of, score_rounds, unchanged_score


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
            reference_is_best: bool = False) -> Verified:
    """The Verified event for the session's Retimed runs (FSR 0 exactly when the start code is best).
    When the best node runs the next record's very program, its times stand for both."""
    source = "timed" if timed_reference else "calibrated"
    if best_node in (None, 0):
        score = unchanged_score(source)
    else:
        started = state.started
        ratio = (started.target_time_s / started.start_time_s
                 if started.start_time_s and started.target_time_s else None)
        times = {(e.round, e.role): e.time_s for e in state.retimings}
        if reference_is_best:
            times.update({(r, "reference"): t for (r, role), t in list(times.items()) if role == "best"})
        score = score_rounds(rounds_of(times, timed_reference=timed_reference, ratio=ratio), reference_source=source)
    return Verified(fsr=score.fsr, low=score.low, high=score.high, rounds=score.rounds, speedup_s=score.speedup_s,
                    stderr_s=score.stderr_s, improved=score.improved, reference_source=score.reference_source,
                    best_node=best_node)
