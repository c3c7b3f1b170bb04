"""Running a node's code and scoring it: the sandboxed run, the harness's checks of a claim, the timeouts."""

from __future__ import annotations

import threading

from agent.harness import Reference, check_claim
from runner.result import RunResult
from sessions.events import NodeScored, Note, RunFinished

ROOT_TIMEOUT_S = 3600.0  # the start code's run, unless --timeout: generous, since a loaded machine is slow

class NodeRuns:
    """The Controller's runs and scores (a mixin: the controller sequences, this runs and judges)."""

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
        if self._stopping.is_set() or self._failed_reason:  # stop() or a failure came before it registered
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
        if nid != 0:
            self._root_settled.wait()
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
        if root is None or root.result is None:  # a draft beside the root: no measured yardstick yet
            return max(ROOT_TIMEOUT_S, 4 * self.task.start_time_s)
        return max(120.0, 3 * root.result.wall_s, 2 * self.task.start_time_s)

    def _invalid(self, nid: int, reason: str) -> None:
        self._emit(NodeScored(node=nid, status="invalid", reason=reason))


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
