"""speedrun-tui: the application shell (CLI entry point and home directory)."""

__version__ = "0.1.0"
