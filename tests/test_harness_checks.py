"""The harness's own measurements of a run: its process tree's clock, its stops, and failing closed."""

import textwrap

import pytest
from agent_helpers import config, open_controller, write_script
from reliability_helpers import write

from runner import sandbox
from runner.local import run_local
from runner.spec import RunSpec
from speedrun_tui.errors import UserError

CHILD_WORKS = textwrap.dedent("""
    import os, time
    def burn(seconds):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
    print("step:0/4 val_loss:5.0000 train_time:0ms step_avg:0.00ms", flush=True)
    for step in range(1, 5):
        child = os.fork()
        if child == 0:  # the work happens where this process's clock does not look
            burn(0.3)
            os._exit(0)
        os.waitpid(child, 0)
        burn(0.02)
        ms = 1000 * time.process_time()
        print(f"step:{step}/4 train_loss:1.0 train_time:{ms:.0f}ms step_avg:1.00ms", flush=True)
    print(f"step:4/4 val_loss:1.0000 train_time:{ms:.0f}ms step_avg:1.00ms", flush=True)
""")

RUNS_ON = textwrap.dedent("""
    print("step:1/100 val_loss:0.5000 train_time:10ms step_avg:10.00ms", flush=True)
    while True:  # claims the target, then keeps training
        pass
""")

MANY_VALS = textwrap.dedent("""
    import time
    for step in range(10):
        print(f"step:{step}/10 val_loss:{5 - step * 0.1:.4f} train_time:{step}ms step_avg:1.00ms", flush=True)
        time.sleep(0.2)
""")


def test_the_clock_counts_cpu_spent_in_child_processes(tmp_path):
    result = run_local(RunSpec(script=write(tmp_path, "child.py", CHILD_WORKS), target_loss=2.0, timeout_s=60))
    clock = result.clock
    assert result.valid and clock.clock == "cpu"
    assert clock.train_claimed_s < 0.5 and clock.train_s > 1.0  # 4 x 0.3 s in children, unclaimed
    assert clock.train_ratio > 3


def test_a_run_that_works_on_after_its_claim_is_stopped_at_the_grace(tmp_path):
    spec = RunSpec(script=write(tmp_path, "on.py", RUNS_ON), target_loss=1.0, timeout_s=60, claim_grace_s=0.5)
    result = run_local(spec)
    assert result.status == "ok" and "kept running after its target claim at step 1" in result.reason
    assert 0.5 < result.clock.after_claim_s < 2.0 and result.wall_s < 10


def test_a_run_can_be_stopped_after_a_number_of_validations(tmp_path):
    spec = RunSpec(script=write(tmp_path, "vals.py", MANY_VALS), target_loss=1.0, timeout_s=60, stop_after_vals=3)
    result = run_local(spec)
    assert [p.step for p in result.curve] == [0, 1, 2]
    assert result.status == "target_missed" and result.wall_s < 1.5


def test_a_model_session_without_bubblewrap_fails_closed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    sandbox.bwrap_problem.cache_clear()
    try:
        replies = write_script(tmp_path, ["no edits"])
        with pytest.raises(UserError, match=r"bubblewrap is not usable here \(bwrap not found\), so scripted:.*"
                                            r"install it \(apt-get install bubblewrap\) or pass --sandbox rlimits"):
            open_controller(tmp_path, config(replies))
        accepted, store = open_controller(tmp_path, config(replies, sandbox="rlimits"), db=tmp_path / "a.db")
        assert accepted.state.started.config["sandbox"] == "rlimits"  # the risk, accepted by name, is recorded
        store.close()
        reference, store = open_controller(tmp_path, config(replies, model="reference"), db=tmp_path / "b.db")
        assert reference.sandbox.mode == "rlimits"  # the built-in upper bound keeps the fallback
        store.close()
    finally:
        sandbox.bwrap_problem.cache_clear()
