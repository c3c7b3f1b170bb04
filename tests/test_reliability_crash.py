"""Crash safety: the app killed at random points, stopped by SIGTERM/Ctrl-C, or refused by its database.

The app is tests/reliability_app.py: the headless session on the fake task, in its own process.
"""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agent_helpers import Recorder, config, open_controller, run_in_thread, speedup, write_script
from reliability_helpers import processes_running, requires_bwrap
from runner_helpers import dies_soon

from sessions import schema
from sessions.store import Store
from speedrun_tui.errors import UserError

TESTS = Path(__file__).resolve().parent
APP = TESTS / "reliability_app.py"
PROGRESS = ("run_started", "log_lines", "metric", "llm_response", "node_scored")
HANG = ("Wait for the flag.\n\n<<<<<<< SEARCH\n# speedups\n=======\n# speedups\nimport time\n"
        "while os.path.exists(os.environ['HANG_FLAG']):\n    time.sleep(0.05)\nSTEP_MS *= 0.8\n>>>>>>> REPLACE\n")


def start_app(tmp_path, replies, session=None, max_nodes=3, *extra):
    return subprocess.Popen([sys.executable, str(APP), str(tmp_path), str(replies), session or "-", str(max_nodes),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())


def committed(db: Path, session: str) -> dict:
    """seq -> event, as a reader in another process sees them now."""
    with Store(db, readonly=True) as store:
        return {e.seq: e for e in store.read_events(session)}


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def only_session(db: Path) -> str | None:
    if not db.exists():
        return None
    try:
        with Store(db, readonly=True) as store:
            ids = [info.id for info in store.list_sessions()]
    except UserError:  # killed before the schema was committed
        return None
    assert len(ids) <= 1
    return ids[0] if ids else None


@pytest.mark.slow
def test_sigkill_at_12_random_points_keeps_every_flushed_event_and_resume_continues(tmp_path):
    """Half the kills land at a random moment of start-up, half at a random moment after the
    resumed session made progress (mostly inside a training run). Each start costs the app's
    imports (litellm's included), which is why there are 12, not more."""
    rng = random.Random(20)
    budget = 12
    replies = write_script(tmp_path, [speedup(0.99 ** (i + 1)) for i in range(budget + 5)])
    db = tmp_path / "sessions.db"
    session = None
    in_flight = 0  # kills that hit a training run
    for kill in range(budget):
        app = start_app(tmp_path, replies, session, budget)
        seen = committed(db, session) if session else {}
        known = max(seen, default=-1)
        wait_for_news = kill % 2 == 1 and session is not None
        deadline = time.monotonic() + (60 if wait_for_news else rng.uniform(0.1, 4.0))
        while time.monotonic() < deadline and app.poll() is None:
            session = session or only_session(db)
            if session:
                seen = committed(db, session)
            if wait_for_news and any(seq > known and e.kind in PROGRESS for seq, e in seen.items()):
                deadline = min(deadline, time.monotonic() + rng.uniform(0.0, 1.0))
                wait_for_news = False
            time.sleep(rng.uniform(0.02, 0.1))
        assert app.poll() is None, f"kill {kill}: the app ended by itself: {app.communicate()[1][-500:]}"
        in_flight += bool(session and processes_running(f"{session}-node"))
        app.kill()
        app.wait(30)
        session = session or only_session(db)
        if session is None:
            continue
        assert integrity(db) == "ok", f"kill {kill}"
        after = committed(db, session)
        lost = [seq for seq, event in seen.items() if after.get(seq) != event]
        assert not lost, f"kill {kill}: events {lost[:5]} were committed, then gone"
        assert sorted(after) == list(range(len(after)))  # no holes
        assert all(dies_soon(pid) for pid in processes_running(f"{session}-node")), "a run outlived the app"
    assert in_flight >= 3
    print(f"{in_flight} kills hit a run; {len(committed(db, session))} events before the last resume")
    app = start_app(tmp_path, replies, session, budget)
    out, err = app.communicate(timeout=600)
    assert app.returncode == 0, err[-1000:]
    with Store(db, readonly=True) as store:
        assert store.session_status(session) == "finished"
        events = store.read_events(session)
    scored = {e.node for e in events if e.kind == "node_scored"}
    assert scored == set(range(budget + 1))
    assert [e.seq for e in events] == list(range(len(events)))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_stop_the_training_and_leave_the_session_resumable(tmp_path, signum):
    flag = tmp_path / "flags" / "hang.flag"
    flag.parent.mkdir()
    flag.touch()
    replies = write_script(tmp_path, [HANG, speedup(0.5)])
    db = tmp_path / "sessions.db"
    app = start_app(tmp_path, replies, None, 2, "--flag", str(flag))
    session = app.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while not any(e.kind == "run_started" and e.node == 1 for e in committed(db, session).values()):
        assert time.monotonic() < deadline and app.poll() is None, app.stderr.read()[-500:]
        time.sleep(0.1)
    time.sleep(0.3)
    assert processes_running(f"{session}-node1")
    app.send_signal(signum)
    _, err = app.communicate(timeout=30)
    assert app.returncode in (1, 130), err[-500:]  # stopped cleanly, not killed by the signal
    assert f"resumed with --resume {session}" in err
    assert all(dies_soon(pid) for pid in processes_running(f"{session}-node1"))
    with Store(db, readonly=True) as store:
        assert store.session_status(session) == "unfinished"
        events = store.read_events(session)
    assert events[-1].kind == "session_finished" and events[-1].status == "stopped"
    flag.unlink()
    resumed = start_app(tmp_path, replies, session, 2, "--flag", str(flag))
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err[-500:]
    with Store(db, readonly=True) as store:
        scored = [e for e in store.read_events(session) if e.kind == "node_scored"]
    assert sorted(e.node for e in scored) == [0, 1, 2] and all(e.status == "valid" for e in scored)


def test_a_writer_holding_the_lock_delays_the_session_without_losing_anything(tmp_path):
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.9, variant=i) for i in range(3)]), max_nodes=3))
    recorder = Recorder()
    controller.subscribe(recorder)
    thread, outcome = run_in_thread(controller)
    recorder.wait_for(lambda e: e.kind == "run_started" and e.node == 1)
    other = sqlite3.connect(tmp_path / "sessions.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another writer, holding the lock for a while
    time.sleep(2.0)
    other.execute("ROLLBACK")
    other.close()
    thread.join(120)
    store.close()
    assert "error" not in outcome and outcome["score"].finished
    kept = committed(tmp_path / "sessions.db", controller.session_id)
    assert [e.kind for e in kept.values()] == ["session_started"] + [e.kind for e in recorder.events]
    assert {e.node for e in kept.values() if e.kind == "node_scored"} == {0, 1, 2, 3}


def test_a_database_locked_at_start_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 300)
    db = tmp_path / "sessions.db"
    Store(db).close()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(UserError) as raised:
            open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)])), db=db)
    finally:
        other.close()
    assert "locked by another process" in str(raised.value) and "\n" not in str(raised.value)


DISK_FULL = """
import json, os, sqlite3, subprocess, sys
small, app, tmp, replies = sys.argv[1:5]
db = os.path.join(small, "sessions.db")
with open(os.path.join(small, "ballast"), "wb") as f:
    f.write(b"x" * 1_900_000)
def run(session):
    try:
        done = subprocess.run([sys.executable, app, tmp, replies, session, "4", "--db", db],
                              capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as late:
        return "timeout", (late.stdout or b"").decode().split("\\n")[0], (late.stderr or b"").decode().splitlines()
    return done.returncode, done.stdout.split("\\n")[0], done.stderr.strip().splitlines()
code, session, err = run("-")
from sessions.store import Store
with Store(db, readonly=True) as store:  # the app's own reader, on the full disk
    read_full = [e.seq for e in store.read_events(session)]
# sqlite3's plain reader needs room for the -shm file
os.remove(os.path.join(small, "ballast"))
conn = sqlite3.connect(db)
check = conn.execute("PRAGMA integrity_check").fetchone()[0]
def seqs():
    return [r[0] for r in conn.execute("SELECT seq FROM events WHERE session_id=? ORDER BY seq", (session,))]
kept = seqs()
code2, _, err2 = run(session)
after = seqs()
conn.close()
print(json.dumps({"code": code, "err": err[-1] if err else "", "integrity": check, "kept": kept, "read_full": read_full,
                  "resumed": code2, "err2": err2[-3:], "after": after}))
"""


@requires_bwrap
def test_a_full_disk_is_a_one_line_error_and_the_session_resumes_after_space_is_freed(tmp_path):
    """The database lives on a 2 MiB tmpfs (bubblewrap gives the app a private one), nearly full of ballast."""
    small = tmp_path / "small"
    small.mkdir()
    driver = tmp_path / "driver.py"
    driver.write_text(DISK_FULL)
    replies = write_script(tmp_path, [speedup(0.99 - 0.001 * i) for i in range(9)])  # each a new program
    done = subprocess.run(["bwrap", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--size", str(2 * 2**20),
                           "--tmpfs", str(small), sys.executable, str(driver), str(small), str(APP), str(tmp_path),
                           str(replies)], capture_output=True, text=True, timeout=600)
    assert done.stdout.strip(), done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 2, report
    assert report["err"].startswith("speedrun-tui: error: ") and "the disk is full" in report["err"]
    kept = report["kept"]
    # How far the session got before the disk filled depends on timing; what matters is that
    # every committed event survived in order and the resumed session appended after them.
    assert report["integrity"] == "ok" and kept and kept == list(range(len(kept)))
    assert report["read_full"] == kept  # readable while the disk is still full
    assert report["resumed"] == 0, report["err2"]
    after = report["after"]
    assert after[:len(kept)] == kept and after == list(range(len(after))) and len(after) > len(kept)


@requires_bwrap
def test_a_read_only_database_is_a_one_line_error_and_can_still_be_read(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "sessions.db"
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)])), db=db)
    controller.run()
    store.close()
    before = db.read_bytes()
    read_only = ["bwrap", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--ro-bind", str(folder), str(folder)]
    app = subprocess.run([*read_only, sys.executable, str(APP), str(tmp_path), str(tmp_path / "replies.txt"), "-",
                          "1", "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert app.returncode == 2
    assert app.stderr.strip() == (f"speedrun-tui: error: {db}: the session database is read-only (unable to open "
                                  "database file); pass --db with a writable file (reading it still works)")
    listing = subprocess.run([*read_only, sys.executable, "-m", "speedrun_tui", "sessions", "--json", "--db",
                              str(db)], capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert [s["id"] for s in json.loads(listing.stdout)] == [controller.session_id]
    assert db.read_bytes() == before


@requires_bwrap
def test_a_database_on_a_full_disk_can_still_be_listed(tmp_path):
    """A reader of a cleanly closed WAL database makes a -shm file, which a full disk refuses."""
    small = tmp_path / "small"
    small.mkdir()
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)])))
    controller.run()
    store.close()
    fill = (f"import shutil, subprocess, sys; shutil.copy({str(tmp_path / 'sessions.db')!r}, {str(small)!r})\n"
            f"try:\n    open({str(small / 'ballast')!r}, 'wb').write(b'x' * 2**21)\nexcept OSError:\n    pass\n"
            f"sys.exit(subprocess.run([sys.executable, '-m', 'speedrun_tui', 'sessions', '--json', '--db', "
            f"{str(small / 'sessions.db')!r}]).returncode)")
    listing = subprocess.run(["bwrap", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--size", str(2**20),
                              "--tmpfs", str(small), sys.executable, "-c", fill],
                             capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert [s["id"] for s in json.loads(listing.stdout)] == [controller.session_id]


def test_processes_helper_sees_a_live_process(tmp_path):
    marker = tmp_path / "marker-sleep"
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", str(marker)])
    try:
        deadline = time.monotonic() + 5
        while proc.pid not in processes_running(str(marker)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert processes_running(str(marker)) == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    assert processes_running(str(marker)) == []



KILLED_AFTER_RUN = """
import os, sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from agent_helpers import config, open_controller
tmp, replies = Path(sys.argv[1]), Path(sys.argv[2])
controller, store = open_controller(tmp, config(replies, max_nodes=2))

def die_after_the_run(event):
    if event.kind == "run_finished" and event.node == 1:
        store.flush()
        os._exit(9)  # the run's end is committed, its score is not

controller.subscribe(die_after_the_run)
controller.run()
"""


def test_a_run_that_finished_just_before_the_kill_is_scored_on_resume_not_rerun(tmp_path):
    replies = write_script(tmp_path, [speedup(0.5), speedup(0.8)])
    child = subprocess.run([sys.executable, "-c", KILLED_AFTER_RUN.format(tests=str(TESTS)), str(tmp_path),
                            str(replies)], capture_output=True, text=True, timeout=120)
    assert child.returncode == 9, child.stderr[-500:]
    db = tmp_path / "sessions.db"
    session = only_session(db)
    assert [e.kind for e in committed(db, session).values()][-1] == "run_finished"
    controller, store = open_controller(tmp_path, config(replies, max_nodes=2), session_id=session)
    score = controller.run()
    store.close()
    events = list(committed(db, session).values())
    assert [e.node for e in events if e.kind == "run_started"] == [0, 1, 2]  # node 1 did not run again
    assert sorted(e.node for e in events if e.kind == "node_scored") == [0, 1, 2]
    assert controller.state.best_node == 1 and score.best_time_s == pytest.approx(0.45)
