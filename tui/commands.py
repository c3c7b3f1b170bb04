"""CLI subcommands of this area. Imports stay light: handlers import what they need."""

from __future__ import annotations

import argparse

from speedrun_tui.home import add_db_argument


def register(sub) -> None:
    """Add this area's subcommands to the `speedrun-tui` parser."""
    p = sub.add_parser(
        "replay", help="replay a recorded session in the panes (follows it live while it is written)",
        description="Replay a session: step through its events, jump to a node, play at 1x/10x/100x/max. "
        "A session another process is still writing is followed live.")
    p.add_argument("session", metavar="SESSION", help="session id or unique prefix (see `speedrun-tui sessions`)")
    p.add_argument("--plain", action="store_true", help="print the events as lines instead (for logs, SSH, screen readers)")
    p.add_argument("--from-start", action="store_true", help="open at the first event instead of the last")
    p.add_argument("--no-follow", action="store_true", help="--plain: stop at the last stored event")
    add_db_argument(p)
    p.set_defaults(handler=replay_command)


def _existing_db(args: argparse.Namespace):
    from speedrun_tui.errors import UserError
    from speedrun_tui.home import resolve_db

    db = resolve_db(args)
    if not db.exists():
        raise UserError(f"no session database at {db}; run a session first (`speedrun-tui run ...`)")
    return db


def replay_command(args: argparse.Namespace) -> int:
    db = _existing_db(args)
    from sessions.store import Store

    with Store(db, readonly=True) as store:
        session_id = store.resolve_session(args.session)  # a bad id is a one-line error, before any screen
    if args.plain:
        from tui.plain import run_replay

        return run_replay(db, session_id, follow=not args.no_follow)
    from tui.app import run_replay

    return run_replay(db, session_id, start="start" if args.from_start else "end")


def open_home(args: argparse.Namespace) -> int:
    """`speedrun-tui` with no command: the home screen."""
    from speedrun_tui.home import resolve_db
    from tui.app import run_home

    return run_home(resolve_db(args))
