"""The event stream: every step a session takes, as typed dataclasses.

The controller publishes these; the store persists them (kind + JSON payload);
the TUI, the plain REPL and the headless printer render them; replay reads them
back. Code never travels inline: events carry the sha256 of a blob in the store.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

# Decision-type events are flushed to disk at once; everything else may be batched.
FLUSH_NOW_KINDS = {"approval_requested", "human_decision", "run_finished", "session_finished", "session_started",
                   "target_timed", "retimed", "verified"}

_REGISTRY: dict[str, type[Event]] = {}


@dataclass(kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    node: int | None = None  # the search node this event belongs to, if any
    ts: float = field(default_factory=time.time)
    seq: int | None = None  # position in the session, assigned by the store

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.kind] = cls

    def payload(self) -> dict[str, Any]:
        """The JSON payload: every field but the envelope (node, ts, seq)."""
        data = asdict(self)
        for key in ("node", "ts", "seq"):
            data.pop(key)
        return data

    @staticmethod
    def from_record(kind: str, payload: dict, *, node: int | None, ts: float, seq: int | None) -> Event:
        cls = _REGISTRY.get(kind)
        if cls is None:
            return Unknown(original_kind=kind, data=payload, node=node, ts=ts, seq=seq)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in payload.items() if k in known}, node=node, ts=ts, seq=seq)


@dataclass(kw_only=True)
class Unknown(Event):
    """An event of a kind this version doesn't know (a newer store): kept, shown raw."""

    kind: ClassVar[str] = "unknown"
    original_kind: str = ""
    data: dict = field(default_factory=dict)


@dataclass(kw_only=True)
class SessionStarted(Event):
    kind: ClassVar[str] = "session_started"
    task: str
    model: str
    scaffold: str
    hints: str  # hint regime: none, pseudo, text, paper, pseudo+text, all
    mode: str  # auto, copilot, human
    # The task's catalog numbers, frozen at start so scoring never depends on today's catalog.
    start_time_s: float | None = None
    target_time_s: float | None = None
    target_loss: float | None = None
    config: dict = field(default_factory=dict)  # max_nodes, parallel, sandbox, backend, api_base...
    version: str = ""


@dataclass(kw_only=True)
class SessionResumed(Event):
    """A stopped or killed session taken up again; whatever `session_finished` said before no longer holds."""

    kind: ClassVar[str] = "session_resumed"
    mode: str
    parallel: int = 1
    time_budget_s: float | None = None  # the search's wall-clock budget from now on (None: none)


@dataclass(kw_only=True)
class NodeCreated(Event):
    kind: ClassVar[str] = "node_created"
    parent: int | None
    stage: str  # root, draft, improve, debug, human
    code_sha: str | None = None  # filled once the node's code exists


@dataclass(kw_only=True)
class LLMRequest(Event):
    kind: ClassVar[str] = "llm_request"
    call_id: str
    model: str
    purpose: str  # draft, improve, debug, fix_edit, steer, ask, judge
    messages: list[dict] = field(default_factory=list)


@dataclass(kw_only=True)
class LLMResponse(Event):
    kind: ClassVar[str] = "llm_response"
    call_id: str
    text: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    error: str = ""  # set when the call failed after its retries


@dataclass(kw_only=True)
class Plan(Event):
    kind: ClassVar[str] = "plan"
    text: str


@dataclass(kw_only=True)
class EditProposed(Event):
    kind: ClassVar[str] = "edit_proposed"
    parent_sha: str
    code_sha: str
    diff: str  # unified diff against the parent node's code
    attempt: int = 1


@dataclass(kw_only=True)
class EditFailed(Event):
    """Edit blocks that could not be applied, or broke a rule; the reason goes back to the model."""

    kind: ClassVar[str] = "edit_failed"
    reason: str
    attempt: int = 1
    rule_violation: bool = False


@dataclass(kw_only=True)
class ApprovalRequested(Event):
    kind: ClassVar[str] = "approval_requested"
    code_sha: str
    diff: str


@dataclass(kw_only=True)
class HumanDecision(Event):
    kind: ClassVar[str] = "human_decision"
    decision: str  # approve, approve_all, reject, steer, edit, skip, ask, fork (node: the node forked from)
    text: str = ""  # the steer message, question, or reason
    code_sha: str | None = None  # the hand-edited code, for `edit`
    by: str = "human"  # human, policy (auto-approve)


@dataclass(kw_only=True)
class EditApplied(Event):
    kind: ClassVar[str] = "edit_applied"
    code_sha: str
    diff: str


@dataclass(kw_only=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    code_sha: str
    workdir: str = ""
    command: list[str] = field(default_factory=list)
    backend: str = "local"  # local, slurm
    sandbox: str = ""  # bwrap, rlimits, off
    job_id: str = ""


@dataclass(kw_only=True)
class LogLines(Event):
    kind: ClassVar[str] = "log_lines"
    lines: list[str]
    stream: str = "stdout"
    dropped: int = 0  # lines dropped by the runner's cap before these


@dataclass(kw_only=True)
class Metric(Event):
    kind: ClassVar[str] = "metric"
    step: int
    val_loss: float | None = None
    train_loss: float | None = None
    train_time_ms: float | None = None
    total_steps: int | None = None


@dataclass(kw_only=True)
class RunFinished(Event):
    kind: ClassVar[str] = "run_finished"
    result: dict  # RunResult.to_json()


@dataclass(kw_only=True)
class NodeScored(Event):
    kind: ClassVar[str] = "node_scored"
    status: str  # buggy, valid, target_missed, invalid (failed verification / rule)
    time_s: float | None = None
    val_loss: float | None = None
    is_best: bool = False
    reason: str = ""


@dataclass(kw_only=True)
class TargetTimed(Event):
    """The next record's code, run once on this machine after the search (node None): the score's
    t_next then needs no ratio calibrated on another CPU."""

    kind: ClassVar[str] = "target_timed"
    time_s: float | None  # time to target; None when the run did not reach it
    status: str  # valid, buggy, target_missed, cancelled (as a node's score)
    reason: str = ""
    seed: int | None = None
    code_sha: str | None = None


@dataclass(kw_only=True)
class Retimed(Event):
    """One run of the verification phase (node None): round r times the start code, the best node
    and the next record's code on a seed the search never used (sessions/verification.py)."""

    kind: ClassVar[str] = "retimed"
    round: int
    role: str  # root, best or reference
    seed: int
    time_s: float | None  # time to target; None when the run did not reach it or failed a check
    status: str  # valid, invalid, buggy, target_missed, cancelled
    reason: str = ""
    best_node: int | None = None  # which node "best" is
    # Where a finished run ended (its last validation line), for the records' rule on GPU tracks
    # (sessions/target_rule.py); None when it did not finish or failed a check.
    final_val_loss: float | None = None
    final_time_s: float | None = None


@dataclass(kw_only=True)
class Verified(Event):
    """The verified score, derived once from the session's Retimed runs: the headline FSR."""

    kind: ClassVar[str] = "verified"
    fsr: float | None
    low: float | None  # 95 % interval (Student's t on the paired speedups)
    high: float | None
    rounds: int
    speedup_s: float | None  # mean paired (start - best) time
    stderr_s: float | None
    improved: bool  # speedup > 2 standard errors
    reference_source: str  # timed or calibrated
    best_node: int | None = None
    rule: str = "first_crossing"  # when a run's time counts (records/task.py TargetRule)
    rule_note: str = ""  # under the records' rule: each code's verdict


@dataclass(kw_only=True)
class Note(Event):
    kind: ClassVar[str] = "note"
    text: str
    level: str = "info"  # info, warning, error


@dataclass(kw_only=True)
class SessionFinished(Event):
    kind: ClassVar[str] = "session_finished"
    status: str = "finished"  # finished, stopped, failed
    reason: str = ""


def event_class(kind: str) -> type[Event] | None:
    """The Event subclass registered for `kind` (None for a kind this version doesn't know)."""
    return _REGISTRY.get(kind)


@dataclass(kw_only=True)
class JudgeScore(Event):
    """The benchmark's LLM judge on a session: the fraction of the reference's key changes
    that the best node reproduced (added after the session, with Store.annotate)."""

    kind: ClassVar[str] = "judge_score"
    model: str
    score: float
    changes: list[dict] = field(default_factory=list)  # {"change": str, "reproduced": bool}
    best_node: int | None = None


def decode(kind: str, payload: str, node: int | None, ts: float, seq: int) -> Event:
    """A stored event row back as its Event."""
    data = json.loads(payload)
    cls = event_class(kind)
    if cls is not None:
        try:  # the common case, without from_record's per-call field filtering
            return cls(**data, node=node, ts=ts, seq=seq)
        except TypeError:
            pass  # a field this version doesn't know: let from_record drop it
    return Event.from_record(kind, data, node=node, ts=ts, seq=seq)
