"""Co-pilot review: a proposed edit waits for the person's decision (approve, reject, steer, edit, skip)."""

from __future__ import annotations

import queue

from agent.decisions import POLL_S, Decision
from speedrun_tui.codediff import unified_diff
from agent.prompts import revision
from agent.proposals import MAX_REFLECTIONS, Proposal
from sessions.events import ApprovalRequested, EditApplied, EditFailed, Event, HumanDecision

class CopilotReview:
    """The Controller's review of one proposal (a mixin: the controller sequences, this decides)."""

    def _review_and_run(self, nid: int, parent_code: str, proposal: Proposal) -> None:
        if self.mode == "copilot":
            proposal = self._review(nid, parent_code, proposal)
            if proposal is None:
                return
        self._emit(EditApplied(node=nid, code_sha=proposal.code_sha, diff=proposal.diff))
        self.applied.add(nid)
        self._execute(nid, proposal.code, proposal.code_sha, self._timeout())

    def _review(self, nid: int, parent_code: str, proposal: Proposal) -> Proposal | None:
        """Copilot: ask until the person approves, edits or skips (None: skipped, stopped or failed)."""
        with self._approval:
            while self.mode == "copilot":
                answer = self._await_decision(ApprovalRequested(node=nid, code_sha=proposal.code_sha,
                                                                diff=proposal.diff))
                if answer is None:
                    return None
                decision, by = answer
                code_sha = self.store.put_blob(decision.code) if decision.kind == "edit" else None
                self._emit(HumanDecision(node=nid, decision=decision.kind, text=decision.text,
                                         code_sha=code_sha, by=by))
                if decision.kind in ("approve", "approve_all"):
                    if decision.kind == "approve_all":
                        self.set_mode("auto")
                    return proposal
                if decision.kind == "skip":
                    return None
                if decision.kind == "edit":
                    edited = self._hand_edit(nid, parent_code, proposal, decision.code, code_sha)
                    if edited is not None:
                        return edited
                    continue
                if decision.kind in ("steer", "reject"):
                    messages = revision(proposal.messages, proposal.reply, steer=decision.text,
                                        rejected=decision.kind == "reject", reason=decision.text)
                    revised = self._proposer().propose(nid, messages, parent_code, decision.kind)
                    if revised is None:
                        self._invalid(nid, f"the revised edit still failed after {MAX_REFLECTIONS} reflections")
                        return None
                    proposal = revised
            return proposal

    def _hand_edit(self, nid: int, parent_code: str, proposal: Proposal, code: str, code_sha: str) -> Proposal | None:
        violations = self._proposer().check_hand_edit(code)
        if violations:
            self._emit(EditFailed(node=nid, reason="The hand edit breaks the rules: " + "; ".join(violations),
                                  rule_violation=True))
            return None
        diff = unified_diff(parent_code, code)
        return Proposal(code, code_sha, diff, proposal.plan, proposal.messages, proposal.reply)

    def _await_decision(self, request: Event) -> tuple[Decision, str] | None:
        while not self._decisions.empty():  # answers given while nothing was asked are stale
            self._decisions.get_nowait()
        self._emit(request)
        while not self._stopping.is_set():
            try:
                return self._decisions.get(timeout=POLL_S)
            except queue.Empty:
                continue
        return None
