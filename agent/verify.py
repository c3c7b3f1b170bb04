"""`speedrun-tui verify`: more paired re-timing rounds for a session that has ended.

A session verifies itself when its search ends (--verify-repeats); this adds K rounds to
what it has, or runs the rounds a killed verification still owes. Each round times the
start code, the best node and the next record's code side by side on a seed the search
never ran (agent/retiming.py), each claim gets the harness's checks, and every run is a
Retimed event of the session itself, so replay shows the new phase. The new Verified
event is the session's headline score from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from records.task import Task
from sessions.events import Event, Retimed, Verified
from speedrun_tui.errors import UserError


@dataclass(frozen=True)
class Reverified:
    session: str
    task: str
    verified: Verified
    runs: list[Retimed]  # the runs this call made

    @property
    def all_valid(self) -> bool:
        return all(run.status == "valid" for run in self.runs)

    def to_json(self) -> dict:
        v = self.verified
        return {"session": self.session, "task": self.task, "best_node": v.best_node, "fsr": v.fsr,
                "low": v.low, "high": v.high, "rounds": v.rounds, "speedup_s": v.speedup_s,
                "stderr_s": v.stderr_s, "improved": v.improved, "reference_source": v.reference_source,
                "runs": [{"round": r.round, "role": r.role, "seed": r.seed, "time_s": r.time_s,
                          "status": r.status, "reason": r.reason} for r in self.runs]}


def verify_session(db_path: Path, session: str, *, rounds: int = 3, sandbox: str | None = None,
                   parallel: int | None = None, oversubscribe: bool = False, task: Task | None = None,
                   run_env: dict[str, str] | None = None,
                   on_event: Callable[[Event], None] | None = None) -> Reverified:
    """Add `rounds` paired rounds to `session`. `task`/`run_env` stand in for the catalog's."""
    from agent.config import SessionConfig
    from agent.controller import Controller
    from sessions.store import Store

    if rounds < 1:
        raise UserError(f"--repeats must be at least 1, got {rounds}")
    runs: list[Retimed] = []
    with Store(db_path) as store:
        given = SessionConfig(task_id="", sandbox=sandbox or "", parallel=parallel, oversubscribe=oversubscribe)
        controller = Controller(given, store, session_id=session, task=task, run_env=run_env, reopen=True)
        controller.subscribe(lambda event: runs.append(event) if isinstance(event, Retimed) else None)
        if on_event is not None:
            controller.subscribe(on_event)
        controller.reverify(rounds)
        verified = controller.state.verified
    if verified is None:
        raise UserError(f"session {controller.session_id}: verification stopped before its verdict; "
                        f"run verify again to finish the rounds it owes")
    return Reverified(controller.session_id, controller.config.task_id, verified, runs)


def verify_command(args) -> int:
    import json

    from rich.console import Console

    from sessions.report import verified_text
    from speedrun_tui.home import resolve_db

    err = Console(stderr=True, highlight=False)

    def progress(event: Event) -> None:
        if isinstance(event, Retimed):
            shown = f"{event.time_s:.2f} s to target" if event.time_s is not None else f"{event.status}: {event.reason}"
            err.print(f"round {event.round} · {event.role} (seed {event.seed}): {shown}")

    result = verify_session(resolve_db(args), args.session, rounds=args.repeats, sandbox=args.sandbox,
                            parallel=args.parallel, oversubscribe=args.oversubscribe, on_event=progress)
    v = result.verified
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        speedup = (f"; node {v.best_node} faster than the start code by {v.speedup_s:.2f} s"
                   + (f" ± {v.stderr_s:.2f}" if v.stderr_s is not None else "")) if v.speedup_s is not None else ""
        print(f"session {result.session}: verified {verified_text(v.fsr, v.low, v.high, v.rounds, v.improved)}"
              + speedup)
    return 0 if result.all_valid else 1
