"""The real `speedrun-tui replay` in a real terminal (tmux): first screen, keys, quit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tui_helpers import write_demo_session

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)")


def tmux(*args: str) -> str:
    return subprocess.run([TMUX, *args], capture_output=True, text=True, check=True).stdout


def wait_screen(target: str, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        screen = tmux("capture-pane", "-p", "-t", target)
        if text in screen:
            return screen
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} on the screen:\n{screen}")
        time.sleep(0.1)


def wait_gone(target: str, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text in tmux("capture-pane", "-p", "-t", target):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} is still on the screen")
        time.sleep(0.1)


def test_replay_in_tmux(tmp_path):
    db = tmp_path / "sessions.db"
    sid = write_demo_session(db)
    name = f"srt-{uuid.uuid4().hex[:8]}"
    cli = Path(sys.executable).with_name("speedrun-tui")
    # The app starts once the window has its size: a shell first, then the command typed into it.
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "35", "-e", "TERM=xterm-256color",
         "env -i PATH=/usr/bin:/bin HOME=$HOME TERM=xterm-256color bash --norc --noprofile")
    try:
        tmux("send-keys", "-t", name, f"{cli} replay {sid} --db {db}; echo EXITED $?", "Enter")
        screen = wait_screen(name, "event 34/34")
        assert "Search tree" in screen and "Plan & chat" in screen
        assert "#1 improve best 0.8s" in screen
        assert "keep 200 steps, try warmup" in screen

        tmux("send-keys", "-t", name, "Home")
        screen = wait_screen(name, "Log · node 0")
        assert "using device cpu" in screen

        tmux("send-keys", "-t", name, "b")
        screen = wait_screen(name, "Log · node 1")
        assert "lr = 0.003" in screen

        tmux("send-keys", "-t", name, "?")
        screen = wait_screen(name, "Replay · keys")
        assert "Speed 100x" in screen
        tmux("send-keys", "-t", name, "Escape")
        wait_gone(name, "Replay · keys")  # before the next key: Escape then q at once reads as alt+q

        tmux("send-keys", "-t", name, "q")
        wait_screen(name, "EXITED 0")
    finally:
        subprocess.run([TMUX, "kill-session", "-t", name], capture_output=True)
