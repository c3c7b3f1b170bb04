"""The console that tables are printed to on standard output."""

from __future__ import annotations

import sys


def stdout_console():
    from rich.console import Console

    # Piped output has no width to fit; keep whole rows rather than Rich's 80 columns.
    return Console() if sys.stdout.isatty() else Console(width=200)
