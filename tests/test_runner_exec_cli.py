"""`speedrun-tui exec` end to end, as a user runs it: a real process, real scripts."""

import json
import signal
import subprocess
import sys

import pytest

from runner_helpers import hanger, trainer

REQUIRED_KEYS = {"status", "exit_code", "time_to_target_ms", "final_val_loss", "curve", "wall_s",
                 "peak_rss_mb", "dropped_lines", "stderr_tail"}


def exec_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "speedrun_tui", "exec", *args],
                          capture_output=True, text=True, timeout=60)


def test_json_contract_when_the_target_is_reached(tmp_path):
    proc = exec_cli(str(trainer(tmp_path, [4.0, 3.5, 3.2])), "--target", "3.28", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1  # log lines went to stderr: stdout is the JSON alone
    result = json.loads(lines[-1])
    assert REQUIRED_KEYS <= result.keys()
    assert result["status"] == "ok" and result["exit_code"] == 0
    assert result["time_to_target_ms"] == 100.0
    assert result["curve"] == [[0, 4.0, 0.0], [5, 3.5, 50.0], [10, 3.2, 100.0]]
    assert result["final_val_loss"] == 3.2
    assert "step:10/10 val_loss:3.2" in proc.stderr


def test_json_when_the_target_is_missed_exits_1(tmp_path):
    proc = exec_cli(str(trainer(tmp_path, [4.0, 3.5])), "--target", "3.28", "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["status"] == "target_missed" and result["time_to_target_ms"] is None


def test_json_on_timeout(tmp_path):
    proc = exec_cli(str(hanger(tmp_path, tmp_path / "pid")), "--timeout", "1", "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["status"] == "timeout" and result["exit_code"] == -15


def test_ctrl_c_cancels_the_run_and_still_reports_it(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "speedrun_tui", "exec", str(hanger(tmp_path, tmp_path / "pid")),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline().startswith("step:0/100")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    result = json.loads(out.splitlines()[-1])
    assert result["status"] == "cancelled" and result["curve"] == [[0, 4.0, 0.0]]


def test_human_output_streams_lines_then_a_summary(tmp_path):
    proc = exec_cli(str(trainer(tmp_path, [4.0, 3.2])), "--target", "3.28")
    assert proc.returncode == 0
    out = proc.stdout
    assert out.index("step:5/5 val_loss:3.2") < out.index("time to target")
    assert "status" in out and "ok" in out and "0.050 s (step 5)" in out


@pytest.mark.parametrize("args, message", [
    (["{tmp}/missing.py"], "script not found: {tmp}/missing.py"),
    (["{tmp}"], "script is not a file: {tmp}"),
    (["{script}", "--timeout", "-5"], "timeout must be a positive number of seconds, got -5.0"),
    (["{script}", "--timeout", "soon"], "--timeout must be a number, got 'soon'"),
    (["{script}", "--target", "nan"], "--target must be a finite number, got 'nan'"),
    (["{script}", "--python", "{tmp}/no-python"], "--python: interpreter not found or not executable: {tmp}/no-python"),
])
def test_bad_input_is_a_one_line_error(tmp_path, args, message):
    script = trainer(tmp_path, [4.0])
    fill = {"tmp": tmp_path, "script": script}
    proc = exec_cli(*[a.format(**fill) for a in args])
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"speedrun-tui: error: {message.format(**fill)}"]
    assert proc.stdout == ""

