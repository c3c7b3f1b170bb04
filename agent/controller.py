"""Controller: one session's step loop, as a headless state machine.

It never touches a screen. Every step is an Event, appended to the Store and then
handed to each subscriber (the TUI, the REPL, the headless printer) in order, from
the controller's own threads. The methods a person drives (step, pause, resume,
stop, set_mode, decide, ask, cancel_run) never block and never take the event lock,
so a view may call them from its own thread at any time, even from inside a callback.

The session's state is the reducer's (sessions.state.SessionState) over the events
emitted so far, so a resumed session continues from exactly what the store holds.

The controller sequences the session: the start code, the search's batches, the time
budget, the end. What each step does lives beside it: running and scoring a node
(node_runs.py), the co-pilot's review of a proposal (copilot_review.py), a person's node
in human mode (human_loop.py) and the scoring runs after the search (verification_phase.py).
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cached_property
from typing import Callable

from agent.config import HUMAN_MODEL, MODES, SessionConfig
from agent.copilot_review import CopilotReview
from agent.decisions import POLL_S, Decision
from agent.harness import RunGuard, describe_checks
from agent.human_loop import HumanLoop
from agent.llm import LLMClient, LLMError
from agent.models import REPLAYED_PURPOSES, default_budget, make_client, model_label
from agent.node_runs import ROOT_TIMEOUT_S, NodeRuns, _why
from agent.prompts import (PromptContext, debug_messages, draft_messages, improve_messages,
                           question_messages, with_steering)
from agent.proposals import MAX_REFLECTIONS, Proposal, Proposer
from agent.scaffolds import BENCHMARK_BUDGET, Action, best_valid, get_scaffold, next_actions
from agent.verification_phase import VerificationPhase
from records.task import HINT_REGIMES, Task
from sessions.events import (Event, HumanDecision, NodeCreated, Note, SessionFinished, SessionResumed,
                             SessionStarted)
from sessions.elapsed import format_duration
from sessions.scoring import Score, score_session
from sessions.state import SessionState
from sessions.store import Store
from sessions.target_rule import start_ran
from speedrun_tui.errors import UserError

MAX_MODEL_FAILURES = 3  # nodes in a row whose model call failed for good: the session stops
SETTLED = ("valid", "buggy", "target_missed", "invalid", "rejected", "cancelled")


class Controller(NodeRuns, CopilotReview, HumanLoop, VerificationPhase):
    def __init__(self, config: SessionConfig, store: Store, *, session_id: str | None = None,
                 task: Task | None = None, run_env: dict[str, str] | None = None, reopen: bool = False):
        """Open a new session, or resume `session_id` (`reopen`: one that has ended, to verify it again).
        `task`/`run_env` stand in for the catalog's (a task of your own); both default to records.catalog's."""
        self.store = store
        self._subscribers: list[Callable[[Event], None]] = []
        self._lock = threading.RLock()  # one event at a time: store, state and subscribers stay in order
        self._gate = threading.Condition()
        self._paused = False
        self._permits = 0
        self._stopping = threading.Event()
        self._decisions: queue.Queue[tuple[Decision, str]] = queue.Queue()
        self._steers: list[str] = []  # steering given between edits, for the next prompt
        self._approval = threading.Lock()  # one pending approval at a time
        self._cancels: dict[int | None, threading.Event] = {}  # by node; None: the next record's timing
        self._client: LLMClient | None = None
        self._client_lock = threading.Lock()
        self._failures = 0
        self._failed_reason = ""
        self._workspace = None
        self._root_gap: float | None = None  # nan: the start code's model could not be measured
        self._root_gap_lock = threading.Lock()
        self._root_settled = threading.Event()  # a draft running beside the root is scored after it
        self._root_settled.set()
        self._fork_from: int | None = None  # the node a person picked for the next edit
        self._budget_timer: threading.Timer | None = None
        self._stop_reason = ""  # why the session stopped when it was not the person
        if session_id:
            self._resume(config, session_id, task, run_env, reopen)
        else:
            self._start(config, task, run_env)
        self.mode = self.config.mode

    # -- opening --------------------------------------------------------------------

    def _start(self, config: SessionConfig, task: Task | None, run_env: dict[str, str] | None) -> None:
        config = config.for_new_session()
        _validate(config)
        self.config = config
        self.task, self.run_env = _task_setup(config, task, run_env)
        config.check_cores(self.task.threads)
        self.start_code = self.task.start_code()
        self._guard_runs()
        self.budget = config.max_nodes or default_budget(config.model) or BENCHMARK_BUDGET
        self.applied: set[int] = set()
        self.unscored: set[int] = set()
        self.replies_used = 0
        from speedrun_tui import __version__

        start_s, target_s = self.task.times_for_seed(config.seed)
        started = SessionStarted(
            task=self.task.id, model=config.model, scaffold=config.scaffold, hints=config.hints, mode=config.mode,
            start_time_s=start_s or None, target_time_s=target_s or None,
            target_loss=self.task.target_loss, version=__version__,
            config={**config.to_json(), "budget": self.budget, "model_label": model_label(config.model),
                    "start_time_std_s": self.task.start_time_std_s,
                    # Which calibration the catalog times come from, and whether it was made on another
                    # kind of CPU: a score resting on its ratio is then provisional (sessions/fsr.py).
                    "calibration": self.task.calibration, "provisional": self.task.provisional,
                    **self.sandbox.to_json()})
        self.start_sha = self.store.put_blob(self.start_code)
        self.session_id = self.store.new_session(started)
        self.state = SessionState(self.session_id)
        self.state.apply(started)

    def _resume(self, config: SessionConfig, session_id: str, task: Task | None,
                run_env: dict[str, str] | None, reopen: bool = False) -> None:
        session_id = self.store.resolve_session(session_id)
        status = self.store.session_status(session_id)
        if status == "finished" and not reopen:
            raise UserError(f"session {session_id} has finished; there is nothing to resume")
        if status == "running":
            raise UserError(f"session {session_id} is still being written by another process")
        state = SessionState(session_id)
        events = self.store.read_events(session_id)
        for event in events:
            state.apply(event)
        if state.started is None:
            raise UserError(f"session {session_id} has no start event; it cannot be resumed")
        if reopen:
            _check_verifiable(state)
            self._ended = state.finished  # how it ends again after `verify`
        stored = SessionConfig.from_json(state.started.config)
        if config.task_id and config.task_id != stored.task_id:
            raise UserError(f"session {session_id} is a session of {stored.task_id}, not {config.task_id}")
        stored = _resumed_config(stored, events, config)
        if reopen:
            stored = replace(stored, sandbox=config.sandbox or stored.sandbox)
        _validate(stored)
        self.config = stored
        self.task, self.run_env = _task_setup(stored, task, run_env)
        if reopen:
            _check_root_ran(state, self.task)
        stored.check_cores(self.task.threads, oversubscribe=config.oversubscribe)
        self.start_code = self.task.start_code()
        self._guard_runs()
        self.start_sha = self.store.put_blob(self.start_code)
        self.budget = int(state.started.config.get("budget") or BENCHMARK_BUDGET)
        purposes = {e.call_id: e.purpose for e in events if e.kind == "llm_request"}
        self.replies_used = sum(1 for e in events if e.kind == "llm_response" and not e.error
                                and purposes.get(e.call_id) in REPLAYED_PURPOSES)
        self.applied = {e.node for e in events if e.kind == "edit_applied"}
        # Killed between a run's end and its score: scored first thing on resume (the harness checks included).
        self.unscored = ({e.node for e in events if e.kind == "run_finished"}
                         - {e.node for e in events if e.kind == "node_scored"})
        self.session_id = session_id
        self.state = state
        self._fork_from = state.fork_from  # a fork decided before the stop still holds for the next edit
        self.store.resume_session(session_id)
        self._emit(SessionResumed(mode=stored.mode, parallel=stored.parallel, time_budget_s=stored.time_budget_s))

    def _guard_runs(self) -> None:
        """The sandbox every run gets; refused for model-written candidates when it is not bubblewrap."""
        from runner.sandbox import resolve

        self.sandbox = resolve(self.config.sandbox)
        _fail_closed(self.config, self.sandbox)

    @cached_property
    def guard(self) -> RunGuard:
        """How this session's runs are confined and checked (agent/harness.py); built once, on first use."""
        return RunGuard(task=self.task, env=self.run_env, sandbox=self.config.sandbox,
                        hide=[str(self.store.path)], session_id=self.session_id)

    # -- the API a view drives ----------------------------------------------------------

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        self._subscribers.append(callback)

    def step(self) -> None:
        """Allow exactly one more node to start, then hold."""
        with self._gate:
            self._paused = True
            self._permits += 1
            self._gate.notify_all()

    def pause(self) -> None:
        """No new node starts until resume() or step(); what runs now finishes."""
        with self._gate:
            self._paused = True
            self._permits = 0

    def resume(self) -> None:
        with self._gate:
            self._paused = False
            self._gate.notify_all()

    @property
    def paused(self) -> bool:
        """Whether new nodes wait for resume() or step() (after a step, once its node has started)."""
        return self._paused

    def stop(self) -> None:
        """Cancel what runs and end the session as `stopped`; it can be resumed later."""
        self._stopping.set()
        self.cancel_run()
        if self._client is not None:
            self._client.cancel.set()
        with self._gate:
            self._gate.notify_all()

    def cancel_run(self) -> None:
        for cancel in list(self._cancels.values()):
            cancel.set()

    def set_mode(self, mode: str) -> None:
        """Switch between auto, copilot and human at any time; a pending approval is granted on auto."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        if self.config.model == HUMAN_MODEL and mode != "human":
            self._note_aside(Note(level="warning", text=f"no {mode} mode: this session has no model (model human)"))
            return
        old, self.mode = self.mode, mode
        if old == mode:
            return
        if old == "copilot" and self.state.pending_approval is not None:
            # The approval in wait goes to the new mode: auto runs it, human mode drops it.
            kind = "approve" if mode == "auto" else "skip"
            self._decisions.put((Decision(kind, f"switched to {mode}"), "policy"))
        self._note_aside(Note(text=f"mode: {old} -> {mode}"))

    def _note_aside(self, note: Note) -> None:
        """Emit from a thread of its own: the caller may be a view's callback, which holds the event lock."""
        threading.Thread(target=self._emit, args=(note,), daemon=True).start()

    def decide(self, decision: Decision) -> None:
        """Answer the pending approval (thread-safe); `ask` decisions are questions, answered aside.

        A steer while no edit waits is kept for the next prompt the model gets."""
        if decision.kind == "ask":
            self.ask(decision.text)
        elif decision.kind == "fork":
            self.fork(decision.node, decision.text)
        elif decision.kind == "steer" and self.state.pending_approval is None:
            with self._lock:
                self._steers.append(decision.text)
                self._emit(HumanDecision(decision="steer", text=decision.text))
        else:
            self._decisions.put((decision, "human"))

    def fork(self, node: int, steer: str = "") -> None:
        """The person's pick of the node the next edit starts from (co-pilot and human modes), with
        `steer` in its prompt: a human decision, and the next node a child of `node` in the budget."""
        with self._lock:
            target = self.state.nodes.get(node)
            if self.mode == "auto":
                raise UserError("fork is for co-pilot and human modes; switch with /copilot first")
            if target is None or (node != 0 and target.code_sha is None):
                raise UserError(f"node {node} has no code to fork from")
            self._emit(HumanDecision(node=node, decision="fork", text=steer))
            self._fork_from = node
            if steer:
                self._steers.append(steer)

    def _take_fork(self) -> int | None:
        with self._lock:
            node, self._fork_from = self._fork_from, None
        return node

    def ask(self, question: str) -> None:
        threading.Thread(target=self._answer, args=(question,), name="controller-ask", daemon=True).start()

    # -- the session --------------------------------------------------------------------

    def run(self) -> Score:
        """The whole session, blocking; ends with SessionFinished and returns its score."""
        status, reason = "finished", ""
        try:
            self._emit(Note(text=f"sandbox: {self.sandbox.description}"))
            self._emit(Note(text=describe_checks(self.guard)))
            if self.task.calibration:
                self._emit(_calibration_note(self.task, self.config.time_target))
            if self.task.track != "micro" and not self.task.benchmark:
                self._emit(Note(level="warning", text=f"{self.task.id} is outside the paper's 19 benchmark tasks: "
                                "its hints and times come from the record table, so its score does not "
                                "compare with the paper's"))
            for nid in sorted(self.unscored):
                self._score(nid, self.state.nodes[nid].result)
            if self.mode != "human":
                self._llm()  # a missing key or model file shows now, before the start code runs
            self._start_clock()
            self._run_root_and_first_wave()
            root = self.state.nodes[0]
            if root.status in ("buggy", "invalid", "cancelled") and not self._stopping.is_set():
                status, reason = "failed", f"the start code itself failed: {_why(root.result)}"
            elif not self._stopping.is_set():
                if root.status == "target_missed":
                    self._emit(Note(level="warning", text="the start code missed the target loss on this "
                                    "machine; scores use the catalog's times"))
                self._finish_interrupted()
                self._search()
                self._budget_timer_cancel()
                self._verify() if self._verify_repeats() else self._time_target()
            if self._failed_reason:
                status, reason = "failed", self._failed_reason
            elif self._stopping.is_set():
                status, reason = "stopped", self._stop_reason or "stopped by the person"
        except BaseException as err:
            self._finish("failed", f"{type(err).__name__}: {err}" if not isinstance(err, UserError) else str(err))
            raise
        self._finish(status, reason)
        return score_session(self.state)

    def _start_clock(self) -> None:
        """The --time-budget of the search: what is left of it (earlier stretches count) runs on a timer."""
        budget = self.config.time_budget_s
        if budget is None:
            return
        left = budget - self.state.elapsed_s(time.time())
        self._budget_timer = threading.Timer(max(0.0, left), self._time_is_up)
        self._budget_timer.daemon = True
        self._budget_timer.start()

    def _time_is_up(self) -> None:
        spent = format_duration(self.config.time_budget_s)
        self._stop_reason = f"time budget {spent} spent"
        self._emit(Note(level="warning", text=f"time budget {spent} spent: the search stops here; resume with "
                        f"a larger --time-budget to go on"))
        self.stop()

    def _budget_timer_cancel(self) -> None:
        if self._budget_timer is not None:
            self._budget_timer.cancel()

    def _finish(self, status: str, reason: str) -> None:
        self._budget_timer_cancel()
        if self._workspace is not None:
            self._workspace.close()
        self._emit(SessionFinished(status=status, reason=reason))
        self.store.flush()

    def _run_root_and_first_wave(self) -> None:
        """The start code's run. With --parallel N >= 2 on a new session the first N-1 drafts run beside
        it: a draft needs nothing of the root's result, and a draft is scored only once the root is
        (its checks compare with the root), so the tree is the same as one run after the other."""
        if 0 not in self.state.nodes:
            self._emit(NodeCreated(node=0, parent=None, stage="root", code_sha=self.start_sha))
        wave = self._first_wave()
        if not wave:
            return self._run_root()
        self._emit(Note(text=f"the start code runs beside the first {len(wave)} draft(s) (--parallel "
                        f"{self.config.parallel}); each draft is scored once the start code is"))
        self._root_settled.clear()
        self._together([self._root_beside_drafts] + [lambda a=action: self._agent_node(a) for action in wave])

    def _first_wave(self) -> list[Action]:
        if self.mode == "human" or (self.config.parallel or 1) < 2 or set(self.state.nodes) != {0}:
            return []
        actions = next_actions(get_scaffold(self.config.scaffold), self.state.nodes, budget=self.budget,
                               seed=self.config.seed)
        return [a for a in actions if a.stage == "draft"][: self.config.parallel - 1]

    def _root_beside_drafts(self) -> None:
        try:
            self._run_root()
            root = self.state.nodes[0]
            if root.status in ("buggy", "invalid", "cancelled") and not self._stopping.is_set():
                self._failed_reason = f"the start code itself failed: {_why(root.result)}"
                for cancel in list(self._cancels.values()):
                    cancel.set()
            elif root.time_s is not None:
                self._reference()  # its held-out gap, measured while the drafts still train
        finally:
            self._root_settled.set()

    def _run_root(self) -> None:
        if self.state.nodes[0].status in SETTLED or not self._wait_turn():
            return
        timeout = self.config.timeout_s or self._gpu_timeout() or max(ROOT_TIMEOUT_S, 4 * self.task.start_time_s)
        self._execute(0, self.start_code, self.start_sha, timeout)

    def _search(self) -> None:
        spec = get_scaffold(self.config.scaffold)
        while not self._stopping.is_set() and not self._failed_reason:
            if self.mode == "human":
                if not self._human_node():
                    return
                continue
            with self._lock:
                actions = next_actions(spec, self.state.nodes, budget=self.budget, seed=self.config.seed)
            if not actions:
                return
            self._run_batch(actions)

    def _run_batch(self, actions: list[Action]) -> None:
        if max(1, min(self.config.parallel, len(actions))) == 1:
            for action in actions:
                self._agent_node(action)
            return
        self._together([lambda a=action: self._agent_node(a) for action in actions], workers=self.config.parallel)

    def _together(self, calls: list[Callable[[], None]], workers: int | None = None) -> None:
        """Run `calls` on up to `workers` threads (default: all at once); a failure stops the session."""
        with ThreadPoolExecutor(max_workers=workers or len(calls), thread_name_prefix="controller-node") as pool:
            futures = [pool.submit(call) for call in calls]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                self.stop()
                raise

    def _finish_interrupted(self) -> None:
        """After a resume: run what was applied, review what was proposed, redo what was not."""
        for node in sorted(self.state.nodes.values(), key=lambda n: n.id):
            if node.parent is None or node.status in SETTLED or self._stopping.is_set():
                continue
            if node.id in self.applied:
                if self._wait_turn():
                    self._execute(node.id, self.store.get_blob(node.code_sha), node.code_sha, self._timeout())
            elif node.stage == "human":
                self._emit(HumanDecision(node=node.id, decision="skip", text="interrupted before it ran",
                                         by="policy"))
            elif node.status == "proposed" and node.code_sha:
                action = Action(node.stage, node.parent)
                parent_code = self._code(node.parent)
                proposal = Proposal(self.store.get_blob(node.code_sha), node.code_sha, node.diff, node.plan,
                                    self._prompt(action, parent_code), node.plan or "(the earlier proposal)")
                if self._wait_turn():
                    try:
                        self._review_and_run(node.id, parent_code, proposal)
                    except LLMError as err:  # a steer's revision can call the model
                        self._model_failed(node.id, err)
            else:
                self._agent_node(Action(node.stage, node.parent), node_id=node.id)

    # -- one agent node -----------------------------------------------------------------

    def _agent_node(self, action: Action, node_id: int | None = None) -> None:
        if not self._wait_turn():
            return
        fork = self._take_fork() if node_id is None else None
        if fork is not None:  # the person's pick replaces the scaffold's for this node
            action = Action("improve", fork)
        nid = self._create_node(action.stage, action.parent) if node_id is None else node_id
        parent_code = self._code(action.parent)
        try:
            proposal = self._proposer().propose(nid, self._prompt(action, parent_code), parent_code, action.stage)
            if proposal is None:
                self._invalid(nid, f"the edit still failed after {MAX_REFLECTIONS} reflections")
                return
            self._model_ok()
            self._review_and_run(nid, parent_code, proposal)
        except LLMError as err:
            self._model_failed(nid, err)

    def _model_ok(self) -> None:
        with self._lock:
            self._failures = 0

    def _model_failed(self, nid: int, err: LLMError) -> None:
        self._invalid(nid, f"the model call failed: {err}")
        with self._lock:
            self._failures += 1
            if self._failures >= MAX_MODEL_FAILURES:
                self._failed_reason = f"the model failed {self._failures} times in a row: {err}"

    # -- helpers ----------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        with self._lock:
            self.store.append(self.session_id, event)
            self.state.apply(event)
            for callback in list(self._subscribers):
                try:
                    callback(event)
                except Exception as err:  # a broken view must not end the session
                    self._subscribers.remove(callback)
                    self._emit(Note(level="error", text=f"a viewer failed and was detached: {err!r}"))

    def _wait_turn(self) -> bool:
        """Block while paused (a step() lets one node through); False once stopping or failed."""
        with self._gate:
            while not self._stopping.is_set() and not self._failed_reason:
                if not self._paused:
                    return True
                if self._permits:
                    self._permits -= 1
                    return True
                self._gate.wait(POLL_S)
        return False

    def _create_node(self, stage: str, parent: int) -> int:
        with self._lock:
            nid = max(self.state.nodes, default=-1) + 1
            self._emit(NodeCreated(node=nid, parent=parent, stage=stage))
        return nid

    def _code(self, node_id: int) -> str:
        sha = self.state.nodes[node_id].code_sha
        return self.start_code if node_id == 0 or sha is None else self.store.get_blob(sha)

    def _context(self) -> PromptContext:
        root = self.state.nodes.get(0)
        return PromptContext(self.task, self.task.hints(self.config.hints), root.time_s if root else None)

    def _prompt(self, action: Action, parent_code: str) -> list[dict]:
        with self._lock:
            nodes = dict(self.state.nodes)
            log_tail = list(self.state.logs.get(action.parent, []))[-20:]
            steers, self._steers = self._steers, []
        if action.stage == "draft":
            messages = draft_messages(self._context(), parent_code, nodes)
        elif action.stage == "debug":
            messages = debug_messages(self._context(), parent_code, nodes, action.parent, log_tail)
        else:
            messages = improve_messages(self._context(), parent_code, nodes, action.parent)
        return with_steering(messages, steers)

    def _llm(self) -> LLMClient:
        with self._client_lock:
            if self._client is None:
                client = make_client(self.config.model, task=self.task, api_base=self.config.api_base,
                                     db_path=self.store.path, replies_used=self.replies_used,
                                     timeout_s=self.config.llm_timeout_s)
                client.on_event = self._emit
                client.check_environment()
                self._client = client
            return self._client

    def _proposer(self) -> Proposer:
        return Proposer(self._llm(), self.start_code, self._emit, self.store.put_blob, ran=self._ran_codes)

    def _ran_codes(self) -> list[tuple[int, str]]:
        """(node, code) of the nodes that have run or are running: a candidate may not repeat one."""
        with self._lock:
            ran = [(nid, node.code_sha) for nid, node in self.state.nodes.items()
                   if node.code_sha and (node.result is not None or node.status == "running")]
        return [(nid, self.store.get_blob(sha) or "") for nid, sha in ran]

    def _answer(self, question: str) -> None:
        self._emit(HumanDecision(decision="ask", text=question))
        with self._lock:
            best = best_valid(self.state.nodes)
            nodes = dict(self.state.nodes)
        code = self._code(best.id if best is not None else 0)
        try:
            self._llm().complete(question_messages(self._context(), code, nodes, question), purpose="ask")
        except (LLMError, UserError) as err:
            self._emit(Note(level="error", text=f"no answer: {err}"))


def _resumed_config(stored: SessionConfig, events: list[Event], given: SessionConfig) -> SessionConfig:
    """The stored config with the mode and parallelism the session last ran with, unless the person
    gives others now (a co-pilot or human session must not come back in the CLI's default mode)."""
    for event in events:
        if event.kind == "session_resumed":
            stored = replace(stored, mode=event.mode, parallel=event.parallel, time_budget_s=event.time_budget_s)
    return replace(stored, mode=given.mode or stored.mode,
                   parallel=stored.parallel if given.parallel is None else given.parallel,
                   time_budget_s=given.time_budget_s or stored.time_budget_s)


def _check_verifiable(state: SessionState) -> None:
    """What `verify` needs of a session, said before it is reopened."""
    sid = state.session_id
    if state.finished is None:
        raise UserError(f"session {sid} has not ended; resume it first (speedrun-tui run --resume {sid})")
    if state.best_node is None:
        raise UserError(f"session {sid} has no valid node to verify")


def _check_root_ran(state: SessionState, task: Task) -> None:
    root = state.nodes.get(0)
    if root is None or not start_ran(root.time_s, root.status, task.target_rule):
        raise UserError(f"session {state.session_id}: its start code has no valid time to compare with")


def _validate(config: SessionConfig) -> None:
    get_scaffold(config.scaffold)
    if config.hints not in HINT_REGIMES:
        raise UserError(f"unknown hint regime {config.hints!r}; choose one of {', '.join(HINT_REGIMES)}")
    if config.mode not in MODES:
        raise UserError(f"unknown mode {config.mode!r}; choose one of {', '.join(MODES)}")
    if config.model == HUMAN_MODEL and config.mode != "human":
        raise UserError(f"--mode {config.mode} needs a model, and this session's is `human` (a person alone); "
                        "use --mode human")
    if not config.llm_timeout_s > 0:
        raise UserError(f"--llm-timeout must be a positive number of seconds, got {config.llm_timeout_s}")
    if config.parallel < 1:
        raise UserError(f"--parallel must be at least 1, got {config.parallel}")
    if config.verify_repeats is not None and config.verify_repeats < 0:
        raise UserError(f"--verify-repeats must be 0 or more, got {config.verify_repeats}")
    if config.max_nodes is not None and config.max_nodes < 1:
        raise UserError(f"--max-nodes must be at least 1, got {config.max_nodes}")
    from runner.backends import BACKENDS, runner_for

    if config.backend not in BACKENDS:
        raise UserError(f"unknown backend {config.backend!r}; choose one of {', '.join(BACKENDS)}")
    runner_for(config.backend, config.slurm_config)  # a bad Slurm config fails before the session starts


def _task_setup(config: SessionConfig, task: Task | None, run_env: dict[str, str] | None):
    if task is None:
        from records.catalog import get_task

        task = get_task(config.task_id)
    if not task.available:
        raise UserError(f"task {task.id} is not available: {task.unavailable_reason}")
    if run_env is None:
        from records.catalog import task_env

        run_env = task_env(task, seed=config.seed)
    return task, run_env


def _calibration_note(task: Task, timed: bool) -> Note:
    """Which calibration the task's times come from; a warning when it was made on another kind of CPU."""
    if not task.provisional:
        return Note(text=f"times: calibration {task.calibration}, made on this kind of CPU")
    later = ("until the next record is timed here at the end" if timed and task.target_script
             else "(calibrate this machine with `speedrun-tui calibrate micro`)")
    return Note(level="warning", text=f"times: calibration {task.calibration}, made on another kind of CPU; "
                f"the score is provisional {later}")


def _fail_closed(config: SessionConfig, sandbox) -> None:
    """A model's candidates never run unconfined by default: where bubblewrap is unusable, `auto`
    refuses them unless the person asked for rlimits or off by name (the session records which).
    The built-in reference model's and a person's own code keep the fallback."""
    trusted = config.model in ("reference", HUMAN_MODEL) or config.mode == "human"
    if config.sandbox != "auto" or sandbox.mode == "bwrap" or trusted or config.backend != "local":
        return
    from runner.sandbox import bwrap_problem

    raise UserError(f"bubblewrap is not usable here ({bwrap_problem()}), so {config.model}'s candidates would run "
                    "with your permissions; install it (apt-get install bubblewrap) or pass --sandbox rlimits "
                    "(or off) to accept that risk")
