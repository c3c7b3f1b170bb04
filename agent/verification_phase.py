"""The verification phase: the next record timed once, or paired re-timing rounds, and `verify` later."""

from __future__ import annotations

from dataclasses import replace

from agent.node_runs import _status
from agent.retiming import RetimeRun, owed_rounds, verdict
from agent.rules import same_program
from records.integrity import judge_run
from sessions.events import Note, Retimed, TargetTimed
from sessions.scoring import Score, score_session
from sessions.target_rule import start_ran

DEFAULT_VERIFY_REPEATS = 3  # paired re-timing rounds on micro tasks (sessions/verification.py)

class VerificationPhase:
    """The Controller's scoring runs after the search (a mixin: the controller sequences them)."""

    def reverify(self, rounds: int) -> Score:
        """`speedrun-tui verify`: `rounds` more paired rounds of an ended (reopened) session, with the runs
        an interrupted verification still owes, and a new Verified event; then it ends as it had ended."""
        ended = self._ended
        done = max((e.round for e in self.state.retimings), default=0)
        self.config = replace(self.config, verify_repeats=done + rounds)
        try:
            self._verify(again=True)
        finally:
            self._finish(ended.status, ended.reason)
        return score_session(self.state)

    def _time_target(self) -> None:
        """Verification: run the next record's code once, as the start code ran, so that t_next is
        measured on this machine rather than rescaled by a ratio calibrated on another CPU.

        Not a search node: it never counts toward the budget nor competes for the best time.
        A run cut short by stop() records nothing, so a resumed session times it then. Without a
        valid start time there is nothing to compare it with (scores then use the catalog's times)."""
        script = self.task.target_script
        if (not self.config.time_target or script is None or self.state.target_timing is not None
                or self.state.nodes[0].time_s is None or not self._wait_turn()):
            return
        code = script.read_text()
        code_sha = self.store.put_blob(code)
        self._emit(Note(text=f"verification: timing the next record's code on this machine "
                        f"(seed {self.config.seed})"))
        result = self._run(None, code, code_sha, self._timeout())
        if result.status == "cancelled" and self._stopping.is_set():
            return
        time_s = result.time_to_target_ms / 1000.0 if result.valid else None
        self._emit(TargetTimed(time_s=time_s, status=_status(result), reason=result.reason,
                               seed=self.config.seed, code_sha=code_sha))

    def _verify_repeats(self) -> int:
        if self.config.verify_repeats is not None:
            return self.config.verify_repeats
        return DEFAULT_VERIFY_REPEATS if self.task.track == "micro" else 0

    def _verify(self, again: bool = False) -> None:
        """Paired re-timing (sessions/verification.py): round r runs the start code, the best node and
        the next record's code on a fresh seed, side by side up to --parallel; a stopped phase resumes
        with the runs it still owes, and ends with the Verified event, the headline score."""
        verified = self.state.verified is not None and not again
        root = self.state.nodes[0]
        if verified or not start_ran(root.time_s, root.status, self.task.target_rule) or self._stopping.is_set():
            return
        best = self.state.best_node
        script = self.task.target_script if self.config.time_target else None
        codes = {"root": (self.start_code, self.start_sha)}
        reference_is_best = False
        if best not in (None, 0):
            codes["best"] = (self._code(best), self.state.nodes[best].code_sha)
            reference = script.read_text() if script is not None else None
            reference_is_best = reference is not None and same_program(reference, codes["best"][0])
            if reference is not None and not reference_is_best:  # the same program is timed once a round
                codes["reference"] = (reference, self.store.put_blob(reference))
            rounds = owed_rounds(self.state, codes, repeats=self._verify_repeats(), base_seed=self.config.seed)
            if rounds:
                self._emit(Note(text=f"verification: {len(rounds)} round(s) of {', '.join(codes)} on fresh seeds"))
            for owed in rounds:
                if not self._wait_turn():
                    return
                self._together([lambda run=run: self._retime(run, best) for run in owed], workers=self.config.parallel)
                if self._stopping.is_set():
                    return
        event = verdict(self.state, best_node=best, timed_reference=script is not None,
                        reference_is_best=reference_is_best, rule=self.task.target_rule,
                        target_loss=self.task.target_loss)
        if event.rule_note:
            self._emit(Note(text=f"the records' rule (mean final val_loss <= {self.task.target_loss}, "
                            f"p < 0.01): {event.rule_note}"))
        self._emit(event)

    def _retime(self, run: RetimeRun, best: int) -> None:
        result = self._run(None, run.code, run.code_sha, self._timeout(), seed=run.seed,
                           key=("retime", run.round, run.role))
        if result.status == "cancelled" and self._stopping.is_set():
            return  # owed again on resume
        time_s = result.time_to_target_ms / 1000.0 if result.valid else None
        status, reason = _status(result), result.reason
        if result.valid:
            checked = judge_run(result, target_loss=self.task.target_loss, reference=self._reference().clock)
            if not checked.ok:
                time_s, status, reason = None, "invalid", checked.reason
        ended = status in ("valid", "target_missed") and result.final_time_ms is not None
        self._emit(Retimed(round=run.round, role=run.role, seed=run.seed, time_s=time_s, status=status,
                           reason=reason, best_node=best if run.role == "best" else None,
                           final_val_loss=result.final_val_loss if ended else None,
                           final_time_s=result.final_time_ms / 1000.0 if ended else None))
