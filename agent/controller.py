"""Controller: one session's step loop, as a headless state machine.

It never touches a screen. Every step is an Event, appended to the Store and then
handed to each subscriber (the TUI, the REPL, the headless printer) in order, from
the controller's own threads. The methods a person drives (step, pause, resume,
stop, set_mode, decide, ask, cancel_run) never block and never take the event lock,
so a view may call them from its own thread at any time, even from inside a callback.

The session's state is the reducer's (sessions.state.SessionState) over the events
emitted so far, so a resumed session continues from exactly what the store holds.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Callable

from agent.config import HUMAN_MODEL, MODES, SessionConfig
from agent.decisions import Decision
from agent.editblocks import unified_diff
from agent.harness import Reference, RunGuard, check_claim, describe_checks
from agent.retiming import RetimeRun, owed_rounds, verdict
from agent.llm import LLMClient, LLMError
from agent.models import REPLAYED_PURPOSES, default_budget, make_client, model_label
from agent.prompts import (PromptContext, debug_messages, draft_messages, improve_messages,
                           question_messages, revision, with_steering)
from agent.proposals import MAX_REFLECTIONS, Proposal, Proposer
from agent.rules import check_rules, same_program
from records.integrity import judge_run
from agent.scaffolds import BENCHMARK_BUDGET, Action, best_valid, counted, get_scaffold, next_actions
from records.task import HINT_REGIMES, Task
from runner.result import RunResult
from sessions.events import (ApprovalRequested, EditApplied, EditFailed, EditProposed, Event, HumanDecision,
                             NodeCreated, NodeScored, Note, RunFinished, SessionFinished, SessionResumed,
                             Retimed, SessionStarted, TargetTimed)
from sessions.scoring import Score, score_session
from sessions.state import SessionState
from sessions.store import Store
from speedrun_tui.errors import UserError

MAX_MODEL_FAILURES = 3  # nodes in a row whose model call failed for good: the session stops
SETTLED = ("valid", "buggy", "target_missed", "invalid", "rejected", "cancelled")
POLL_S = 0.2
DEFAULT_VERIFY_REPEATS = 3  # paired re-timing rounds on micro tasks (sessions/verification.py)
ROOT_TIMEOUT_S = 3600.0  # the start code's run, unless --timeout: generous, since a loaded machine is slow


class Controller:
    def __init__(self, config: SessionConfig, store: Store, *, session_id: str | None = None,
                 task: Task | None = None, run_env: dict[str, str] | None = None):
        """Open a new session, or resume `session_id`. `task`/`run_env` stand in for the catalog's
        (a task of your own); both default to records.catalog's."""
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
        if session_id:
            self._resume(config, session_id, task, run_env)
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
                run_env: dict[str, str] | None) -> None:
        session_id = self.store.resolve_session(session_id)
        status = self.store.session_status(session_id)
        if status == "finished":
            raise UserError(f"session {session_id} has finished; there is nothing to resume")
        if status == "running":
            raise UserError(f"session {session_id} is still being written by another process")
        state = SessionState(session_id)
        events = self.store.read_events(session_id)
        for event in events:
            state.apply(event)
        if state.started is None:
            raise UserError(f"session {session_id} has no start event; it cannot be resumed")
        stored = SessionConfig.from_json(state.started.config)
        if config.task_id and config.task_id != stored.task_id:
            raise UserError(f"session {session_id} is a session of {stored.task_id}, not {config.task_id}")
        stored = _resumed_config(stored, events, config)
        _validate(stored)
        self.config = stored
        self.task, self.run_env = _task_setup(stored, task, run_env)
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
        self.store.resume_session(session_id)
        self._emit(SessionResumed(mode=stored.mode, parallel=stored.parallel))

    def _guard_runs(self) -> None:
        """The sandbox every run gets; refused for model-written candidates when it is not bubblewrap."""
        from runner.sandbox import resolve

        self.sandbox = resolve(self.config.sandbox)
        _fail_closed(self.config, self.sandbox)

    @property
    def guard(self) -> RunGuard:
        """How this session's runs are confined and checked (agent/harness.py)."""
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
        elif decision.kind == "steer" and self.state.pending_approval is None:
            with self._lock:
                self._steers.append(decision.text)
                self._emit(HumanDecision(decision="steer", text=decision.text))
        else:
            self._decisions.put((decision, "human"))

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
            for nid in sorted(self.unscored):
                self._score(nid, self.state.nodes[nid].result)
            if self.mode != "human":
                self._llm()  # a missing key or model file shows now, before the start code runs
            self._run_root()
            root = self.state.nodes[0]
            if root.status in ("buggy", "invalid", "cancelled") and not self._stopping.is_set():
                status, reason = "failed", f"the start code itself failed: {_why(root.result)}"
            elif not self._stopping.is_set():
                if root.status == "target_missed":
                    self._emit(Note(level="warning", text="the start code missed the target loss on this "
                                    "machine; scores use the catalog's times"))
                self._finish_interrupted()
                self._search()
                self._verify() if self._verify_repeats() else self._time_target()
            if self._failed_reason:
                status, reason = "failed", self._failed_reason
            elif self._stopping.is_set():
                status, reason = "stopped", "stopped by the person"
        except BaseException as err:
            self._finish("failed", f"{type(err).__name__}: {err}" if not isinstance(err, UserError) else str(err))
            raise
        self._finish(status, reason)
        return score_session(self.state)

    def _finish(self, status: str, reason: str) -> None:
        if self._workspace is not None:
            self._workspace.close()
        self._emit(SessionFinished(status=status, reason=reason))
        self.store.flush()

    def _run_root(self) -> None:
        root = self.state.nodes.get(0)
        if root is None:
            self._emit(NodeCreated(node=0, parent=None, stage="root", code_sha=self.start_sha))
        elif root.status in SETTLED:
            return
        if self._wait_turn():
            timeout = self.config.timeout_s or self._gpu_timeout() or max(ROOT_TIMEOUT_S, 4 * self.task.start_time_s)
            self._execute(0, self.start_code, self.start_sha, timeout)

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

    def _verify(self) -> None:
        """Paired re-timing (sessions/verification.py): round r runs the start code, the best node and
        the next record's code on a fresh seed, side by side up to --parallel; a stopped phase resumes
        with the runs it still owes, and ends with the Verified event, the headline score."""
        if self.state.verified is not None or self.state.nodes[0].time_s is None or self._stopping.is_set():
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
                with ThreadPoolExecutor(max_workers=self.config.parallel) as pool:
                    list(pool.map(lambda run: self._retime(run, best), owed))
                if self._stopping.is_set():
                    return
        self._emit(verdict(self.state, best_node=best, timed_reference=script is not None,
                           reference_is_best=reference_is_best))

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
        self._emit(Retimed(round=run.round, role=run.role, seed=run.seed, time_s=time_s, status=status,
                           reason=reason, best_node=best if run.role == "best" else None))

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
        workers = max(1, min(self.config.parallel, len(actions)))
        if workers == 1:
            for action in actions:
                self._agent_node(action)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="controller-node") as pool:
            futures = [pool.submit(self._agent_node, action) for action in actions]
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

    # -- one human node -------------------------------------------------------------------

    def _human_node(self) -> bool:
        """Wait for the person to save train.py and ask for a run; False when the session should end."""
        if len(counted(self.state.nodes)) >= self.budget:
            return False
        workspace = self._open_workspace()
        base = self._human_base
        base_code = self._code(base)
        nid: int | None = None
        shown = base_code
        attempt = 0
        first = True  # a resumed session's workspace may hold edits saved before
        while not self._decisions.empty():  # answers given before this node existed are stale
            self._decisions.get_nowait()
        while not self._stopping.is_set():
            if self.mode != "human":
                if nid is not None:
                    self._emit(HumanDecision(node=nid, decision="skip", text="left human mode", by="policy"))
                return True
            saved = workspace.saved.wait(POLL_S)
            workspace.saved.clear()  # before reading: a save after this point raises it again
            code = workspace.read() if saved or first else ""
            first = False
            if code and code != shown:
                shown = code
                nid = self._create_node("human", base) if nid is None else nid
                attempt += 1
                code_sha = self.store.put_blob(code)
                diff = unified_diff(base_code, code)
                self._emit(EditProposed(node=nid, parent_sha=self.store.put_blob(base_code), code_sha=code_sha,
                                        diff=diff, attempt=attempt))
                self._emit(ApprovalRequested(node=nid, code_sha=code_sha, diff=diff))
            try:
                decision, by = self._decisions.get_nowait()
            except queue.Empty:
                continue
            if nid is None:
                self._emit(Note(text=f"nothing to run yet: save {workspace.path} first"))
                continue
            self._emit(HumanDecision(node=nid, decision=decision.kind, text=decision.text, by=by))
            if decision.kind in ("skip", "reject"):
                return True
            if decision.kind == "edit":
                workspace.write(decision.code)
                workspace.saved.set()
            elif decision.kind in ("approve", "approve_all") and self._run_human(nid, shown, base_code):
                self._human_base = nid
                return True
            elif decision.kind == "steer":
                self._emit(Note(text="steering needs the model: switch to copilot mode"))
        return False

    def _run_human(self, nid: int, code: str, base_code: str) -> bool:
        violations = check_rules(self.start_code, code)  # not through the model: a human session may have none
        if violations:
            self._emit(EditFailed(node=nid, reason="The edit breaks the rules: " + "; ".join(violations),
                                  rule_violation=True))
            return False
        if not self._wait_turn():
            return False
        code_sha = self.store.put_blob(code)
        self._emit(EditApplied(node=nid, code_sha=code_sha, diff=unified_diff(base_code, code)))
        self.applied.add(nid)
        self._execute(nid, code, code_sha, self._timeout())
        return True

    def _open_workspace(self):
        if self._workspace is None:
            from agent.workspace import Workspace
            from speedrun_tui.home import home_dir

            best = best_valid(self.state.nodes)
            self._human_base = best.id if best is not None else 0
            folder = home_dir() / "workspaces" / self.session_id
            self._workspace = Workspace(folder, self._code(self._human_base))
            self._emit(Note(text=f"edit {self._workspace.path} in your editor; each save shows its diff, "
                            "approve to run it"))
        return self._workspace

    @property
    def workspace_path(self) -> Path | None:
        """Human mode's train.py, once the session is in human mode."""
        return self._workspace.path if self._workspace is not None else None

    # -- running and scoring ------------------------------------------------------------

    def _execute(self, nid: int, code: str, code_sha: str, timeout_s: float) -> None:
        result = self._run(nid, code, code_sha, timeout_s)
        if result.status == "cancelled" and self._stopping.is_set():
            return  # left unscored: a resumed session runs it again
        self._emit(RunFinished(node=nid, result=result.to_json()))
        self._score(nid, result)

    def _run(self, nid: int | None, code: str, code_sha: str, timeout_s: float, *, seed: int | None = None,
             key=None) -> RunResult:
        """One run under the session's env (another seed if given), sandbox and backend, which stop() and
        cancel_run() interrupt; `key` tells apart runs that are no node (default: the node id)."""
        from agent.noderun import run_code

        cancel = threading.Event()
        key = nid if key is None else key
        self._cancels[key] = cancel
        env = self.run_env if seed is None else {**self.run_env, "SPEEDRUN_SEED": str(seed)}
        if self._stopping.is_set():  # stop() came before this run was registered
            cancel.set()
        guard = self.guard
        try:
            return run_code(code, node=nid, code_sha=code_sha, session_id=self.session_id, task=self.task,
                            env=env, timeout_s=timeout_s, emit=self._emit, cancel=cancel,
                            backend=self.config.backend, slurm_config=self.config.slurm_config,
                            sandbox=self.config.sandbox, hide=guard.hide,
                            save_model=guard.saves_model and nid is not None, clock=guard.clock)
        finally:
            self._cancels.pop(key, None)

    def _score(self, nid: int, result: RunResult) -> None:
        if result.valid and nid != 0 and self._would_improve(result) and not self._checks_pass(nid, result):
            return
        time_s = result.time_to_target_ms / 1000.0 if result.valid else None
        with self._lock:
            best = self.state.best_time_s
            is_best = time_s is not None and (best is None or time_s < best)
            self._emit(NodeScored(node=nid, status=_status(result), time_s=time_s,
                                  val_loss=result.final_val_loss, is_best=is_best, reason=result.reason))

    def _would_improve(self, result: RunResult) -> bool:
        """Faster than the start code: every such node is checked, not only the would-be best."""
        root = self.state.nodes.get(0)
        return root is None or root.time_s is None or result.time_to_target_ms / 1000.0 < root.time_s

    def _checks_pass(self, nid: int, result: RunResult) -> bool:
        """The harness's checks of a claim (agent/harness.py); a failed one makes the node invalid."""
        self._emit(Note(node=nid, text="harness checks: its saved model, its clock, a run under a fresh seed"))
        verdict = check_claim(self.guard, self._code(nid), result, node=nid, timeout_s=self._timeout(),
                              reference=self._reference())
        for note in verdict.notes:
            self._emit(Note(node=nid, level="warning", text=note))
        if not verdict.ok:
            self._emit(NodeScored(node=nid, status="invalid", reason=verdict.reason))
        else:
            self._emit(Note(node=nid, text=verdict.reason))
        return verdict.ok

    def _reference(self) -> Reference:
        """The start code's clock and held-out gap, measured once (its model on first need)."""
        root = self.state.nodes.get(0)
        if root is None or root.result is None or not root.result.valid:
            return Reference()
        with self._root_gap_lock:  # not the event lock: measuring takes seconds while other runs log
            if self._root_gap is None:
                model = self.guard.measure(root.result)
                ok = model is not None and not model.error and model.test_loss is not None
                self._root_gap = (model.test_loss - model.val_loss) if ok else float("nan")
        gap = self._root_gap
        return Reference(clock=root.result.clock, heldout_gap=None if gap != gap else gap)

    def _gpu_timeout(self) -> float | None:
        """GPU records get a fixed per-run limit (record 1 needs ~50 min on 8xH100)."""
        from runner.torchrun import NANOGPT_TIMEOUT_S

        return NANOGPT_TIMEOUT_S if self.task.launcher == "torchrun" else None

    def _timeout(self) -> float:
        fixed = self.config.timeout_s or self._gpu_timeout()
        if fixed:
            return fixed
        root = self.state.nodes.get(0)
        measured = root.result.wall_s if root is not None and root.result is not None else 0.0
        return max(120.0, 3 * measured, 2 * self.task.start_time_s)

    def _invalid(self, nid: int, reason: str) -> None:
        self._emit(NodeScored(node=nid, status="invalid", reason=reason))

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
            stored = replace(stored, mode=event.mode, parallel=event.parallel)
    return replace(stored, mode=given.mode or stored.mode,
                   parallel=stored.parallel if given.parallel is None else given.parallel)


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


def _status(result: RunResult) -> str:
    """A finished run's standing, as NodeScored and TargetTimed record it."""
    if result.valid:
        return "valid"
    if result.buggy:
        return "buggy"
    return "cancelled" if result.status == "cancelled" else "target_missed"


def _why(result: RunResult | None) -> str:
    if result is None:
        return "it did not run"
    return f"{result.status}" + (f" ({result.reason})" if result.reason else "")


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
