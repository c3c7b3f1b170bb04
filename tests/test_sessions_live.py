"""A writer in another process: readers follow it live, and SIGKILL loses nothing flushed."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from sessions.replay import Replay
from sessions.store import Store
from sessions_helpers import WRITER_SCRIPT

ROOT = Path(__file__).resolve().parents[1]


def start_writer(db: Path, count: int, pause: float, end: str) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(db), str(count), str(pause), end],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    sid, flushed = proc.stdout.readline().split()
    return proc, sid, int(flushed)


def test_reader_follows_a_live_writer_in_another_process(tmp_path):
    db = tmp_path / "live.db"
    proc, sid, _ = start_writer(db, count=150, pause=0.01, end="finish")
    seen_while_running = 0
    with Replay(db, sid) as replay:
        followed = []
        for event in replay.follow(poll_s=0.02):
            followed.append(event)
            if proc.poll() is None:
                seen_while_running += 1
    assert proc.wait(timeout=30) == 0
    assert seen_while_running > 10  # events arrived while the writer was still writing
    assert [e.seq for e in followed] == list(range(len(followed)))
    kinds = [e.kind for e in followed]
    assert kinds.count("log_lines") == 150 and kinds.count("metric") == 15
    assert kinds[-1] == "session_finished"
    with Store(db, readonly=True) as store:
        assert store.session_info(sid).status == "finished"


def test_sigkill_mid_session_keeps_flushed_events_and_marks_unfinished(tmp_path):
    db = tmp_path / "killed.db"
    proc, sid, flushed = start_writer(db, count=0, pause=0.001, end="hang")
    with Store(db, readonly=True) as store:
        deadline = time.monotonic() + 10
        while store.event_count(sid) < flushed + 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.session_info(sid).status == "running"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        committed = store.event_count(sid)
        info = store.session_info(sid)
    assert info.status == "unfinished"
    assert committed >= flushed + 50
    with Replay(db, sid) as replay:
        events = list(replay.events())
        assert [e.seq for e in events] == list(range(committed))
        assert [e.kind for e in events[:3]] == ["session_started", "node_created", "run_started"]
        assert all(e.lines == [f"line {i}"] for i, e in enumerate(x for x in events if x.kind == "log_lines"))
        assert replay.state_at(len(replay) - 1).nodes[0].status == "running"
