"""A deterministic session written straight into a real Store, for the TUI's tests and bench."""

from __future__ import annotations

import difflib
from pathlib import Path

from runner.result import RunResult, ValPoint
from sessions import events as ev
from sessions.store import Store

T0 = 1_750_000_000.0  # fixed timestamps keep snapshots stable

START_CODE = """import time
import torch

lr = 0.001
steps = 200


def train():
    for step in range(steps + 1):
        loss = 4.0 - step * 0.01
        print(f"step:{step}/{steps} val_loss:{loss:.4f} train_time:{step * 10}ms step_avg:10.00ms")


train()
"""


def edited(code: str, old: str, new: str) -> str:
    assert old in code, old
    return code.replace(old, new, 1)


def unified(old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        "a/train.py", "b/train.py"))


def curve(points: list[tuple[int, float, float]]) -> list[ValPoint]:
    return [ValPoint(step, loss, ms) for step, loss, ms in points]


class SessionWriter:
    """Appends events for one session with a clock that advances one second per event."""

    def __init__(self, store: Store, *, task: str = "micro/1", mode: str = "copilot", target_loss: float = 3.28):
        self.store = store
        self.clock = T0
        self.session_id = store.new_session(ev.SessionStarted(
            task=task, model="scripted:demo", scaffold="flat", hints="none", mode=mode,
            start_time_s=20.0, target_time_s=10.0, target_loss=target_loss,
            config={"max_nodes": 4}, version="test", ts=self.tick()))

    def tick(self, seconds: float = 1.0) -> float:
        self.clock += seconds
        return self.clock

    def add(self, event: ev.Event) -> ev.Event:
        event.ts = self.tick()
        return self.store.append(self.session_id, event)

    def run(self, node: int, code_sha: str, points: list[tuple[int, float, float]], *, target: float,
            extra_lines: list[str] = ()) -> RunResult:
        self.add(ev.RunStarted(node=node, code_sha=code_sha, workdir="/tmp/run", command=["python", "train.py"]))
        lines = list(extra_lines)
        for step, loss, ms in points:
            lines.append(f"step:{step}/200 val_loss:{loss:.4f} train_time:{ms:.0f}ms step_avg:10.00ms")
        self.add(ev.LogLines(node=node, lines=lines))
        for step, loss, ms in points:
            self.add(ev.Metric(node=node, step=step, val_loss=loss, train_time_ms=ms, total_steps=200))
        reached = [ms for _, loss, ms in points if loss <= target]
        result = RunResult(status="ok" if reached else "target_missed", exit_code=0, curve=curve(points),
                           time_to_target_ms=reached[0] if reached else None, target_loss=target,
                           final_val_loss=points[-1][1], wall_s=5.0)
        self.add(ev.RunFinished(node=node, result=result.to_json()))
        return result


def write_demo_session(db_path: Path, *, finish: bool = True) -> str:
    """Root run, an approved improvement (the best), a steered then rejected edit, and a note."""
    store = Store(db_path)
    try:
        w = SessionWriter(store)
        target = 3.28
        root_sha = store.put_blob(START_CODE)
        w.add(ev.NodeCreated(node=0, parent=None, stage="root", code_sha=root_sha))
        w.run(0, root_sha, [(0, 4.0, 0.0), (50, 3.5, 500.0), (100, 3.25, 1000.0), (150, 3.0, 1500.0)],
              target=target, extra_lines=["using device cpu", "model params: 1.2M"])
        w.add(ev.NodeScored(node=0, status="valid", time_s=1.0, val_loss=3.0, is_best=True))

        w.add(ev.NodeCreated(node=1, parent=0, stage="improve"))
        w.add(ev.LLMRequest(node=1, call_id="c1", model="scripted:demo", purpose="improve"))
        w.add(ev.LLMResponse(node=1, call_id="c1", text="raise lr", tokens_in=1200, tokens_out=300, cost_usd=0.01))
        w.add(ev.Plan(node=1, text="Raise the learning rate from 1e-3 to 3e-3: the loss falls slowly early on."))
        code1 = edited(START_CODE, "lr = 0.001", "lr = 0.003")
        sha1 = store.put_blob(code1)
        diff1 = unified(START_CODE, code1)
        w.add(ev.EditProposed(node=1, parent_sha=root_sha, code_sha=sha1, diff=diff1))
        w.add(ev.ApprovalRequested(node=1, code_sha=sha1, diff=diff1))
        w.add(ev.HumanDecision(node=1, decision="approve"))
        w.add(ev.EditApplied(node=1, code_sha=sha1, diff=diff1))
        w.run(1, sha1, [(0, 4.0, 0.0), (50, 3.3, 400.0), (100, 3.1, 800.0), (150, 2.9, 1200.0)], target=target)
        w.add(ev.NodeScored(node=1, status="valid", time_s=0.8, val_loss=2.9, is_best=True))

        w.add(ev.NodeCreated(node=2, parent=1, stage="improve"))
        w.add(ev.Plan(node=2, text="Cut the step count to 100 and keep the higher learning rate."))
        code2 = edited(code1, "steps = 200", "steps = 100")
        sha2 = store.put_blob(code2)
        diff2 = unified(code1, code2)
        w.add(ev.EditProposed(node=2, parent_sha=sha1, code_sha=sha2, diff=diff2))
        w.add(ev.ApprovalRequested(node=2, code_sha=sha2, diff=diff2))
        w.add(ev.HumanDecision(node=2, decision="steer", text="keep 200 steps, try warmup instead"))
        w.add(ev.HumanDecision(node=2, decision="reject", text="no warmup either"))
        w.add(ev.Note(text="budget reached: 2 of 4 nodes used, stopping as asked"))
        if finish:
            w.add(ev.SessionFinished(status="finished"))
        store.flush()
        return w.session_id
    finally:
        store.close()


def screen_text(app) -> str:
    """What the terminal shows (modals over their background), as plain text lines."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, force_terminal=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


async def wait_for(pilot, predicate, timeout: float = 30.0, what: str = "condition"):
    """Let the app run until `predicate()` holds (it is checked between frames)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n--- screen ---\n{screen_text(pilot.app)}")


def pane_content(screen) -> dict:
    """What the workspace's panes hold (not pixels): compares live and replayed sessions."""
    from textual.widgets import Log

    from tui.widgets.chat import ChatPane
    from tui.widgets.diffpane import DiffPane
    from tui.widgets.tree import SearchTree

    tree = screen.query_one(SearchTree)
    return {
        "chat": [str(child.render()) for child in screen.query_one(ChatPane).children],
        "diff": screen.query_one(DiffPane)._diff,
        "log": list(screen.query_one(Log).lines),
        "tree": sorted(str(node.label) for node in tree._items.values()),
    }


def notices(app) -> list[str]:
    """The messages of the toasts on screen now."""
    return [notification.message for notification in app._notifications]
