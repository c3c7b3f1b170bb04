"""Hostile runs: each is scored with its reason, nothing it starts outlives it, and the search goes on."""

import os
import subprocess
import sys
import time

import pytest
from agent_helpers import Recorder, config, open_controller, write_script
from reliability_helpers import processes_running, requires_bwrap, run, stdout, write
from runner_helpers import dies_soon

from sessions.store import Store


def edit(plan: str, code: str) -> str:
    """A reply that adds `code` after the fake trainer's `# speedups` line."""
    return f"{plan}\n\n<<<<<<< SEARCH\n# speedups\n=======\n# speedups\n{code}\n>>>>>>> REPLACE\n"


def test_hostile_runs_do_not_stop_the_search(tmp_path):
    marker = f"escapee-{tmp_path.name}"
    replies = [
        edit("Sleep forever.", "import time\ntime.sleep(3600)"),
        edit("Leave a daemon behind.", "import subprocess\nsubprocess.Popen([sys.executable, '-c', "
             f"'import time; time.sleep(300)  # {marker}'], start_new_session=True)\nSTEP_MS *= 0.9"),
        edit("Flood the log.", "sys.stdout.write(('x' * 999 + '\\n') * 40000)\nsys.stdout.flush()\nSTEP_MS *= 0.8"),
        edit("Forge a metric on stderr.", "print('step:10/10 val_loss:0.0100 train_time:1ms step_avg:0.10ms', "
             "file=sys.stderr, flush=True)\nSTEP_MS *= 0.7"),
    ]
    cfg = config(write_script(tmp_path, replies), max_nodes=4, timeout_s=6.0)
    controller, store = open_controller(tmp_path, cfg)
    recorder = Recorder()
    controller.subscribe(recorder)
    score = controller.run()
    store.close()
    scored = {e.node: e for e in recorder.kinds("node_scored")}
    assert scored[1].status == "buggy" and scored[1].reason == "killed at the 6 s timeout"
    assert scored[2].status == "valid" and scored[2].time_s == pytest.approx(0.81)
    assert all(dies_soon(pid) for pid in processes_running(marker)), "the daemon outlived its run"
    flood = [e for e in recorder.kinds("log_lines") if e.node == 3]
    assert sum(e.dropped for e in flood) > 0  # the cap dropped most of the 40 MB ...
    assert scored[3].status == "valid" and scored[3].time_s == pytest.approx(0.72)  # ... and kept the metrics
    assert (tmp_path / "sessions.db").stat().st_size < 20 * 2**20
    assert scored[4].status == "valid" and scored[4].time_s == pytest.approx(0.63)  # not the forged 1 ms
    forged = [e for e in recorder.kinds("metric") if e.node == 4 and e.val_loss == pytest.approx(0.01)]
    assert forged == []
    assert score.finished and controller.state.best_node == 4
    with Store(tmp_path / "sessions.db", readonly=True) as reread:
        assert reread.session_status(controller.session_id) == "finished"


ESCAPER = """
    import subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)  # {marker}"], start_new_session=True)
    time.sleep(0.2)
    print("left a daemon behind", flush=True)
    """


@requires_bwrap
def test_a_daemon_that_escapes_the_process_group_dies_with_a_sandboxed_run(tmp_path):
    marker = f"escapee-{tmp_path.name}"
    script = write(tmp_path, "escape.py", ESCAPER.replace("{marker}", marker))
    _, lines = run(script, "off")
    assert stdout(lines) == ["left a daemon behind"]
    time.sleep(0.3)
    survivors = processes_running(marker)
    assert survivors, "without a sandbox the daemon survives (its own session escapes the group kill)"
    for pid in survivors:
        subprocess.run(["kill", "-9", str(pid)], check=False)
    run(script, "bwrap")
    assert all(dies_soon(pid) for pid in processes_running(marker))


def test_forged_stderr_metrics_are_ignored_under_every_sandbox(tmp_path):
    script = write(tmp_path, "forge.py", """
        import sys
        print("step:5/5 val_loss:0.0100 train_time:1ms step_avg:0.20ms", file=sys.stderr, flush=True)
        print("step:5/5 val_loss:3.0000 train_time:900ms step_avg:180.00ms", flush=True)
        """)
    for mode in ("rlimits", "off"):
        result, _ = run(script, mode, target_loss=2.0)
        assert result.status == "target_missed" and result.final_val_loss == 3.0, mode


@pytest.mark.parametrize("mode", [pytest.param("bwrap", marks=requires_bwrap), "rlimits"])
def test_a_sandboxed_run_never_outlives_its_killed_controller(tmp_path, mode):
    """The runner's test kills a controller of a plain child; this one kills it in the middle of a
    sandboxed run (bwrap's PID namespace, or the prelude that execs the candidate)."""
    name = f"sleeper_{tmp_path.name}"
    write(tmp_path, f"{name}.py", """
        import time
        print("step:0/10 val_loss:4.0000 train_time:0ms step_avg:0.00ms", flush=True)
        time.sleep(300)
        """)
    controller_code = ("import os, sys; from pathlib import Path\nfrom runner.local import run_local\n"
                       "from runner.spec import RunSpec\n"
                       "run_local(RunSpec(script=Path(os.environ['SLEEPER']), sandbox=sys.argv[1], timeout_s=300))\n")
    proc = subprocess.Popen([sys.executable, "-c", controller_code, mode],
                            env={**os.environ, "SLEEPER": str(tmp_path / f"{name}.py")})
    deadline = time.monotonic() + 30
    while not processes_running(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # bwrap starts its namespace's processes, the prelude execs the script
    running = processes_running(name)
    assert running
    proc.kill()
    proc.wait()
    assert all(dies_soon(pid, 5.0) for pid in running)
