"""CLI subcommands of this area. Imports stay light: handlers import what they need."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from speedrun_tui.console import stdout_console
from speedrun_tui.home import add_db_argument, resolve_db

COMPARE_BY = ("mode", "model", "scaffold", "hints")


def register(sub) -> None:
    """Add this area's subcommands to the `speedrun-tui` parser."""
    p = sub.add_parser("sessions", help="list recorded sessions")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    add_db_argument(p)
    p.set_defaults(handler=cmd_sessions)

    p = sub.add_parser("score", help="score sessions (FSR and per-session counts)")
    p.add_argument("session", nargs="*", metavar="SESSION", help="session ids or unique prefixes (default: all)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON list of scores")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    add_db_argument(p)
    p.set_defaults(handler=cmd_score)

    p = sub.add_parser("compare", help="compare configurations across tasks (mean, median, IQM with 95%% CI)")
    p.add_argument("--by", choices=COMPARE_BY, default="mode", help="what to compare (default: mode)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.add_argument("--at", metavar="T1,T2,...",
                   help="instead: each group's best search FSR reached by each elapsed time (e.g. 30m,1h,2h), "
                   "mean over sessions with a bootstrap 95%% CI")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_db_argument(p)
    p.set_defaults(handler=cmd_compare)

    p = sub.add_parser("report", help="write a static HTML report of sessions (the paper's figures, a page per "
                       "session) that opens offline")
    p.add_argument("session", nargs="*", metavar="SESSION",
                   help="session ids or unique prefixes (default: every session not running)")
    p.add_argument("--sweep", metavar="NAME", help="the sessions of this sweep (those not running)")
    p.add_argument("--out", metavar="DIR", type=Path, required=True,
                   help="folder to write index.html, sessions/ and plotly.min.js into (made if missing; "
                   "those files are overwritten)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.add_argument("--no-paper", dest="paper", action="store_false",
                   help="leave out the paper's published mean FSR per hint regime and scaffold")
    add_db_argument(p)
    p.set_defaults(handler=cmd_report)

    kinds = _subcommands(sub.choices["import"])  # `import` and its nanogpt kind come from records/commands.py
    t = kinds.add_parser("trajectory", help="turn an llm-speedrunner workspace or an AIDE journal.json into a session",
                         description="The imported session replays and scores like one of ours.")
    t.add_argument("path", type=Path, help="an llm-speedrunner workspace folder or an AIDE journal.json")
    t.add_argument("--task", metavar="ID", help="the task it worked on (e.g. nanogpt/4); "
                   "default: from the workspace's config.yaml")
    add_db_argument(t)
    t.set_defaults(handler=cmd_import_trajectory)

    p = sub.add_parser("export", help="export one session as an event stream or an AIDE-style journal")
    p.add_argument("session", metavar="SESSION", help="session id or unique prefix")
    p.add_argument("--format", choices=("jsonl", "journal"), default="jsonl", help="default: jsonl")
    p.add_argument("--out", metavar="PATH", help="write here instead of stdout")
    add_db_argument(p)
    p.set_defaults(handler=cmd_export)


def _print_json(data) -> None:
    import json

    print(json.dumps(data, indent=2))


def cmd_sessions(args: argparse.Namespace) -> int:
    infos = []
    if resolve_db(args).exists():
        with _require_store(args) as store:
            infos = store.list_sessions()
    if args.json:
        _print_json([info.to_json() for info in infos])
    elif not infos:
        print(f"No sessions yet in {resolve_db(args)}.")
    else:
        from sessions.report import sessions_table

        stdout_console().print(sessions_table(infos))
    return 0


def _require_store(args: argparse.Namespace):
    """The selected DB, read-only; UserError when there is none yet."""
    from sessions.store import Store

    return Store(resolve_db(args), readonly=True)


def _load_scores(args: argparse.Namespace, ids: list[str]) -> list:
    """Scores of the given sessions (all but running ones when none is given), with progress."""
    if not ids and not resolve_db(args).exists():
        return []
    from sessions.replay import load_state
    from sessions.scoring import score_session

    with _require_store(args) as store:
        return [score_session(load_state(store, sid, with_logs=False)) for sid in _chosen(store, ids)]


def _chosen(store, ids: list[str]):
    return _tracked(_session_ids(store, ids), "scoring")


def _tracked(items: list, description: str):
    """The items, with a progress bar on stderr while they are gone through when there are many."""
    if len(items) > 10:
        from rich.console import Console
        from rich.progress import track

        return track(items, description=description, console=Console(stderr=True), transient=True)
    return items


def _session_ids(store, ids: list[str]) -> list[str]:
    """The sessions these ids or prefixes name; with none, every session that is not running."""
    if ids:
        return [store.resolve_session(text) for text in ids]
    return [info.id for info in store.list_sessions() if info.status != "running"]


def cmd_score(args: argparse.Namespace) -> int:
    scores = _load_scores(args, args.session)
    if args.json:
        _print_json([score.to_json() for score in scores])
    elif args.csv:
        from sessions.report import write_csv

        write_csv(scores, sys.stdout)
    elif not scores:
        print(f"No finished sessions to score in {resolve_db(args)}.")
    else:
        from sessions.report import scores_table, task_table
        from sessions.scoring import summarize

        console = stdout_console()
        console.print(scores_table(scores))
        console.print(task_table([t for group in summarize(scores) for t in group.tasks]))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from sessions.scoring import summarize

    if args.at:
        return _compare_at(args)
    groups = summarize(_load_scores(args, []), by=(args.by,), seed=args.seed)
    if args.json:
        _print_json({"by": args.by, "seed": args.seed,
                     "groups": [{args.by: g.config[args.by], **g.to_json(), **_against(g, groups, args.seed)}
                                for g in groups]})
    elif not groups:
        print(f"No scored sessions to compare in {resolve_db(args)}.")
    else:
        from sessions.report import compare_table

        stdout_console().print(compare_table(groups, args.by, args.seed))
    return 0


def _compare_at(args: argparse.Namespace) -> int:
    """`compare --at`: per group of sessions, the best FSR reached by each elapsed time."""
    from sessions.elapsed import fsr_over_time
    from sessions.elapsed import parse_duration

    at_s = [parse_duration(part, option="--at") for part in args.at.split(",")]
    with _require_store(args) as store:
        curves = fsr_over_time(store, _chosen(store, []), by=args.by, at_s=at_s, seed=args.seed)
    if args.json:
        _print_json({"by": args.by, "seed": args.seed, "at_s": at_s, "groups": [c.to_json() for c in curves]})
    elif not curves:
        print(f"No scored sessions to compare in {resolve_db(args)}.")
    else:
        from sessions.report import anytime_table

        stdout_console().print(anytime_table(curves, args.by, at_s, args.seed))
    return 0


def _against(group, groups, seed: int) -> dict:
    """The group's gap to the first group (the baseline), for `compare --json`."""
    from dataclasses import asdict

    from sessions.scoring import difference

    if group is groups[0]:
        return {}
    estimate, significant = difference(group, groups[0], seed=seed)
    return {"vs_first": {"baseline": groups[0].config, "mean_difference": asdict(estimate),
                         "significant": significant}}


def cmd_report(args: argparse.Namespace) -> int:
    from sessions.htmlreport import write_report
    from speedrun_tui.errors import UserError

    if args.sweep and args.session:
        raise UserError("report: name SESSION ids or --sweep NAME, not both")
    with _require_store(args) as store:
        if args.sweep:
            from sessions.sweeps import session_ids

            ids = [sid for sid in session_ids(store, args.sweep) if store.session_status(sid) != "running"]
        else:
            ids = _session_ids(store, args.session)
        index = write_report(store, ids, args.out.expanduser(), seed=args.seed, with_paper=args.paper,
                             title=f"speedrun-tui report: sweep {args.sweep}" if args.sweep else "",
                             track=lambda items: _tracked(items, "writing the report"))
    print(f"wrote the report of {len(ids)} sessions to {index}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import json

    from sessions import export

    with _require_store(args) as store:
        sid = store.resolve_session(args.session)
        out = _open_out(args.out) if args.out else sys.stdout
        try:
            if args.format == "jsonl":
                export.write_jsonl(store, sid, out)
            else:
                out.write(json.dumps(export.journal(store, sid), indent=2) + "\n")
        finally:
            if args.out:
                out.close()
    if args.out:
        print(f"exported session {sid} ({args.format}) to {args.out}", file=sys.stderr)
    return 0


def _open_out(text: str):
    from pathlib import Path

    from speedrun_tui.errors import UserError

    try:
        return open(Path(text).expanduser(), "w")
    except OSError as err:
        raise UserError(f"cannot write {text}: {err.strerror}") from None


def _subcommands(parser: argparse.ArgumentParser):
    """The subcommand group of `parser` (another area made it), to add a kind of its own."""
    return next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))


def cmd_import_trajectory(args: argparse.Namespace) -> int:
    from sessions.importers import read_trajectory, write_trajectory
    from sessions.store import Store

    trajectory = read_trajectory(args.path, args.task)
    with Store(resolve_db(args)) as store:
        session_id = write_trajectory(trajectory, store)
    print(f"imported {len(trajectory.nodes)} nodes from {trajectory.source} as session {session_id} "
          f"(task {trajectory.task or 'unknown'}, model {trajectory.model}, scaffold {trajectory.scaffold})")
    return 0
