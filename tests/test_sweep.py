"""`speedrun-tui sweep`: a grid of ordinary sessions, killed half-way and resumed, locally and on Slurm."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sweep_cli import SMALL, catalog_of, fake_micro_tasks, small_sweep

import records.catalog as catalog
from runner import slurm
from runner.slurm import SlurmOptions
from runner.spec import RunSpec
from sessions.store import Store
from sessions.sweep_progress import sweep_progress
from sessions.sweeps import session_ids
from speedrun_tui.cli import main
from speedrun_tui.errors import UserError

TESTS = Path(__file__).resolve().parent
LOCAL = SlurmOptions(cluster="local", poll_s=0.05)


def sweep_process(tmp_path: Path, *args: str, flag: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(TESTS / "sweep_cli.py"), str(tmp_path), "sweep",
                             str(tmp_path / "sweep.toml"), "--headless", "--db", str(tmp_path / "s.db"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HANG_FLAG": str(flag)})


def runs_started(db: Path, node: int) -> int:
    """Sessions of the database with a run of `node` started."""
    try:
        with Store(db, readonly=True) as store:
            return sum(any(e.kind == "run_started" and e.node == node for e in store.read_events(info.id))
                       for info in store.list_sessions())
    except UserError:  # no database yet, or not migrated yet
        return 0


def wait_until(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_sweep_killed_half_way_resumes_and_every_cell_has_one_finished_session(tmp_path):
    small_sweep(tmp_path)
    db = tmp_path / "s.db"
    flag = tmp_path / "flags" / "hang.flag"  # a folder of its own: the sandbox shows a run the folders of its env
    flag.parent.mkdir()
    flag.touch()
    first = sweep_process(tmp_path, "--parallel", "2", flag=flag)
    try:  # cells run in order, two at a time: the fast model's two, then the slow model's two hang on the flag
        wait_until(lambda: runs_started(db, node=1) == 4)
        second = sweep_process(tmp_path, flag=flag)
        assert second.wait(60) == 2 and "is being run by process" in second.stderr.read()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    flag.unlink()
    killed = sweep_progress(db, "small")
    assert (killed.count("done"), killed.count("left"), killed.count("running")) == (2, 6, 0)
    stopped = {cell.session.id for cell in killed.cells if cell.resumable}
    assert len(stopped) == 2

    again = sweep_process(tmp_path, "--parallel", "2", flag=flag)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "8 done · 0 running · 0 failed · 0 left of 8 cells" in err
    progress = sweep_progress(db, "small")
    assert [cell.sessions for cell in progress.cells] == [1] * 8
    assert {cell.state for cell in progress.cells} == {"done"}
    assert stopped <= {cell.session.id for cell in progress.cells}  # resumed, not started again
    assert sorted(session_ids(db, "small")) == sorted(cell.session.id for cell in progress.cells)
    with Store(db, readonly=True) as store:
        for cell in progress.cells:
            events = store.read_events(cell.session.id)
            resumed = any(e.kind == "session_resumed" for e in events)
            assert resumed == (cell.session.id in stopped)
            expected = 0.45 if cell.cell.model.endswith("fast.txt") else 0.72
            assert cell.session.best_time_s == pytest.approx(expected) and cell.session.nodes == 2


@pytest.fixture
def fake_catalog(tmp_path, monkeypatch):
    """The two fake micro tasks of sweep_cli, in this process."""
    for name, stand_in in catalog_of(fake_micro_tasks(tmp_path), {}).items():
        monkeypatch.setattr(catalog, name, stand_in)


def test_dry_run_prints_each_cell_and_the_training_time_from_the_catalog(tmp_path, fake_catalog, capsys):
    small_sweep(tmp_path)
    assert main(["sweep", str(tmp_path / "sweep.toml"), "--dry-run", "--db", str(tmp_path / "s.db")]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "micro/" in line]
    assert len(rows) == 8 and all(" new " in row and row.rstrip().endswith("2s CPU") for row in rows)
    # per cell: the start code and one node, 0.9 s each (the fake task's catalog time), one thread
    assert "8 cells, 16 training runs: 0.0 CPU core-hours" in out and "about 14s of training" in out
    assert not (tmp_path / "s.db").exists()  # a dry run writes nothing


SLURM = """name = "on-slurm"
tasks = ["micro/1"]
models = ["scripted:fast.txt"]
max_nodes = 1
verify_repeats = 0
backend = "slurm"
max_jobs = 2
[slurm]
cluster = "local"
poll_s = 0.05
"""


def test_on_slurm_each_run_of_a_cell_is_a_job(tmp_path, fake_catalog):
    small_sweep(tmp_path, SLURM)
    db = tmp_path / "s.db"
    assert main(["sweep", str(tmp_path / "sweep.toml"), "--headless", "--db", str(db)]) == 0
    [sid] = session_ids(db, "on-slurm")
    with Store(db, readonly=True) as store:
        events = store.read_events(sid)
        assert store.session_info(sid).best_time_s == pytest.approx(0.45)
    assert [e.backend for e in events if e.kind == "run_started"] == ["slurm", "slurm"]
    assert sum("Slurm job" in line for e in events if e.kind == "log_lines" for line in e.lines) == 2
    assert slurm._job_slots is None  # the sweep's cap ends with it


TIMED_JOB = """
import time
print(f"start={time.time()}", flush=True)
time.sleep(1.0)
print(f"end={time.time()}", flush=True)
print("step:1/1 val_loss:3.0000 train_time:1000ms step_avg:1000.00ms", flush=True)
"""


def test_capped_jobs_wait_for_a_slot_and_never_run_at_once(tmp_path):
    from runner_helpers import write_script as write_train

    script = write_train(tmp_path, "timed.py", TIMED_JOB)
    spans: dict[int, dict[str, float]] = {0: {}, 1: {}}

    def one(i):
        def line(log):
            key, _, value = log.text.partition("=")
            if key in ("start", "end"):
                spans[i][key] = float(value)
        assert slurm.run_slurm(RunSpec(script=script, target_loss=3.28), LOCAL, on_line=line).status == "ok"

    slurm.cap_jobs(1)
    try:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        slurm.cap_jobs(None)
    (a, b) = sorted((span["start"], span["end"]) for span in spans.values())
    assert a[1] <= b[0]  # the second job started only once the first had ended


@pytest.mark.parametrize("change, message", [
    ("modes = [\"copilot\"]", "modes: a sweep runs its cells unattended, so only \"auto\""),
    ("seeds = [-1]", "seeds must be a list of seeds (0 or more) or a count"),
    ("tasks = [\"micro/9-12\"]", "tasks 'micro/9-12' match no task in the catalog"),
    ("tasks = [\"micro/7\"]", "unknown task 'micro/7'"),
    ("scaffolds = [\"flat\", \"tre\"]", "scaffolds: unknown 'tre'; choose from flat, tree, forest, aide, multi-aide"),
    ("time_budget = \"soon\"", "time_budget: 'soon' is not a duration"),
    ("max_nodes = 0", "max_nodes must be at least 1, got 0"),
    ("partition = \"gpu\"", "unknown key(s) partition"),
    ("slurm_config = \"s.toml\"\n[slurm]\ncluster = \"local\"", "either a [slurm] table or slurm_config"),
])
def test_a_bad_sweep_file_is_one_line_naming_the_file_and_the_key(tmp_path, fake_catalog, capsys, change, message):
    key = change.split(" ", 1)[0]
    kept = "".join(line + "\n" for line in SMALL.splitlines() if not line.startswith(key + " "))
    path = small_sweep(tmp_path, kept + change + "\n")
    assert main(["sweep", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert key == "tasks" or str(path) in err  # a task is named by its pattern; anything else by file and key


def test_session_ids_of_an_unknown_sweep_name_the_sweeps_there(tmp_path):
    db = tmp_path / "s.db"
    Store(db).close()
    with pytest.raises(UserError, match="no sweep 'nope'.*no sweeps yet"):
        session_ids(db, "nope")
