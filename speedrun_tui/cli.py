"""The `speedrun-tui` console script.

Each area registers its own subcommands from a light `commands` module (argparse
only at import time); handlers import their heavy modules when they run, so
`--help` and `--version` stay fast. torch is never imported here, litellm only
inside the handlers that call a model.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from speedrun_tui import __version__
from speedrun_tui.errors import UserError
from speedrun_tui.interrupts import restore_ctrl_c

# Order is the order of `--help`.
COMMAND_MODULES = (
    "agent.commands",
    "agent.sweep_commands",
    "tui.commands",
    "runner.commands",
    "records.commands",
    "sessions.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speedrun-tui",
        description="Terminal workspace for the Automated LLM Speedrunning Benchmark. "
        "With no command, opens the home screen.",
    )
    parser.add_argument("--version", action="version", version=f"speedrun-tui {__version__}")
    parser.add_argument("--db", metavar="PATH", help="session database (default: $SPEEDRUN_TUI_HOME/sessions.db)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    restore_ctrl_c()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        from tui.commands import open_home

        handler = open_home
    try:
        return int(handler(args) or 0)
    except UserError as err:
        print(f"speedrun-tui: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("speedrun-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `speedrun-tui sessions | head`: the reader left; say nothing more on a closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
