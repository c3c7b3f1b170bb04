"""Snapshots of the main screens (pytest-textual-snapshot); `pytest --snapshot-update` rewrites them.

Everything shown is pinned: session ids, timestamps, time zone, the API-key banner,
the sandbox note, and the live session's clock.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
import types
from pathlib import Path

import pytest
from agent_helpers import config, fake_task, speedup, write_script

from records.fingerprint import CpuFingerprint
from tui.app import SpeedrunApp
from tui.screens.approval import ApprovalModal
from tui.screens.home import HomeScreen
from tui.screens.replay import ReplayScreen
from tui.screens.scores import ScoresScreen
from tui.screens.session import SessionScreen
from tui_helpers import T0, wait_for, write_demo_session

SIZE = (130, 38)


# The CPU the shipped AVX2 calibration was made on: the catalog then looks the same on every machine.
PINNED_CPU = CpuFingerprint("AMD EPYC", "AVX2", "2.13.0", 1, 1996.2, "x86_64")


@pytest.fixture
def pinned(monkeypatch):
    """Fixed session ids, CPU, machine load and time zone; no API key in the environment."""
    ids = iter(f"5e55{n:04d}" for n in range(1, 1000))
    monkeypatch.setattr("sessions.store.secrets", types.SimpleNamespace(token_hex=lambda _n: next(ids)))
    monkeypatch.setattr("records.fingerprint.this_cpu", lambda threads: dataclasses.replace(PINNED_CPU,
                                                                                          threads=threads))
    # A loaded test machine would mark the runs "busy" in the tree and the status bar.
    monkeypatch.setattr("runner.machineload._load_1min", lambda: 0.0)
    monkeypatch.setattr("runner.machineload._cpu_steal_total", lambda: None)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    for name in [n for n in __import__("os").environ if n.endswith("_API_KEY")]:
        monkeypatch.delenv(name)
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def demo_db(tmp_path, pinned):
    db = tmp_path / "sessions.db"
    sid = write_demo_session(db)
    with sqlite3.connect(db) as conn:  # the store stamps rows with the wall clock
        conn.execute("UPDATE sessions SET created_ts=?, updated_ts=?", (T0, T0 + 33))
    return db, sid


async def settle(pilot, ready) -> None:
    await wait_for(pilot, ready, what="the screen to load")
    await pilot.pause(0.3)


def test_home_screen(snap_compare, demo_db):
    db, _ = demo_db
    screen = HomeScreen(db)
    app = SpeedrunApp(lambda: screen)
    assert snap_compare(app, terminal_size=SIZE,
                        run_before=lambda pilot: settle(pilot, lambda: screen.sessions))


def test_replay_screen(snap_compare, demo_db):
    db, sid = demo_db
    screen = ReplayScreen(db, sid)
    app = SpeedrunApp(lambda: screen)
    assert snap_compare(app, terminal_size=SIZE,
                        run_before=lambda pilot: settle(pilot, lambda: screen.position == 34))


def test_replay_screen_at_100x30(snap_compare, demo_db):
    db, sid = demo_db
    screen = ReplayScreen(db, sid)
    app = SpeedrunApp(lambda: screen)
    assert snap_compare(app, terminal_size=(100, 30),
                        run_before=lambda pilot: settle(pilot, lambda: screen.position == 34))


def test_scores_screen(snap_compare, demo_db):
    db, _ = demo_db
    screen = ScoresScreen(db)
    app = SpeedrunApp(lambda: screen)
    assert snap_compare(app, terminal_size=SIZE,
                        run_before=lambda pilot: settle(pilot, lambda: screen.scores))


class Pinned(SessionScreen):
    """The status bar's clock and token count vary from run to run (and with the prompts): pinned."""

    def current_status(self):
        return dataclasses.replace(super().current_status(), elapsed_s=75.0, tokens=1234)


def test_session_screen_waiting_for_approval(snap_compare, tmp_path, pinned, monkeypatch):
    write_script(tmp_path, [speedup(0.5, "Halve the cost of each step: the model is tiny.")])
    monkeypatch.chdir(tmp_path)  # the model's name, scripted:replies.txt, shows in the status bar
    cfg = config(Path("replies.txt"), mode="copilot", sandbox="off")
    screen = Pinned(cfg, tmp_path / "sessions.db", task=fake_task(tmp_path), run_env={})
    app = SpeedrunApp(lambda: screen)
    assert snap_compare(app, terminal_size=SIZE,
                        run_before=lambda pilot: settle(pilot, lambda: isinstance(app.screen, ApprovalModal)))
