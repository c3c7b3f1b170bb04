"""CLI subcommands of this area. Imports stay light: handlers import what they need."""

from __future__ import annotations


def register(sub) -> None:
    """Add this area's subcommands to the `speedrun-tui` parser."""
