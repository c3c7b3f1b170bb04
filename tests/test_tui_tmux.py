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


PLAIN_SESSION = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from agent_helpers import config, open_controller, speedup, write_script
from tui.plain import PlainSession
tmp = Path({tmp!r})
cfg = config(write_script(tmp, [speedup(0.5, "Halve the step cost.")]), mode="copilot")
controller, store = open_controller(tmp, cfg)
code = PlainSession(controller, store, interactive=True).run()
store.close()
print("EXITED", code)
"""


def test_plain_mode_prompt_in_tmux(tmp_path):
    script = tmp_path / "plain.py"
    script.write_text(PLAIN_SESSION.format(tests=str(Path(__file__).parent), tmp=str(tmp_path)))
    name = f"srt-{uuid.uuid4().hex[:8]}"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-e", "TERM=xterm-256color",
         f"env -i PATH=/usr/bin:/bin HOME=$HOME SPEEDRUN_TUI_HOME={tmp_path / 'home'} TERM=xterm-256color "
         "bash --norc --noprofile")
    try:
        tmux("send-keys", "-t", name, f"{sys.executable} {script}", "Enter")
        wait_screen(name, "waits for approval")
        assert "+STEP_MS *= 0.5" in tmux("capture-pane", "-p", "-t", name)
        tmux("send-keys", "-t", name, "/appr")
        wait_screen(name, "speedrun> /appr")
        time.sleep(0.3)  # the completions are computed in the background
        tmux("send-keys", "-t", name, "Tab")  # completes to /approve
        wait_screen(name, "speedrun> /approve")
        tmux("send-keys", "-t", name, "Enter")
        screen = wait_screen(name, "EXITED 0")
        assert "[1] step:10/10" in screen
        assert "session finished" in screen
        assert (tmp_path / "home" / "plain_history").read_text().strip().endswith("/approve")
    finally:
        subprocess.run([TMUX, "kill-session", "-t", name], capture_output=True)
