"""Which model a session talks to: a litellm model string, or one of the built-ins.

Built-ins: `reference` (the task's own next record, the upper bound), `scripted:PATH`
(canned replies from a file), `replay:SESSION` (the replies a recorded session got) and
`human` (a person alone: no model at all).
"""

from __future__ import annotations

from pathlib import Path

from agent.config import HUMAN_MODEL
from agent.llm import LLMClient
from agent.providers import REFERENCE_LABEL, CannedReplies, FixedReply, load_scripted, register
from records.task import Task
from speedrun_tui.errors import UserError

# Purposes whose replies a replayed session gets again; asks and judgements are not part of the search.
REPLAYED_PURPOSES = ("draft", "improve", "debug", "fix_edit", "steer", "reject")


def is_builtin(model: str) -> bool:
    return model in ("reference", HUMAN_MODEL) or model.startswith(("scripted:", "replay:"))


def model_label(model: str) -> str:
    """How views name a model; the reference model always says it is the upper bound."""
    return REFERENCE_LABEL if model == "reference" else model


def default_budget(model: str) -> int | None:
    """The reference model needs one node; None: the scaffold's benchmark budget."""
    return 1 if model == "reference" else None


def make_client(model: str, *, task: Task, api_base: str | None = None, db_path: Path | None = None,
                replies_used: int = 0, **client_kwargs) -> LLMClient:
    """A client for `model`; `replies_used` skips the canned replies a resumed session already had."""
    if model == HUMAN_MODEL:
        raise UserError("model human has no model to ask: start the session with --model M for answers")
    if model == "reference":
        from agent.reference import reference_reply

        route = register(FixedReply(reference_reply(task)))
    elif model.startswith("scripted:"):
        route = register(load_scripted(model.split(":", 1)[1], start=replies_used))
    elif model.startswith("replay:"):
        route = register(replay_source(model.split(":", 1)[1], db_path, start=replies_used))
    else:
        return LLMClient(model, api_base=api_base, **client_kwargs)
    return LLMClient(route, label=model, **client_kwargs)


def replay_source(session: str, db_path: Path | None, *, start: int = 0) -> CannedReplies:
    """The search replies of a recorded session, in the order it got them."""
    from sessions.store import Store
    from speedrun_tui.home import default_db

    path = db_path or default_db()
    if not Path(path).exists():
        raise UserError(f"replay model: no session database at {path}")
    with Store(path, readonly=True) as store:
        session_id = store.resolve_session(session)
        events = store.read_events(session_id)
    purposes = {e.call_id: e.purpose for e in events if e.kind == "llm_request"}
    replies = [e.text for e in events
               if e.kind == "llm_response" and not e.error and purposes.get(e.call_id) in REPLAYED_PURPOSES]
    if not replies:
        raise UserError(f"replay model: session {session_id} has no recorded model replies")
    return CannedReplies(replies, name=f"replay:{session_id}", start=start)
