"""SessionState: the reducer every view uses (TUI, REPL, headless printer, replay, scoring).

Applying a session's events in order, one by one, yields the same state whether they
arrive live from the controller or come back from the store, so live and replayed
sessions look the same by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from runner.result import RunResult, ValPoint
from sessions import events as ev
from sessions.nodes import Node
from sessions.verification import within_noise

# Lines of log kept per node in the state; the store keeps every line.
LOG_CAP = 2000

# Human decisions that count as interventions, by the name they are counted under.
INTERVENTION_KINDS = {"approve": "approve", "approve_all": "approve", "reject": "reject",
                      "skip": "reject", "steer": "steer", "edit": "edit", "fork": "steer"}


def _empty_interventions() -> dict[str, int]:
    return {"approve": 0, "reject": 0, "steer": 0, "edit": 0}


@dataclass
class SessionState:
    session_id: str
    started: ev.SessionStarted | None = None
    nodes: dict[int, Node] = field(default_factory=dict)
    logs: dict[int, list[str]] = field(default_factory=dict)
    curves: dict[int, list[ValPoint]] = field(default_factory=dict)
    chat: list[ev.Event] = field(default_factory=list)
    pending_approval: ev.ApprovalRequested | None = None
    best_node: int | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    interventions: dict[str, int] = field(default_factory=_empty_interventions)
    finished: ev.SessionFinished | None = None
    judge: ev.JudgeScore | None = None  # the LLM judge's verdict, added after the session
    target_timing: ev.TargetTimed | None = None  # the next record's code timed in this session, once
    retimings: list[ev.Retimed] = field(default_factory=list)  # the verification phase's runs
    verified: ev.Verified | None = None  # the verified score, once the verification phase ended
    fork_from: int | None = None  # a person forked from this node; the next node made from it is the fork
    active_s: float = 0.0  # wall-clock time the session ran, over its closed stretches (resumes apart)
    stretch_ts: float | None = None  # when the stretch running now began
    time_budget_s: float | None = None  # the search's wall-clock budget (--time-budget)
    last_run: RunResult | None = None  # the run that finished last (a node's or not): was its machine busy?
    last_seq: int = -1
    last_ts: float | None = None
    # call_id -> purpose of each LLM request, so an answer to /ask lands in the chat.
    call_purposes: dict[str, str] = field(default_factory=dict)

    def apply(self, event: ev.Event) -> None:
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            handler(self, event)
        if event.seq is not None:
            self.last_seq = event.seq
        self.last_ts = event.ts

    def elapsed_s(self, now: float | None = None) -> float:
        """Wall-clock time the session has run, the time between a stop and its resume left out;
        `now` defaults to the last event's time (a replay's position)."""
        now = self.last_ts if now is None else now
        running = now - self.stretch_ts if self.stretch_ts is not None and now is not None else 0.0
        return self.active_s + max(0.0, running)

    def copy(self) -> SessionState:
        """An independent copy, cheap enough to checkpoint often: events and results are
        never mutated once applied, so only the containers are copied."""
        return replace(
            self,
            nodes={nid: replace(node, children=list(node.children)) for nid, node in self.nodes.items()},
            logs={nid: list(lines) for nid, lines in self.logs.items()},
            curves={nid: list(points) for nid, points in self.curves.items()},
            chat=list(self.chat), interventions=dict(self.interventions),
            call_purposes=dict(self.call_purposes), retimings=list(self.retimings))

    @property
    def noise_cv(self) -> float:
        """The relative spread one run of this task's code has (sessions/verification.py)."""
        from sessions.verification import noise_cv

        config = self.started.config if self.started else {}
        return noise_cv(self.started.start_time_s if self.started else None, config.get("start_time_std_s"))

    def node(self, node_id: int | None) -> Node | None:
        return self.nodes.get(node_id) if node_id is not None else None

    def curve(self, node_id: int | None) -> list[ValPoint]:
        """A node's validation points: as streamed (Metric events), else its run's parsed curve."""
        node = self.node(node_id)
        points = self.curves.get(node_id) if node_id is not None else None
        return points or (node.result.curve if node is not None and node.result is not None else [])

    @property
    def best_time_s(self) -> float | None:
        best = self.node(self.best_node)
        return best.time_s if best else None


def display_status(node: Node, state: SessionState) -> str:
    """The status as shown: a valid node faster than its parent reads "improved", or "within noise"
    when one run of each cannot tell the gain from the clock's spread; the best reads "best"."""
    if node.id == state.best_node:
        return "best"
    parent = state.node(node.parent)
    if node.status == "valid" and parent is not None and parent.time_s is not None and node.time_s is not None:
        if node.time_s >= parent.time_s:
            return "valid"
        return "within noise" if within_noise(node.time_s, parent.time_s, state.noise_cv) else "improved"
    return node.status


def _session_started(state: SessionState, event: ev.SessionStarted) -> None:
    state.started = event
    state.stretch_ts = event.ts
    state.time_budget_s = event.config.get("time_budget_s")


def _node_created(state: SessionState, event: ev.NodeCreated) -> None:
    parent = state.node(event.parent)
    depth = parent.bug_depth + 1 if parent is not None and event.stage == "debug" else 0
    forked = state.fork_from is not None and event.parent == state.fork_from
    state.nodes[event.node] = Node(id=event.node, parent=event.parent, stage=event.stage,
                                   code_sha=event.code_sha, bug_depth=depth, forked=forked)
    if forked:
        state.fork_from = None
    if parent is not None and event.node not in parent.children:
        parent.children.append(event.node)


def _llm_request(state: SessionState, event: ev.LLMRequest) -> None:
    state.call_purposes[event.call_id] = event.purpose


def _llm_response(state: SessionState, event: ev.LLMResponse) -> None:
    state.tokens_in += event.tokens_in
    state.tokens_out += event.tokens_out
    state.cost_usd += event.cost_usd
    if state.call_purposes.get(event.call_id) == "ask":
        state.chat.append(event)


def _plan(state: SessionState, event: ev.Plan) -> None:
    node = state.node(event.node)
    if node is not None:
        node.plan = event.text
    state.chat.append(event)


def _edit_proposed(state: SessionState, event: ev.EditProposed) -> None:
    node = state.node(event.node)
    if node is not None:
        node.code_sha, node.diff, node.status = event.code_sha, event.diff, "proposed"


def _edit_failed(state: SessionState, event: ev.EditFailed) -> None:
    state.chat.append(event)


def _approval_requested(state: SessionState, event: ev.ApprovalRequested) -> None:
    state.pending_approval = event


def _human_decision(state: SessionState, event: ev.HumanDecision) -> None:
    # /ask is a question and a fork is about the next edit: neither answers the pending approval.
    if event.decision == "fork":
        state.fork_from = event.node
    elif event.decision != "ask":
        state.pending_approval = None
    counted = INTERVENTION_KINDS.get(event.decision)
    if event.by == "human" and counted:
        state.interventions[counted] += 1
    node = state.node(event.node)
    if node is not None and event.decision in ("reject", "skip"):
        node.status = "rejected"
    if node is not None and event.decision == "edit" and event.code_sha:
        node.code_sha = event.code_sha
    if event.decision in ("steer", "ask", "fork"):
        state.chat.append(event)


def _edit_applied(state: SessionState, event: ev.EditApplied) -> None:
    node = state.node(event.node)
    if node is not None:
        node.code_sha, node.diff = event.code_sha, event.diff


def _run_started(state: SessionState, event: ev.RunStarted) -> None:
    node = state.node(event.node)
    if node is not None:
        node.status = "running"
        node.code_sha = event.code_sha or node.code_sha
    if event.node is not None:
        state.logs[event.node] = []
        state.curves[event.node] = []


def _log_lines(state: SessionState, event: ev.LogLines) -> None:
    if event.node is None:
        return
    lines = state.logs.setdefault(event.node, [])
    lines.extend(event.lines)
    if len(lines) > LOG_CAP:
        del lines[: len(lines) - LOG_CAP]


def _metric(state: SessionState, event: ev.Metric) -> None:
    if event.node is None or event.val_loss is None:
        return
    point = ValPoint(event.step, event.val_loss, event.train_time_ms or 0.0)
    state.curves.setdefault(event.node, []).append(point)


def _run_finished(state: SessionState, event: ev.RunFinished) -> None:
    node = state.node(event.node)
    if node is None:
        if event.node is None and event.result.get("status"):  # the session's own run: the next record's timing
            state.last_run = RunResult.from_json(event.result)
        return
    node.result = state.last_run = RunResult.from_json(event.result)
    # Provisional until NodeScored (which may also apply verification rules).
    node.status = "buggy" if node.result.buggy else "valid" if node.result.valid else "target_missed"


def _node_scored(state: SessionState, event: ev.NodeScored) -> None:
    node = state.node(event.node)
    if node is None:
        return
    node.status = event.status
    if event.is_best:
        state.best_node = event.node
        return
    best_time = state.best_time_s
    if node.time_s is not None and (best_time is None or node.time_s < best_time):
        state.best_node = event.node


def _note(state: SessionState, event: ev.Note) -> None:
    state.chat.append(event)


def _target_timed(state: SessionState, event: ev.TargetTimed) -> None:
    state.target_timing = event
    state.chat.append(event)


def _retimed(state: SessionState, event: ev.Retimed) -> None:
    state.retimings.append(event)
    state.chat.append(event)


def _verified(state: SessionState, event: ev.Verified) -> None:
    state.verified = event
    state.chat.append(event)


def _session_finished(state: SessionState, event: ev.SessionFinished) -> None:
    state.finished = event
    _close_stretch(state, event.ts)


def _session_resumed(state: SessionState, event: ev.SessionResumed) -> None:
    state.finished = None
    state.pending_approval = None
    _close_stretch(state, state.last_ts)  # a killed writer's stretch ends at its last event
    state.stretch_ts = event.ts
    state.time_budget_s = event.time_budget_s


def _close_stretch(state: SessionState, ts: float | None) -> None:
    if state.stretch_ts is not None and ts is not None:
        state.active_s += max(0.0, ts - state.stretch_ts)
    state.stretch_ts = None


def _judge_score(state: SessionState, event: ev.JudgeScore) -> None:
    state.judge = event


_HANDLERS = {
    ev.SessionStarted.kind: _session_started,
    ev.NodeCreated.kind: _node_created,
    ev.LLMRequest.kind: _llm_request,
    ev.LLMResponse.kind: _llm_response,
    ev.Plan.kind: _plan,
    ev.EditProposed.kind: _edit_proposed,
    ev.EditFailed.kind: _edit_failed,
    ev.ApprovalRequested.kind: _approval_requested,
    ev.HumanDecision.kind: _human_decision,
    ev.EditApplied.kind: _edit_applied,
    ev.RunStarted.kind: _run_started,
    ev.LogLines.kind: _log_lines,
    ev.Metric.kind: _metric,
    ev.RunFinished.kind: _run_finished,
    ev.NodeScored.kind: _node_scored,
    ev.Note.kind: _note,
    ev.TargetTimed.kind: _target_timed,
    ev.Retimed.kind: _retimed,
    ev.Verified.kind: _verified,
    ev.SessionFinished.kind: _session_finished,
    ev.SessionResumed.kind: _session_resumed,
    ev.JudgeScore.kind: _judge_score,
}
