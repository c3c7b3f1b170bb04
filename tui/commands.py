"""CLI subcommands of this area. Imports stay light: handlers import what they need."""

from __future__ import annotations


def register(sub) -> None:
    """Add this area's subcommands to the `speedrun-tui` parser."""


def open_home(args) -> int:
    """`speedrun-tui` with no command. Until the Textual app lands, show the help."""
    from speedrun_tui.cli import build_parser

    build_parser().print_help()
    return 0
