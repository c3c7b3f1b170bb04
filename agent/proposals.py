"""From a prompt to a runnable candidate: ask the model, apply its blocks, check the rules,
and send failures back (at most MAX_REFLECTIONS times)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from agent.editblocks import ApplyOutcome, ParsedReply, apply_blocks, failure_report, parse_reply
from speedrun_tui.codediff import unified_diff
from agent.llm import LLMClient
from agent.prompts import reflection
from agent.rules import check_rules, same_program
from sessions.events import EditFailed, EditProposed, Event, Plan

MAX_REFLECTIONS = 3


@dataclass(frozen=True)
class Proposal:
    code: str
    code_sha: str
    diff: str  # against the parent's code
    plan: str
    messages: list[dict]  # the conversation that produced it, for a revision
    reply: str  # the model's last reply


@dataclass(frozen=True)
class Problem:
    report: str  # what goes back to the model (and into EditFailed)
    rule_violation: bool = False


class Proposer:
    def __init__(self, client: LLMClient, start_code: str, emit: Callable[[Event], None],
                 put_blob: Callable[[str], str], ran: Callable[[], list[tuple[int, str]]] = list):
        self.client = client
        self.start_code = start_code
        self.emit = emit
        self.put_blob = put_blob
        self.ran = ran  # (node, code) of every node that has run or is running

    def propose(self, node: int, messages: list[dict], parent_code: str, purpose: str) -> Proposal | None:
        """A checked candidate, or None when the model's edits still fail after the reflections.

        Raises LLMError when the model can't be reached.
        """
        parent_sha = self.put_blob(parent_code)
        reply = self.client.complete(messages, purpose=purpose, node=node).text
        parsed = parse_reply(reply)
        if parsed.plan:
            self.emit(Plan(node=node, text=parsed.plan))
        plan = parsed.plan
        working = parent_code
        for attempt in range(1, MAX_REFLECTIONS + 2):
            outcome = apply_blocks(working, parsed.blocks)
            problem = self.problem(parsed, outcome, parent_code)
            if problem is None:
                code_sha = self.put_blob(outcome.code)
                diff = unified_diff(parent_code, outcome.code)
                self.emit(EditProposed(node=node, parent_sha=parent_sha, code_sha=code_sha, diff=diff,
                                       attempt=attempt))
                return Proposal(outcome.code, code_sha, diff, plan, messages, reply)
            self.emit(EditFailed(node=node, reason=problem.report, attempt=attempt,
                                 rule_violation=problem.rule_violation))
            if attempt > MAX_REFLECTIONS:
                return None
            working = outcome.code
            messages = reflection(messages, reply, problem.report, working)
            reply = self.client.complete(messages, purpose="fix_edit", node=node).text
            parsed = parse_reply(reply)
        return None

    def problem(self, parsed: ParsedReply, outcome: ApplyOutcome, parent_code: str) -> Problem | None:
        if not parsed.blocks and not parsed.errors:
            return Problem("Your reply has no SEARCH/REPLACE blocks, so nothing was changed. "
                           "Write the change as blocks against train.py.")
        if parsed.errors or outcome.failures:
            return Problem(failure_report(outcome, parsed.errors))
        if outcome.code == parent_code:
            return Problem("Your blocks leave train.py exactly as it was. Change something.")
        violations = check_rules(self.start_code, outcome.code)
        if violations:
            listed = "\n".join(f"- {v}" for v in violations)
            return Problem(f"The edit breaks the speedrun's rules, so it was not run:\n{listed}\n\n"
                           "Fix it with SEARCH/REPLACE blocks against the current train.py below.",
                           rule_violation=True)
        twin = next((node for node, code in self.ran() if same_program(outcome.code, code)), None)
        if twin is not None:
            return Problem(f"The edit changes only comments or whitespace: train.py would run exactly the program "
                           f"node {twin} already ran, and a re-run of the same code only measures the clock's noise. "
                           "Change what the program does.", rule_violation=True)
        return None

    def check_hand_edit(self, code: str) -> list[str]:
        return check_rules(self.start_code, code)
