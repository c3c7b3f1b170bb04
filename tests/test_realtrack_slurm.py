"""The Slurm backend through submitit: its local executor for real job runs, and fake sbatch/sacct
commands for what only a cluster does (the submission script, states such as NODE_FAIL)."""

import itertools
import os
import signal
import stat
import threading
import time

import pytest

from agent_helpers import (FAKE_TRAIN, Recorder, config, fake_task, open_controller, run_in_thread, speedup,
                           write_script)
from runner.backends import get_runner, runner_for
from runner.slurm import SlurmOptions, load_options, run_slurm, slurm_status
from runner.spec import RunSpec
from runner_helpers import pid_alive, write_script as write_train
from speedrun_tui.cli import main
from speedrun_tui.errors import UserError

LOCAL = SlurmOptions(cluster="local", poll_s=0.05)
# submitit caches finished jobs' states by id for the whole process: every fake cluster gets fresh ids.
JOB_IDS = itertools.count(7000, 1000)

STREAMING = """
import sys, time
print("step:0/2 val_loss:4.0000 train_time:0ms step_avg:nanms", flush=True)
time.sleep(1.5)
print("step:1/2 val_loss:3.2000 train_time:100ms step_avg:100.00ms", flush=True)
print("step:2/2 val_loss:3.1000 train_time:200ms step_avg:100.00ms", flush=True)
"""


def test_a_job_streams_its_log_while_it_runs_and_reports_like_a_local_run(tmp_path):
    script = write_train(tmp_path, "train.py", STREAMING)
    arrivals = []
    result = run_slurm(RunSpec(script=script, target_loss=3.28), LOCAL,
                       on_line=lambda line: arrivals.append((time.monotonic(), line)))
    done = time.monotonic()
    first_metric = next(t for t, line in arrivals if line.metric is not None)
    assert done - first_metric > 1.0  # seen while the job was still sleeping, not at the end
    assert result.status == "ok" and result.time_to_target_ms == 100.0 and result.exit_code == 0
    assert [p.val_loss for p in result.curve] == [4.0, 3.2, 3.1]
    assert result.hardware.startswith("cpu x") and os.path.isfile(os.path.join(result.workdir, "run.log"))
    assert any("Slurm job" in line.text and line.stream == "stderr" for _, line in arrivals)


def test_a_crash_keeps_the_scripts_last_stderr_line_as_reason(tmp_path):
    script = write_train(tmp_path, "crash.py", 'import sys\nprint("oops", file=sys.stderr)\nsys.exit(3)\n')
    result = run_slurm(RunSpec(script=script, target_loss=3.28), LOCAL)
    assert result.status == "crashed" and result.exit_code == 3 and result.reason == "exited with code 3: oops"


def test_cancel_stops_the_job_and_its_training_process(tmp_path):
    cancel_a_hanging_job(tmp_path)


def test_started_with_ctrl_c_ignored_the_cli_still_cancels_its_local_jobs(tmp_path):
    """`nohup` or `cmd &` in a script start speedrun-tui with SIGINT ignored, and the local executor's
    job controller would inherit that, while SIGINT is how submitit cancels it: the CLI restores it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with pytest.raises(SystemExit):
            main(["--version"])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        cancel_a_hanging_job(tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)


def cancel_a_hanging_job(tmp_path):
    script = write_train(tmp_path, "hang.py", """
        import os, time
        open("pid", "w").write(str(os.getpid()))
        print("step:0/9 val_loss:5.0000 train_time:0ms step_avg:nanms", flush=True)
        time.sleep(120)
        """)
    cancel = threading.Event()
    started = time.monotonic()
    # Cancelled once the script runs (it wrote its pid before its step line): on a busy machine the
    # job can take longer to start than any fixed delay.
    result = run_slurm(RunSpec(script=script, target_loss=3.28), LOCAL, cancel=cancel,
                       on_line=lambda line: line.text.startswith("step:") and cancel.set())
    assert result.status == "cancelled" and time.monotonic() - started < 30
    pid = int(open(os.path.join(result.workdir, "pid")).read())
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)


def test_the_runs_timeout_is_enforced_on_the_node(tmp_path):
    script = write_train(tmp_path, "slow.py", "import time\ntime.sleep(60)\n")
    result = run_slurm(RunSpec(script=script, timeout_s=1.0, kill_grace_s=0.5), LOCAL)
    assert result.status == "timeout" and result.wall_s < 20


def test_two_jobs_in_flight_at_once(tmp_path):
    script = write_train(tmp_path, "two.py", """
        import time
        t0 = time.time()
        time.sleep(1.5)
        print(f"step:1/1 val_loss:3.0000 train_time:{(time.time() - t0) * 1000:.0f}ms step_avg:1.00ms", flush=True)
        """)
    runner = get_runner("slurm", LOCAL)
    spans: dict[int, tuple[float, float]] = {}

    def one(i):
        start = time.monotonic()
        assert runner(RunSpec(script=script, target_loss=3.28)).status == "ok"
        spans[i] = (start, time.monotonic())

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(spans) == [0, 1]
    (a0, a1), (b0, b1) = spans[0], spans[1]
    assert max(a0, b0) < min(a1, b1) - 1.0  # both jobs ran through the same second


@pytest.mark.parametrize("state, status", [
    ("FAILED", "crashed"), ("TIMEOUT", "timeout"), ("NODE_FAIL", "cancelled"), ("PREEMPTED", "cancelled"),
    ("CANCELLED by 1000", "cancelled"), ("OUT_OF_MEMORY", "crashed")])
def test_slurm_states_map_to_run_statuses(state, status):
    assert slurm_status(state)[0] == status
    assert slurm_status("RUNNING") is None and slurm_status("") is None


@pytest.fixture
def fake_cluster(tmp_path, monkeypatch):
    """sbatch/sacct/scancel/srun stand-ins: sbatch keeps the script, sacct answers $FAKE_SLURM_STATE."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "sbatch": 'n=$(cat "$FAKE_SLURM_DIR/next"); echo $((n+1)) > "$FAKE_SLURM_DIR/next"\n'
                  'cp "$1" "$FAKE_SLURM_DIR/job_$n.sh"\necho "Submitted batch job $n"\n',
        "sacct": 'echo "JobID|State|NodeList"\nfor id in $(echo "$@" | tr "," "\\n" | grep -o "[0-9]*$"); do '
                 'echo "$id|$FAKE_SLURM_STATE|node1"; done\n',
        "scancel": 'echo "$@" >> "$FAKE_SLURM_DIR/cancelled"\n',
        "srun": "exit 0\n",
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_DIR", str(tmp_path))
    (tmp_path / "next").write_text(str(next(JOB_IDS)))
    return tmp_path


def test_on_a_cluster_the_options_reach_sbatch_and_node_failure_is_not_a_bug(fake_cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_SLURM_STATE", "NODE_FAIL")
    toml = tmp_path / "slurm.toml"
    toml.write_text('[slurm]\npartition = "gpu"\naccount = "proj"\ngpus_per_node = 8\ntime_limit_min = 70\n'
                    'setup = ["module load cuda"]\npoll_s = 0.05\n[slurm.extra_sbatch]\nconstraint = "h100"\n')
    script = write_train(tmp_path, "train.py", "print('never runs')\n")
    result = run_slurm(RunSpec(script=script, target_loss=3.28, launcher="torchrun"), load_options(toml))
    assert result.status == "cancelled" and not result.buggy and "NODE_FAIL" in result.reason
    [submitted] = fake_cluster.glob("job_*.sh")
    text = submitted.read_text()
    for line in ("#SBATCH --partition=gpu", "#SBATCH --account=proj", "#SBATCH --gpus-per-node=8",
                 "#SBATCH --time=70", "#SBATCH --constraint=h100", "module load cuda"):
        assert line in text


def test_a_failed_job_is_a_crash_with_the_job_id(fake_cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_SLURM_STATE", "FAILED")
    script = write_train(tmp_path, "train.py", "print('x')\n")
    result = run_slurm(RunSpec(script=script), SlurmOptions(poll_s=0.05))
    assert result.status == "crashed" and result.reason.startswith("Slurm job ") and result.buggy


def test_slurm_options_from_toml_and_one_line_errors(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('partition = "p"\ngpus_per_node = 4\n')
    options = load_options(toml, account="acct", partition=None)
    assert (options.partition, options.account, options.gpus_per_node) == ("p", "acct", 4)
    toml.write_text('[slurm]\npartitoin = "typo"\n')
    with pytest.raises(UserError, match="unknown option.*partitoin"):
        load_options(toml)
    toml.write_text("not = toml = at all")
    with pytest.raises(UserError, match="slurm config"):
        runner_for("slurm", toml)
    with pytest.raises(UserError, match="unknown backend"):
        get_runner("kubernetes")


SLOW_TRAIN = FAKE_TRAIN.replace("import sys\n", "import sys\nimport time\n").replace(
    "        train_time += STEP_MS\n", "        train_time += STEP_MS\n        time.sleep(0.12)\n")


def test_a_session_runs_end_to_end_on_the_slurm_backend_with_parallel_2(tmp_path):
    toml = tmp_path / "slurm.toml"
    toml.write_text('[slurm]\ncluster = "local"\npoll_s = 0.05\n')
    replies = write_script(tmp_path, [speedup(0.5, "Halve the step cost."), speedup(0.8, "Trim the step cost.")])
    cfg = config(replies, max_nodes=2, parallel=2, backend="slurm", slurm_config=str(toml))
    controller, store = open_controller(tmp_path, cfg, task=fake_task(tmp_path, SLOW_TRAIN))
    events = []
    controller.subscribe(events.append)
    try:
        score = controller.run()
    finally:
        store.close()
    started = {e.node: e.ts for e in events if e.kind == "run_started"}
    finished = {e.node: e.ts for e in events if e.kind == "run_finished"}
    assert {e.backend for e in events if e.kind == "run_started"} == {"slurm"}
    assert sorted(finished) == [0, 1, 2]
    assert max(started[0], started[1]) < min(finished[0], finished[1])  # the first draft ran beside the root
    assert any("Slurm job" in line for e in events if e.kind == "log_lines" for line in e.lines)
    assert score.best_time_s == pytest.approx(0.45) and score.fsr == pytest.approx(1.0)


HANGING_TRAIN = """import os, time
open(os.path.join(os.getcwd(), "pid"), "w").write(str(os.getpid()))
print("step:0/10 val_loss:4.0000 train_time:0ms step_avg:nanms", flush=True)
time.sleep(120)
"""


def test_stopping_a_session_cancels_its_slurm_job(tmp_path):
    toml = tmp_path / "slurm.toml"
    toml.write_text('[slurm]\ncluster = "local"\npoll_s = 0.05\n')
    replies = write_script(tmp_path, [speedup(0.5)])
    # sandbox off: the test reads the run's pid, which bwrap's PID namespace would renumber
    cfg = config(replies, backend="slurm", slurm_config=str(toml), sandbox="off")
    controller, store = open_controller(tmp_path, cfg, task=fake_task(tmp_path, HANGING_TRAIN))
    recorder = Recorder()
    controller.subscribe(recorder)
    thread, outcome = run_in_thread(controller)
    recorder.wait_for(lambda e: e.kind == "metric" and e.node == 0)
    workdir = recorder.kinds("run_started")[0].workdir
    controller.stop()
    thread.join(60)
    store.close()
    assert not thread.is_alive() and "error" not in outcome
    assert recorder.kinds("session_finished")[0].status == "stopped" and not recorder.kinds("run_finished")
    pid = int(open(os.path.join(workdir, "pid")).read())
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)
