"""Where speedrun-tui keeps its data: SPEEDRUN_TUI_HOME, else the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path


def home_dir() -> Path:
    """The root for sessions, data and imported catalogs (created on first use)."""
    env = os.environ.get("SPEEDRUN_TUI_HOME")
    if env:
        root = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        root = Path(xdg) / "speedrun-tui"
    root.mkdir(parents=True, exist_ok=True)
    return root


def default_db() -> Path:
    return home_dir() / "sessions.db"


def data_dir() -> Path:
    path = home_dir() / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Workspaces of candidate runs, one folder per run."""
    path = home_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def add_db_argument(parser) -> None:
    """`--db PATH` on a subcommand; it overrides the global `--db` and the default."""
    import argparse

    parser.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS,
                        help="session database (default: $SPEEDRUN_TUI_HOME/sessions.db)")


def resolve_db(args) -> Path:
    """The session DB that a command's arguments select."""
    chosen = getattr(args, "db", None)
    return Path(chosen).expanduser() if chosen else default_db()
