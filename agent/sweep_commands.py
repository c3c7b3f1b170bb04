"""CLI: `speedrun-tui sweep CONFIG.toml`, a grid of sessions run locally or on Slurm, resumably.

Imports stay light: argparse here; the handler imports what it needs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from speedrun_tui.home import add_db_argument

DEFAULT_MAX_JOBS = 8  # Slurm jobs in flight when neither --max-jobs nor the file's max_jobs says


def register(sub) -> None:
    sweep = sub.add_parser(
        "sweep", help="run a grid of sessions (tasks x models x scaffolds x hints x seeds), resumably",
        description="Run every cell of the grid a TOML file names as an ordinary session, tagged with the "
        "sweep's name. Running the same command again skips finished cells, resumes unfinished ones and starts "
        "the rest. Runs go to subprocesses here (--parallel cells at once) or, with backend = \"slurm\" in the "
        "file, one Slurm job per training run (--max-jobs in flight).")
    sweep.add_argument("config", metavar="CONFIG.toml", help="the sweep file (see the README's example)")
    sweep.add_argument("--parallel", type=int, default=1, metavar="N",
                       help="local backend: cells run at once (default: 1); refused above this machine's cores")
    sweep.add_argument("--oversubscribe", action="store_true",
                       help="allow more runs x threads than this machine's cores (times are then suspect)")
    sweep.add_argument("--max-jobs", type=int, metavar="K",
                       help=f"Slurm backend: jobs in flight at once (default: the file's max_jobs, else "
                       f"{DEFAULT_MAX_JOBS})")
    sweep.add_argument("--dry-run", action="store_true",
                       help="print the cells and the CPU or GPU time they need (from the calibration); run nothing")
    sweep.add_argument("--headless", dest="ui", action="store_const", const="headless", default="tui",
                       help="a live table on stderr instead of the sweep screen")
    add_db_argument(sweep)
    sweep.set_defaults(handler=sweep_command)


def sweep_command(args: argparse.Namespace) -> int:
    from agent.sweep_launch import dry_run, launch
    from agent.sweepfile import load_sweep_file
    from speedrun_tui.home import default_db

    sweep = load_sweep_file(Path(args.config))
    # --db given on the command line wins over the file's db; then the default database.
    db_path = Path(args.db).expanduser() if getattr(args, "db", None) else sweep.db or default_db()
    if args.dry_run:
        return dry_run(sweep, db_path, args.parallel)
    return launch(sweep, db_path, args)
