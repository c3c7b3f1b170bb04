"""CLI subcommands of this area. Imports stay light: handlers import what they need."""

from __future__ import annotations


def register(sub) -> None:
    """Add this area's subcommands to the `speedrun-tui` parser."""
    parser = sub.add_parser(
        "exec", help="run one training script through the runner and report its RunResult",
        description="Run SCRIPT in its own folder under $SPEEDRUN_TUI_HOME/runs, stream its output with a "
        "progress line, then report the RunResult. Exit code 0 when the status is ok, 1 otherwise.")
    parser.add_argument("script", metavar="SCRIPT", help="the training script (copied into the run folder)")
    parser.add_argument("--target", metavar="LOSS", help="target validation loss (time to target is measured)")
    parser.add_argument("--timeout", metavar="S", default="3600", help="kill the run after S seconds (default 3600)")
    parser.add_argument("--python", metavar="PY", help="interpreter for the script (default: this one)")
    parser.add_argument("--workdir", metavar="DIR", help="run folder (default: a fresh one under runs/)")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "rlimits", "off"), default="off",
                        help="confine the script (runner/sandbox.py): bwrap, rlimits, or auto (bwrap when it works "
                        "here, else rlimits); default off: it is your own script")
    parser.add_argument("--json", action="store_true",
                        help="print the RunResult as one JSON line on stdout (log lines go to stderr)")
    parser.set_defaults(handler=_exec)


def _exec(args) -> int:
    from runner.exec_cli import run_exec

    return run_exec(args)
