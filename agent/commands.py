"""CLI subcommands of this area: `run` (a session) and `judge` (the benchmark's LLM judge).

Imports stay light: argparse and stdlib here; handlers import what they need.
"""

from __future__ import annotations

import argparse
import importlib

from speedrun_tui.home import add_db_argument

# The interface `run` opens without --headless/--plain: the Textual app.
DEFAULT_UI = "tui"
SCAFFOLD_NAMES = ("flat", "tree", "forest", "aide", "multi-aide")
SANDBOX_MODES = ("auto", "bwrap", "rlimits", "off")  # runner/sandbox.py
HINT_NAMES = ("none", "pseudo", "text", "paper", "pseudo+text", "all")


def register(sub) -> None:
    """Add this area's subcommands to the `speedrun-tui` parser."""
    run = sub.add_parser(
        "run", help="run a session on a task: an agent, you, or both",
        description="Run a session: the start code is timed first (node 0), then the agent (or you) "
        "searches for a faster train.py. Models: any litellm model string (anthropic/..., openai/..., "
        "ollama_chat/..., hosted_vllm/...), or the built-ins `reference` (the task's own next record: the "
        "upper bound), `scripted:PATH` (canned replies) and `replay:SESSION` (a recorded session's replies).")
    run.add_argument("task", metavar="TASK", nargs="?",
                     help="task id, e.g. micro/1 or nanogpt/4 (see `speedrun-tui tasks`); not needed with --resume")
    run.add_argument("--model", default="reference",
                     help="litellm model string or built-in (default: reference; in human mode: human, no model)")
    run.add_argument("--api-base", metavar="URL", help="endpoint of a self-hosted or OpenAI-compatible server")
    run.add_argument("--scaffold", default="flat", choices=SCAFFOLD_NAMES, help="search policy (default: flat)")
    run.add_argument("--hints", default="none", choices=HINT_NAMES, help="hint regime (default: none)")
    # No defaults here for --mode and --parallel: a resumed session keeps its own unless they are given.
    run.add_argument("--mode", choices=("auto", "copilot", "human"),
                     help="who decides (default: auto; a resumed session keeps its mode)")
    run.add_argument("--max-nodes", type=int, metavar="N",
                     help="agent nodes after the root (default: 20, or 1 for the reference model)")
    run.add_argument("--parallel", type=int, metavar="N",
                     help="nodes run at once (default: 1; a resumed session keeps its own)")
    run.add_argument("--oversubscribe", action="store_true",
                     help="allow --parallel x the task's threads per run above this machine's cores "
                     "(refused by default: the runs slow each other and their times are suspect)")
    run.add_argument("--time-budget", metavar="DURATION",
                     help="wall-clock budget of the search (e.g. 30m, 2h): when spent the session stops, resumable "
                     "with a larger budget; a stop-to-resume gap does not count (default: none)")
    run.add_argument("--seed", type=int, default=0, help="seed of the training runs and the scaffold's choices")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="per run (default: from the start code's time)")
    run.add_argument("--resume", metavar="SESSION", help="continue an unfinished session (TASK may be left out)")
    run.add_argument("--llm-timeout", type=float, default=600.0, metavar="SECONDS",
                     help="one model call before it is retried (default: 600)")
    run.add_argument("--backend", choices=("local", "slurm"), default="local",
                     help="where runs go: subprocesses here, or one Slurm job per node (default: local)")
    run.add_argument("--slurm-config", metavar="PATH", help="TOML of Slurm options: partition, account, "
                     "gpus_per_node, time_limit_min, extra_sbatch, setup (default: $SPEEDRUN_TUI_HOME/slurm.toml)")
    run.add_argument("--sandbox", choices=SANDBOX_MODES, default="auto",
                     help="how candidate runs are confined: bwrap (bubblewrap: read-only filesystem, no network, "
                     "home and DB hidden), rlimits (resource limits only), off; auto = bwrap when it works here, "
                     "else rlimits (default: auto)")
    run.add_argument("--no-time-target", dest="time_target", action="store_false",
                     help="skip timing the next record's code at the end; the score then uses the calibrated ratio")
    run.add_argument("--verify-repeats", type=int, metavar="K",
                     help="after the search, re-time the start code, the best node and the next record's code, "
                     "interleaved, K times on fresh seeds: the verified FSR with its 95%% interval "
                     "(default: 3 on micro tasks, 0 elsewhere; 0 skips it)")
    ui = run.add_mutually_exclusive_group()
    ui.add_argument("--headless", dest="ui", action="store_const", const="headless",
                    help="progress lines on stderr, the score at the end")
    ui.add_argument("--plain", dest="ui", action="store_const", const="plain", help="the plain line-mode interface")
    add_db_argument(run)
    run.set_defaults(handler=run_command, ui=None)

    judge = sub.add_parser(
        "judge", help="score a session with the benchmark's LLM judge",
        description="Show a model the start code, the reference diff and the session's best diff; it lists "
        "the reference's key changes and marks those the agent reproduced. The fraction is stored with "
        "the session.")
    judge.add_argument("session", metavar="SESSION", help="session id (or a unique prefix)")
    judge.add_argument("--model", required=True, help="litellm model string, or scripted:PATH")
    judge.add_argument("--api-base", metavar="URL", help="endpoint of a self-hosted or OpenAI-compatible server")
    add_db_argument(judge)
    judge.set_defaults(handler=judge_command)

    verify = sub.add_parser(
        "verify", help="add K paired re-timing rounds to a session that has ended: a new verified FSR",
        description="Add K rounds to a session's verification (or finish the rounds a killed one owes): each "
        "round re-times the start code, the best node and the next record's code side by side on a seed the "
        "session never ran, with the harness's checks of each claim. The runs and the new verified FSR (95% "
        "interval) are stored as the session's own events. Exit code 1 when a run did not reach the target.")
    verify.add_argument("session", metavar="SESSION", help="session id (or a unique prefix)")
    verify.add_argument("--repeats", type=int, default=3, metavar="K", help="rounds to add (default: 3)")
    verify.add_argument("--parallel", type=int, metavar="N", help="runs at once (default: the session's)")
    verify.add_argument("--oversubscribe", action="store_true",
                        help="allow N x threads per run above this machine's cores (times are then suspect)")
    verify.add_argument("--sandbox", choices=SANDBOX_MODES, help="default: the session's own")
    verify.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_db_argument(verify)
    verify.set_defaults(handler=verify_command)


def session_config(args: argparse.Namespace):
    from agent.config import SessionConfig

    if not args.task and not args.resume:
        from speedrun_tui.errors import UserError

        raise UserError("run needs a TASK (e.g. micro/1; see `speedrun-tui tasks`) or --resume SESSION")
    return SessionConfig(task_id=args.task or "", model=args.model, api_base=args.api_base, scaffold=args.scaffold,
                         hints=args.hints, mode=args.mode, max_nodes=args.max_nodes, parallel=args.parallel,
                         seed=args.seed, timeout_s=args.timeout, backend=args.backend,
                         slurm_config=args.slurm_config, sandbox=args.sandbox, llm_timeout_s=args.llm_timeout,
                         time_target=args.time_target, verify_repeats=args.verify_repeats,
                         oversubscribe=args.oversubscribe, time_budget_s=_time_budget(args.time_budget))


def _time_budget(text: str | None) -> float | None:
    from sessions.elapsed import parse_duration

    return None if text is None else parse_duration(text, option="--time-budget")


def run_command(args: argparse.Namespace) -> int:
    from speedrun_tui.home import resolve_db

    config = session_config(args)
    return open_session(config, resolve_db(args), args.ui or DEFAULT_UI, session_id=args.resume)


def open_session(config, db_path, ui: str, *, session_id: str | None = None) -> int:
    """Start (or resume) a session in the chosen interface: headless, plain or tui.

    The plain and TUI interfaces provide `run_session(config, db_path, session_id=None) -> int`
    in tui.plain and tui.app.
    """
    if ui == "headless":
        return run_headless_session(config, db_path, session_id)
    module_name = "tui.plain" if ui == "plain" else "tui.app"
    try:
        module = importlib.import_module(module_name)
        run_session = module.run_session
    except (ImportError, AttributeError):
        from speedrun_tui.errors import UserError

        raise UserError(f"the {ui} interface is not available in this build; use --headless") from None
    return int(run_session(config, db_path, session_id=session_id) or 0)


def run_headless_session(config, db_path, session_id: str | None) -> int:
    from agent.controller import Controller
    from agent.headless import run_headless
    from agent.llm import missing_key_message
    from agent.models import is_builtin
    from sessions.store import Store
    from speedrun_tui.errors import UserError

    if config.mode != "human" and not is_builtin(config.model):
        message = missing_key_message(config.model, config.api_base)
        if message:
            raise UserError(message)
    with Store(db_path) as store:
        controller = Controller(config, store, session_id=session_id)
        score = run_headless(controller)
    return 0 if score.finished else 1


def judge_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from agent.judge import judge_session
    from speedrun_tui.home import resolve_db

    verdict = judge_session(resolve_db(args), args.session, model=args.model, api_base=args.api_base)
    console = Console()
    for change in verdict.changes:
        mark = "[green]yes[/]" if change.get("reproduced") else "[red]no [/]"
        console.print(f"{mark} {change.get('change', '')}", highlight=False)
    console.print(f"judge score: {verdict.score:.3f} ({verdict.reproduced}/{len(verdict.changes)} key changes "
                  f"reproduced) · stored with session {verdict.session}")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    from agent.verify import verify_command as run_verify

    return run_verify(args)
