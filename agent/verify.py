"""`speedrun-tui verify`: re-run a session's best node K times and report the spread of its time.

That is the check a leaderboard would apply: one lucky run proves little when
seed-to-seed noise is ~15 %. Repeat i runs with seed (session seed + 1 + i), a seed the
session never ran, in the sandbox asked for, and each claim gets the harness's checks
(agent/harness.py); a repeat whose validation curve equals the previous one's ignores
its seed and is invalid. The summary is stored
with the session as a Note when nobody else is writing it.
"""

from __future__ import annotations

import statistics
import sys
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from records.integrity import seed_failure
from records.task import Task
from runner.result import RunResult
from speedrun_tui.errors import UserError


@dataclass(frozen=True)
class Repeat:
    seed: int
    status: str  # valid, invalid (a harness check refused it), or the run's status
    time_s: float | None
    wall_s: float
    reason: str


@dataclass(frozen=True)
class Verification:
    session: str
    task: str
    node: int
    recorded_time_s: float | None
    repeats: list[Repeat]

    @property
    def times(self) -> list[float]:
        return [r.time_s for r in self.repeats if r.status == "valid" and r.time_s is not None]

    @property
    def mean_s(self) -> float | None:
        return statistics.fmean(self.times) if self.times else None

    @property
    def std_s(self) -> float | None:
        return statistics.stdev(self.times) if len(self.times) > 1 else None

    @property
    def all_valid(self) -> bool:
        return len(self.times) == len(self.repeats)

    def summary(self) -> str:
        """One line: how many runs reached the target, mean ± std, min..max."""
        reached = f"{len(self.times)}/{len(self.repeats)} runs reached the target"
        if not self.times:
            return f"verify node {self.node}: {reached}"
        spread = f" ± {self.std_s:.3f}" if self.std_s is not None else ""
        return (f"verify node {self.node}: {reached}; time {self.mean_s:.3f} s{spread} "
                f"(min {min(self.times):.3f}, max {max(self.times):.3f})")

    def to_json(self) -> dict:
        return {"session": self.session, "task": self.task, "node": self.node,
                "recorded_time_s": self.recorded_time_s, "mean_s": self.mean_s, "std_s": self.std_s,
                "min_s": min(self.times, default=None), "max_s": max(self.times, default=None),
                "valid": len(self.times), "repeats": [asdict(r) for r in self.repeats]}


def verify_session(db_path: Path, session: str, *, repeats: int = 3, sandbox: str | None = None,
                   task: Task | None = None, run_env: dict[str, str] | None = None,
                   on_repeat: Callable[[int, Repeat], None] | None = None) -> Verification:
    """Run the best node of `session` `repeats` times. `task`/`run_env` stand in for the catalog's."""
    from agent.config import SessionConfig
    from sessions.replay import load_state
    from sessions.store import Store

    if repeats < 1:
        raise UserError(f"--repeats must be at least 1, got {repeats}")
    with Store(db_path, readonly=True) as store:
        session_id = store.resolve_session(session)
        state = load_state(store, session_id, with_logs=False)
        if state.best_node is None:
            raise UserError(f"session {session_id} has no valid node to verify")
        node = state.nodes[state.best_node]
        code = store.get_blob(node.code_sha) if node.code_sha else None
    config = SessionConfig.from_json(state.started.config)
    task, base_env = _task_and_env(config, task, run_env)
    code = code if code is not None else task.start_code()
    mode = sandbox or config.sandbox
    from runner.sandbox import resolve

    resolve(mode)  # an unusable sandbox fails before the first run
    timeout_s = config.timeout_s or max(120.0, 3 * (node.result.wall_s if node.result else 0.0))
    done, earlier = [], None
    for i in range(repeats):
        seed = config.seed + 1 + i  # never the session's own seed
        repeat, result = _run_once(code, task, {**base_env, "SPEEDRUN_SEED": str(seed)}, seed=seed,
                                   session_id=session_id, node=node.id, index=i, timeout_s=timeout_s, sandbox=mode,
                                   db_path=db_path)
        ignored = seed_failure(earlier[1], result, (earlier[0], seed)) if earlier and repeat.status == "valid" else ""
        if ignored:
            repeat = replace(repeat, status="invalid", reason=ignored)
        earlier = (seed, result) if result.valid else earlier
        done.append(repeat)
        if on_repeat is not None:
            on_repeat(i, repeat)
    verification = Verification(session_id, config.task_id, node.id, node.time_s, done)
    _record(db_path, verification)
    return verification


def _task_and_env(config, task: Task | None, run_env: dict[str, str] | None) -> tuple[Task, dict[str, str]]:
    if task is None:
        from records.catalog import get_task

        task = get_task(config.task_id)
    if run_env is None:
        from records.catalog import task_env

        run_env = task_env(task, seed=config.seed)
    return task, run_env


def _run_once(code: str, task: Task, env: dict[str, str], *, seed: int, session_id: str, node: int, index: int,
              timeout_s: float, sandbox: str, db_path: Path) -> tuple[Repeat, RunResult]:
    """One repeat under a seed the session never ran, with the harness's checks of its claim
    (agent/harness.py; the seeds differ between repeats, so no extra seed run is needed)."""
    from agent.harness import RunGuard, check_claim
    from agent.noderun import run_code

    guard = RunGuard(task=task, env=env, sandbox=sandbox, hide=[str(db_path)], session_id=f"{session_id}-verify{index}")
    result = run_code(code, node=node, code_sha="", session_id=guard.session_id, task=task, env=env,
                      timeout_s=timeout_s, emit=lambda event: None, cancel=threading.Event(), sandbox=sandbox,
                      hide=guard.hide, save_model=guard.saves_model, clock=guard.clock)
    time_s = result.time_to_target_ms / 1000.0 if result.valid else None
    if result.valid:
        verdict = check_claim(guard, code, result, node=node, timeout_s=timeout_s, fresh_seed=False)
        return Repeat(seed, "valid" if verdict.ok else "invalid", time_s, result.wall_s, verdict.reason), result
    return Repeat(seed, result.status, time_s, result.wall_s, result.reason), result


def _record(db_path: Path, verification: Verification) -> None:
    """Keep the summary with the session, unless another process is writing it right now."""
    from sessions.events import Note
    from sessions.store import Store

    try:
        with Store(db_path) as store:
            store.annotate(verification.session, Note(node=verification.node, text=verification.summary()))
    except UserError as err:
        print(f"speedrun-tui: note: the result was not stored with the session ({err})", file=sys.stderr)


def verify_command(args) -> int:
    import json

    from rich.console import Console

    from speedrun_tui.home import resolve_db

    err = Console(stderr=True, highlight=False)

    def progress(i: int, repeat: Repeat) -> None:
        shown = f"{repeat.time_s:.3f} s to target" if repeat.status == "valid" else repeat.status
        err.print(f"run {i + 1}/{args.repeats} (seed {repeat.seed}): {shown} · wall {repeat.wall_s:.1f} s"
                  + ("" if repeat.status == "valid" else f" · {repeat.reason}"))

    verification = verify_session(resolve_db(args), args.session, repeats=args.repeats, sandbox=args.sandbox,
                                  on_repeat=progress)
    if args.json:
        print(json.dumps(verification.to_json()))
    else:
        recorded = verification.recorded_time_s
        print(verification.summary() + (f"; the session recorded {recorded:.3f} s" if recorded else ""))
    return 0 if verification.all_valid else 1
