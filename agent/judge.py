"""The benchmark's LLM judge: how much of the reference's change did the agent's best node reproduce?

The judge sees the start code, the reference diff and the agent's best diff, lists the
reference's key changes and marks each as reproduced or not. The fraction is stored
with the session as a JudgeScore event.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from speedrun_tui.codediff import unified_diff
from agent.llm import LLMError
from agent.models import make_client
from records.task import Task
from sessions.events import JudgeScore
from sessions.state import SessionState
from speedrun_tui.errors import UserError

INSTRUCTIONS = """You judge a training-speedrun attempt. Below are the start code, the reference change \
(the next record's diff, made by experts) and the agent's change (its best attempt's diff).

List the key changes of the reference (at most 10; ideas that matter for speed, not renames or comments). \
For each, say whether the agent's change reproduces it: the same idea counts even if the code differs.

Reply with JSON only, in this form:
{"changes": [{"change": "one line naming the change", "reproduced": true}]}"""
_JSON_RE = re.compile(r"\{.*\}", re.DOTALL)


@dataclass
class Verdict:
    session: str
    score: float
    changes: list[dict] = field(default_factory=list)
    best_node: int | None = None

    @property
    def reproduced(self) -> int:
        return sum(1 for c in self.changes if c.get("reproduced"))


def judge_messages(start_code: str, reference_diff: str, agent_diff: str) -> list[dict]:
    content = (f"{INSTRUCTIONS}\n\n## Start code\n\n```python\n{start_code.rstrip()}\n```\n\n"
               f"## Reference change\n\n```diff\n{reference_diff.rstrip()}\n```\n\n"
               f"## Agent's change\n\n```diff\n{agent_diff.rstrip() or '(none)'}\n```\n")
    return [{"role": "user", "content": content}]


def parse_verdict(text: str) -> list[dict]:
    """The judged changes from the judge's reply; ValueError when it isn't the JSON asked for."""
    match = _JSON_RE.search(text)
    if not match:
        raise ValueError("no JSON object in the reply")
    changes = json.loads(match.group(0)).get("changes")
    if not isinstance(changes, list) or not changes:
        raise ValueError("the reply's JSON has no list of changes")
    return [{"change": str(c.get("change", "")), "reproduced": bool(c.get("reproduced"))}
            for c in changes if isinstance(c, dict)]


def judge_session(db_path: Path, session: str, *, model: str, api_base: str | None = None,
                  task: Task | None = None) -> Verdict:
    """Judge a recorded session and store the verdict with it; `task` defaults to the catalog's."""
    from sessions.store import Store

    if model == "reference" or model.startswith("replay:"):
        raise UserError(f"--model {model} cannot judge; use a litellm model string or scripted:PATH")
    if not Path(db_path).exists():
        raise UserError(f"no session database at {db_path}")
    with Store(db_path) as store:
        session_id = store.resolve_session(session)
        state = SessionState(session_id)
        for event in store.read_events(session_id):
            state.apply(event)
        if state.started is None:
            raise UserError(f"session {session_id} has no start event")
        if task is None:
            from records.catalog import get_task

            task = get_task(state.started.task)
        reference = task.reference_diff()
        if not reference.strip():
            raise UserError(f"task {task.id} has no reference diff to judge against")
        start_code = store.get_blob(state.nodes[0].code_sha) if 0 in state.nodes else task.start_code()
        best = state.node(state.best_node)
        if best is None or best.parent is None or best.code_sha is None:
            # Nothing beat the start code: nothing of the reference was reproduced.
            verdict = Verdict(session_id, 0.0, [], best.id if best is not None else None)
        else:
            agent_diff = unified_diff(start_code, store.get_blob(best.code_sha))
            changes = ask_judge(model, api_base, task, judge_messages(start_code, reference, agent_diff))
            score = sum(1 for c in changes if c["reproduced"]) / len(changes)
            verdict = Verdict(session_id, score, changes, best.id)
        store.annotate(session_id, JudgeScore(model=model, score=verdict.score, changes=verdict.changes,
                                              best_node=verdict.best_node))
    return verdict


def ask_judge(model: str, api_base: str | None, task: Task, messages: list[dict]) -> list[dict]:
    client = make_client(model, task=task, api_base=api_base)
    client.check_environment()
    try:
        return parse_verdict(client.complete(messages, purpose="judge").text)
    except LLMError as err:
        raise UserError(f"judge model failed: {err}") from err
    except ValueError as err:
        raise UserError(f"judge reply unusable ({err}); try another --model") from err
