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


def shell(size: tuple[int, int], home: Path | None = None) -> str:
    """A detached tmux session running a clean shell (the app starts once the window has its size:
    a shell first, then the command typed into it); returns its name."""
    name = f"srt-{uuid.uuid4().hex[:8]}"
    env = f"SPEEDRUN_TUI_HOME={home} " if home else ""
    tmux("new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]), "-e", "TERM=xterm-256color",
         f"env -i PATH=/usr/bin:/bin HOME=$HOME {env}TERM=xterm-256color bash --norc --noprofile")
    return name


def test_replay_in_tmux(tmp_path):
    db = tmp_path / "sessions.db"
    sid = write_demo_session(db)
    cli = Path(sys.executable).with_name("speedrun-tui")
    name = shell((120, 35))
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
    name = shell((120, 40), tmp_path / "home")
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


# `speedrun-tui run --mode human` on the fake task (the catalog has no task this quick): the same
# Controller, SessionScreen and farewell line as tui.app.run_session. argv: tmp, then a session to resume.
HUMAN_SESSION = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from agent_helpers import config, fake_task, write_script
from agent.controller import Controller
from sessions.store import Store
from tui.app import SpeedrunApp, _farewell
from tui.screens.session import SessionScreen
tmp = Path(sys.argv[1])
resume = sys.argv[2] if len(sys.argv) > 2 else None
cfg = config(write_script(tmp, ["(no model in human mode)"]), mode=None if resume else "human", model="human",
             max_nodes=4)
with Store(tmp / "sessions.db") as store:
    controller = Controller(cfg, store, session_id=resume, task=fake_task(tmp), run_env={{}})
    screen = SessionScreen(cfg, store.path, controller=controller)
    SpeedrunApp(lambda: screen).run()
sys.exit(_farewell(controller.session_id, screen))
"""


def save_and_run(name: str, workspace: Path, old: str, new: str, node: int) -> None:
    """What the person does: save train.py from their editor, then run it from the approval box."""
    workspace.write_text(workspace.read_text().replace(old, new))
    wait_screen(name, f"Node {node} · run your edit?")
    tmux("send-keys", "-t", name, "a")
    wait_gone(name, f"Node {node} · run your edit?")
    wait_screen(name, f"#{node} human")


def test_a_human_session_with_a_fork_quit_and_resume_in_tmux(tmp_path):
    from sessions.replay import load_state
    from sessions.store import Store

    script = tmp_path / "human.py"
    script.write_text(HUMAN_SESSION.format(tests=str(Path(__file__).parent)))
    home = tmp_path / "home"
    name = shell((150, 45), home)
    try:
        tmux("send-keys", "-t", name, f"{sys.executable} {script} {tmp_path}; echo EXITED $?", "Enter")
        wait_screen(name, "in your editor", timeout=60)
        [workspace] = list((home / "workspaces").glob("*/train.py"))
        save_and_run(name, workspace, "STEP_MS = 100.0", "STEP_MS = 50.0", 1)
        wait_screen(name, "#1 human best")
        save_and_run(name, workspace, "STEP_MS = 50.0", "STEP_MS = 40.0", 2)
        wait_screen(name, "#2 human best")
        tmux("send-keys", "-t", name, "s")  # the input line
        time.sleep(0.5)  # it has the focus before the text comes, or the keys act as the screen's keys
        tmux("send-keys", "-t", name, "/fork 1 back to 50 ms, try the warmup", "Enter")
        wait_screen(name, "you · fork from node 1")
        deadline = time.monotonic() + 10
        while "STEP_MS = 50.0" not in workspace.read_text():  # node 1's code, for the next edit
            assert time.monotonic() < deadline, workspace.read_text()
            time.sleep(0.1)
        tmux("send-keys", "-t", name, "/quit", "Enter")  # the input line still has the focus
        screen = wait_screen(name, "EXITED 1")
        printed = next(line for line in screen.splitlines() if "resume it with" in line)
        session = printed.split("`speedrun-tui run --resume ")[1].split("`")[0]

        tmux("send-keys", "-t", name, "clear", "Enter")
        tmux("send-keys", "-t", name, f"{sys.executable} {script} {tmp_path} {session}; echo EXITED $?", "Enter")
        wait_screen(name, "mode human", timeout=60)  # the status bar: it came back in human mode
        save_and_run(name, workspace, "STEP_MS = 50.0", "STEP_MS = 45.0", 3)
        wait_screen(name, "#3 human fork improved")  # scored: 0.405 s against node 1's 0.45 s
        tmux("send-keys", "-t", name, "q")
        wait_screen(name, "EXITED 1")
    finally:
        subprocess.run([TMUX, "kill-session", "-t", name], capture_output=True)
    with Store(tmp_path / "sessions.db", readonly=True) as store:
        state = load_state(store, session)
        kinds = [e.kind for e in store.read_events(session)]
        forks = [(e.node, e.text) for e in store.read_events(session) if e.kind == "human_decision"
                 and e.decision == "fork"]
    assert [(n.id, n.stage, n.parent, n.forked, n.status) for n in state.nodes.values()][1:] == [
        (1, "human", 0, False, "valid"), (2, "human", 1, False, "valid"), (3, "human", 1, True, "valid")]
    assert forks == [(1, "back to 50 ms, try the warmup")]
    assert kinds.count("session_resumed") == 1 and state.started.mode == "human"
