"""$EDITOR on a file or on a piece of code, for the `e` key and the /edit command."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path


def run_editor(path: Path) -> int:
    """Open `path` in $VISUAL / $EDITOR (vi without either); the editor's exit status."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        return subprocess.run([*shlex.split(editor), str(path)]).returncode
    except FileNotFoundError:
        return 127


def edit_code(code: str, run=run_editor) -> tuple[int, str]:
    """The editor's exit status and the text it saved, for `code` in a temporary train.py.

    `run` opens the editor on a path; the TUI passes one that suspends the screen first.
    """
    with tempfile.TemporaryDirectory(prefix="speedrun-edit-") as folder:
        path = Path(folder) / "train.py"
        path.write_text(code)
        status = run(path)
        return status, path.read_text()


def edit_outcome(status: int, before: str, after: str) -> str | None:
    """Why an edit sends nothing (None: send `after`)."""
    if status != 0:
        return f"the editor exited with status {status}; nothing sent"
    if after == before:
        return "no change made; the edit is still waiting"
    return None
