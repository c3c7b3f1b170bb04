"""run_local against real subprocesses running fake trainer scripts."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runner.local import run_local
from runner.spec import RunSpec
from runner.workspace import LOG_NAME, RESULT_NAME
from speedrun_tui.errors import UserError
from runner_helpers import dies_soon, hanger, pid_alive, trainer, write_script


def test_trainer_that_reaches_the_target(tmp_path):
    script = trainer(tmp_path, [4.0, 3.6, 3.3, 3.1, 3.0])
    lines = []
    result = run_local(RunSpec(script=script, target_loss=3.28), on_line=lines.append)
    assert result.status == "ok" and result.valid
    assert result.exit_code == 0
    assert result.time_to_target_ms == 150.0 and result.steps_to_target == 15  # 3rd val line is 3.3 > 3.28
    assert result.final_val_loss == 3.0
    assert [(p.step, p.val_loss, p.train_time_ms) for p in result.curve] == [
        (0, 4.0, 0.0), (5, 3.6, 50.0), (10, 3.3, 100.0), (15, 3.1, 150.0), (20, 3.0, 200.0)]
    assert result.peak_rss_mb > 1 and result.wall_s > 0
    assert sum(1 for ln in lines if ln.metric and ln.metric.kind == "val") == 5
    assert lines[0].text == "config: a fake trainer" and lines[0].metric is None
    workdir = Path(result.workdir)
    assert (workdir / "train.py").read_text() == script.read_text()
    assert "step:20/20 val_loss:3.0" in (workdir / LOG_NAME).read_text()
    assert json.loads((workdir / RESULT_NAME).read_text())["status"] == "ok"


def test_trainer_that_misses_the_target(tmp_path):
    result = run_local(RunSpec(script=trainer(tmp_path, [4.0, 3.5, 3.4]), target_loss=3.28))
    assert result.status == "target_missed" and not result.valid
    assert result.time_to_target_ms is None and result.steps_to_target is None
    assert result.final_val_loss == 3.4
    assert "3.4000" in result.reason


def test_lines_arrive_while_the_script_is_still_running(tmp_path):
    script = write_script(tmp_path, "slow.py", """
        import time
        print("first", flush=True)
        time.sleep(1.5)
        print("second")
        """)
    arrivals = {}
    start = time.monotonic()
    run_local(RunSpec(script=script), on_line=lambda ln: arrivals.setdefault(ln.text, time.monotonic() - start))
    assert arrivals["first"] < 1.0 < arrivals["second"]


def test_hanging_script_and_its_child_are_killed_at_the_timeout(tmp_path):
    pid_file = tmp_path / "child.pid"
    result = run_local(RunSpec(script=hanger(tmp_path, pid_file), timeout_s=1.5, kill_grace_s=1.0))
    assert result.status == "timeout" and result.buggy
    assert 1.4 < result.wall_s < 5
    assert result.exit_code == -15  # SIGTERM was enough
    assert [p.step for p in result.curve] == [0]
    child = int(pid_file.read_text())
    assert dies_soon(child)


def test_script_ignoring_sigterm_gets_sigkill_after_the_grace(tmp_path):
    pid_file = tmp_path / "child.pid"
    result = run_local(RunSpec(script=hanger(tmp_path, pid_file, ignore_term=True), timeout_s=1.0,
                               kill_grace_s=0.5))
    assert result.status == "timeout"
    assert result.exit_code == -9
    assert 1.4 < result.wall_s < 4
    assert dies_soon(int(pid_file.read_text()))


def test_cancel_kills_the_run_and_its_child(tmp_path):
    pid_file = tmp_path / "child.pid"
    cancel = threading.Event()

    def cancel_on_first_metric(line):
        if line.metric is not None:
            cancel.set()

    result = run_local(RunSpec(script=hanger(tmp_path, pid_file), timeout_s=60), on_line=cancel_on_first_metric,
                       cancel=cancel)
    assert result.status == "cancelled"
    assert result.wall_s < 5
    assert dies_soon(int(pid_file.read_text()))


def test_run_and_its_child_die_when_the_controller_is_killed(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = hanger(tmp_path, pid_file)
    controller = write_script(tmp_path, "controller.py", f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from runner.local import run_local
        from runner.spec import RunSpec
        run_local(RunSpec(script={str(script)!r}, timeout_s=600), on_line=lambda ln: print(ln.text, flush=True))
        """)
    proc = subprocess.Popen([sys.executable, str(controller)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("step:0/100")  # the script runs and its child exists
    child = int(pid_file.read_text())
    script_pid = int(Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert pid_alive(script_pid) and pid_alive(child)
    proc.kill()
    proc.wait()
    assert dies_soon(script_pid) and dies_soon(child)

def test_background_process_left_by_a_finished_script_is_killed(tmp_path):
    pid_file = tmp_path / "bg.pid"
    script = write_script(tmp_path, "leaves_bg.py", f"""
        import subprocess, sys
        bg = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open({str(pid_file)!r}, "w").write(str(bg.pid))
        print("s:0 tel:3.0")
        """)
    result = run_local(RunSpec(script=script, timeout_s=30))
    assert result.status == "ok"
    assert result.wall_s < 5
    assert dies_soon(int(pid_file.read_text()))


def test_crashing_script(tmp_path):
    script = write_script(tmp_path, "crash.py", """
        print("step:0/10 val_loss:4.0 train_time:0ms step_avg:nanms")
        def forward():
            raise RuntimeError("CUDA out of memory (pretend)")
        forward()
        """)
    result = run_local(RunSpec(script=script, target_loss=3.28))
    assert result.status == "crashed" and result.buggy
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr_tail
    assert result.reason == "exited with code 1: RuntimeError: CUDA out of memory (pretend)"
    assert result.final_val_loss == 4.0


def test_nan_loss_is_a_failure_even_with_exit_code_zero(tmp_path):
    result = run_local(RunSpec(script=trainer(tmp_path, [4.0, 3.5, "nan", 3.0]), target_loss=3.28))
    assert result.status == "crashed" and not result.valid
    assert result.exit_code == 0
    assert result.reason == "val_loss became nan at step 10"
    assert [p.step for p in result.curve] == [0, 5, 15]  # non-finite points never enter the curve
    assert result.to_json()["final_val_loss"] == 3.0


def test_inf_train_loss_is_a_failure(tmp_path):
    script = write_script(tmp_path, "inf.py", """
        print("step:0/10 val_loss:4.0 train_time:0ms step_avg:nanms")
        print("step:1/10 train_loss:inf train_time:10ms step_avg:10.00ms")
        print("step:10/10 val_loss:3.0 train_time:100ms step_avg:10.00ms")
        """)
    result = run_local(RunSpec(script=script, target_loss=3.28))
    assert result.status == "crashed"
    assert result.reason == "train_loss became inf at step 1"


def test_script_without_metrics(tmp_path):
    script = write_script(tmp_path, "quiet.py", 'print("training done, trust me")\n')
    result = run_local(RunSpec(script=script, target_loss=3.28))
    assert result.status == "no_metrics" and result.buggy
    assert result.final_val_loss is None and result.curve == []


def test_metrics_forged_on_stderr_are_ignored(tmp_path):
    script = write_script(tmp_path, "forge.py", """
        import sys
        print("step:0/10 val_loss:4.0 train_time:0ms step_avg:nanms")
        print("step:10/10 val_loss:1.0 train_time:1ms step_avg:0.10ms", file=sys.stderr)
        """)
    lines = []
    result = run_local(RunSpec(script=script, target_loss=3.28), on_line=lines.append)
    assert result.status == "target_missed"
    assert [p.val_loss for p in result.curve] == [4.0]
    forged = next(ln for ln in lines if ln.stream == "stderr")
    assert forged.metric is None and "val_loss:1.0" in forged.text


def test_llmc_log_reaches_target_without_a_clock(tmp_path):
    script = write_script(tmp_path, "llmc.py", """
        for s, loss in [(0, 10.9), (100, 4.1), (200, 3.2)]:
            print(f"s:{s} trl:{loss + 0.1}")
            print(f"s:{s} tel:{loss}")
        """)
    result = run_local(RunSpec(script=script, target_loss=3.28))
    assert result.status == "ok"
    assert result.steps_to_target == 200 and result.time_to_target_ms is None
    assert not result.valid
    assert result.final_val_loss == 3.2
    assert "no train_time" in result.reason


def test_flood_of_100_mb_keeps_memory_bounded_and_reports_the_drop(tmp_path):
    script = write_script(tmp_path, "flood.py", """
        import sys
        print("step:0/10 val_loss:4.0 train_time:0ms step_avg:nanms")
        line = "x" * 1023 + "\\n"
        block = line * 1024  # 1 MiB
        for _ in range(100):
            sys.stdout.write(block)
        print("step:10/10 val_loss:3.0 train_time:100ms step_avg:10.00ms")
        print("the end")
        """)
    rss = [_rss_mb()]
    seen = {"lines": 0, "delivered_gap": 0}

    def on_line(line):
        seen["lines"] += 1
        seen["delivered_gap"] += line.dropped_before
        if seen["lines"] % 500 == 0:
            rss.append(_rss_mb())

    keep = 4 * 2**20
    result = run_local(RunSpec(script=script, target_loss=3.28, keep_bytes=keep), on_line=on_line)
    rss.append(_rss_mb())
    assert result.status == "ok" and result.time_to_target_ms == 100.0  # the line after the flood counted
    assert result.dropped_lines > 90_000
    assert seen["delivered_gap"] == result.dropped_lines  # every drop was announced to the callback
    assert seen["lines"] + result.dropped_lines == 100 * 1024 + 3
    log = (Path(result.workdir) / LOG_NAME)
    assert log.stat().st_size < keep + 300 * 1024
    assert f"{result.dropped_lines} lines dropped" in log.read_text()
    assert log.read_text().splitlines()[-1] == "the end"
    assert max(rss) - rss[0] < 32, f"RSS grew from {rss[0]:.0f} MB to {max(rss):.0f} MB"


def test_secrets_are_removed_from_the_child_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("FOO_TOKEN", "tok")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws")
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("SPEEDRUN_TEST_PLAIN", "kept")
    script = write_script(tmp_path, "env.py", """
        import os
        for name in ("OPENAI_API_KEY", "FOO_TOKEN", "AWS_SECRET_ACCESS_KEY", "OPENAI_API_BASE",
                     "MY_SECRET", "SPEEDRUN_TEST_PLAIN", "DATA_DIR", "PATH", "PYTHONUNBUFFERED"):
            print(name, "=", "set" if os.environ.get(name) else "missing")
        """)
    lines = []
    run_local(RunSpec(script=script, env={"DATA_DIR": "/data", "MY_SECRET": "x"}), on_line=lines.append)
    seen = dict(ln.text.split(" = ") for ln in lines)
    assert seen == {"OPENAI_API_KEY": "missing", "FOO_TOKEN": "missing", "AWS_SECRET_ACCESS_KEY": "missing",
                    "OPENAI_API_BASE": "missing", "MY_SECRET": "missing", "SPEEDRUN_TEST_PLAIN": "set",
                    "DATA_DIR": "set", "PATH": "set", "PYTHONUNBUFFERED": "set"}


def test_args_and_workdir_are_honoured(tmp_path):
    script = write_script(tmp_path, "args.py", """
        import os, sys
        print(" ".join(sys.argv[1:]), os.getcwd())
        """)
    workdir = tmp_path / "here"
    lines = []
    result = run_local(RunSpec(script=script, workdir=workdir, args=["--steps", "3"]), on_line=lines.append)
    assert lines[0].text == f"--steps 3 {workdir}"
    assert result.workdir == str(workdir)


def test_callback_error_kills_the_run_and_propagates(tmp_path):
    pid_file = tmp_path / "child.pid"

    def boom(line):
        raise ValueError("viewer broke")

    with pytest.raises(ValueError, match="viewer broke"):
        run_local(RunSpec(script=hanger(tmp_path, pid_file), timeout_s=60), on_line=boom)
    assert dies_soon(int(pid_file.read_text()))


@pytest.mark.parametrize("spec_kwargs, message", [
    ({"script": Path("/nonexistent/train.py")}, "script not found: /nonexistent/train.py"),
    ({"timeout_s": -1}, "timeout must be a positive number of seconds, got -1"),
    ({"python": "/nonexistent/python3"}, "cannot start /nonexistent/python3"),
])
def test_bad_specs_are_one_line_user_errors(tmp_path, spec_kwargs, message):
    spec = RunSpec(**{"script": trainer(tmp_path, [4.0]), **spec_kwargs})
    with pytest.raises(UserError, match=message.replace("(", r"\(")) as err:
        run_local(spec)
    assert "\n" not in str(err.value)


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

