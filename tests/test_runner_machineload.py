"""Load awareness: a run timed on an oversubscribed machine says so, and too many runs at once are refused.

Real processes throughout: busy loops stand beside a real run, sessions run the fake task.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from agent_helpers import config, open_controller, speedup, write_script
from runner_helpers import trainer, write_script as write_runner_script

from rich.console import Console

from agent.commands import session_config
from agent.headless import ProgressPrinter
from records.calibrate import calibrate, select_rungs
from runner.local import run_local
from runner.machineload import (LOAD_MARGIN, MIN_MEASURED_S, STEAL_PCT_MAX, MachineLoad, available_cores,
                                busy_note)
from runner.result import RunResult
from runner.spec import RunSpec
from runner.workspace import RESULT_NAME
from sessions import events as ev
from sessions.state import SessionState
from speedrun_tui.cli import build_parser, main
from speedrun_tui.errors import UserError
from tui.describe import describe
from tui.widgets.statusbar import status_of, status_text
from tui.widgets.tree import node_label

CORES = available_cores()
BUSY_LOOP = "while True: pass"


def busy_loops(folder: Path, count: int) -> list[subprocess.Popen]:
    """`count` processes spinning on a core each, every one in a run folder of its own beside the run's."""
    procs = []
    for i in range(count):
        cwd = folder / f"other-run-{i}"
        cwd.mkdir(parents=True)
        procs.append(subprocess.Popen([sys.executable, "-c", BUSY_LOOP], cwd=cwd))
    return procs


def test_cores_are_what_nproc_says():
    assert CORES == int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout)


def test_a_run_beside_more_busy_loops_than_cores_is_marked_busy_everywhere(tmp_path):
    runs = tmp_path / "runs"
    loops = busy_loops(runs, CORES + 1)  # 2 or more, and more than the cores
    try:
        result = run_local(RunSpec(script=trainer(tmp_path, [4.0, 3.0]), target_loss=3.28, workdir=runs / "mine",
                                   env={"SPEEDRUN_THREADS": "1"}))
    finally:
        for proc in loops:
            proc.kill()
            proc.wait()
    load = result.load
    assert load is not None and load.runs_in_flight == CORES + 2 and load.threads == 1 and load.cores == CORES
    assert load.oversubscribed
    assert f"{CORES + 2} runs x 1 thread on {CORES} core" in load.reason
    assert "\n" not in load.reason
    assert json.loads((runs / "mine" / RESULT_NAME).read_text())["load"]["runs_in_flight"] == CORES + 2

    # Where a person sees it: the log line, the tree, the status bar, the headless line.
    event = ev.RunFinished(node=0, result=result.to_json())
    assert describe(event).endswith(f"(machine busy: {load.reason}; times suspect)")
    state = SessionState("s")
    state.apply(ev.SessionStarted(task="micro/1", model="reference", scaffold="flat", hints="none", mode="auto"))
    state.apply(ev.NodeCreated(node=0, parent=None, stage="root"))
    state.apply(event)
    assert f"{result.time_to_target_ms / 1000:.1f}s busy" in node_label(state.nodes[0], state).plain
    bar = status_text(status_of(state, mode="auto", fsr=None, now=0.0, activity="running")).plain
    assert f"busy: {CORES + 2}x1 threads/{CORES} core" in bar
    scored = ev.NodeScored(node=0, status="valid", time_s=result.time_to_target_ms / 1000, is_best=True)
    state.apply(scored)
    console = Console(file=io.StringIO(), width=300)
    ProgressPrinter(state, console)(scored)
    assert f"(machine busy: {load.reason}; times suspect)" in console.file.getvalue()
    assert busy_note(result.to_json()["load"]) == f" (machine busy: {load.reason}; times suspect)"


def test_a_lone_run_has_its_load_filled(tmp_path):
    # Long enough (MIN_MEASURED_S) for the load average and the steal share to be read.
    script = write_runner_script(tmp_path, "train.py", f"""
        import time
        print("step:0/1 val_loss:4.0 train_time:0ms step_avg:nanms", flush=True)
        time.sleep({MIN_MEASURED_S + 0.3})
        print("step:1/1 val_loss:3.0 train_time:10ms step_avg:10.00ms", flush=True)
        """)
    result = run_local(RunSpec(script=script, target_loss=3.28, workdir=tmp_path / "runs" / "lone"))
    load = result.load
    assert result.valid and load is not None
    assert (load.cores, load.threads, load.runs_in_flight) == (CORES, 1, 1)
    assert load.load_max is not None and load.load_max >= 0
    assert load.steal_pct is not None and 0 <= load.steal_pct <= 100
    # This machine may be busy with other work: then the reason says which, and never the runs.
    assert load.oversubscribed == bool(load.reason) and "runs x" not in load.reason
    assert ("machine busy" in describe(ev.RunFinished(node=0, result=result.to_json()))) == load.oversubscribed


def test_a_short_run_reads_no_load_average_or_steal(tmp_path):
    result = run_local(RunSpec(script=trainer(tmp_path, [4.0, 3.0]), target_loss=3.28, workdir=tmp_path / "r" / "a"))
    assert result.wall_s < MIN_MEASURED_S
    assert (result.load.load_max, result.load.steal_pct, result.load.runs_in_flight) == (None, None, 1)
    assert not result.load.oversubscribed and busy_note(result.load) == ""


def test_the_thresholds_and_their_reasons():
    assert not MachineLoad(cores=2, load_max=2 + LOAD_MARGIN, steal_pct=STEAL_PCT_MAX, runs_in_flight=2).oversubscribed
    assert MachineLoad(cores=2, load_max=3.4).reason == "load 3.4 on 2 cores"
    assert MachineLoad(cores=2, runs_in_flight=3).reason == "3 runs x 1 thread on 2 cores"
    assert MachineLoad(cores=4, threads=2, runs_in_flight=3).short == "3x2 threads/4 cores"
    assert MachineLoad(cores=2, steal_pct=12.0).reason == "12% CPU stolen"
    both = MachineLoad(cores=2, load_max=3.4, runs_in_flight=3)
    assert both.reason == "3 runs x 1 thread on 2 cores, load 3.4 on 2 cores" and both.short == "3x1 threads/2 cores"
    assert MachineLoad(cores=2).reason == "" and not MachineLoad(cores=2).oversubscribed  # nothing measured


def test_the_result_json_keeps_the_load(tmp_path):
    result = run_local(RunSpec(script=trainer(tmp_path, [4.0, 3.0]), target_loss=3.28))
    back = RunResult.from_json(json.loads(json.dumps(result.to_json())))
    assert back.load == result.load and isinstance(back.load, MachineLoad)
    busy = MachineLoad(cores=2, threads=1, load_max=3.4, steal_pct=0.5, runs_in_flight=1)
    result.load = busy
    back = RunResult.from_json(json.loads(json.dumps(result.to_json())))
    assert back.load == busy and back.load.reason == "load 3.4 on 2 cores"
    old = result.to_json()
    del old["load"]  # stored before loads were recorded
    assert RunResult.from_json(old).load is None


def test_parallel_above_the_cores_is_refused_unless_oversubscribe(tmp_path):
    script = write_script(tmp_path, [speedup(0.5)])
    with pytest.raises(UserError) as refused:
        open_controller(tmp_path, config(script, parallel=CORES + 1))
    message = str(refused.value)
    assert "\n" not in message
    assert f"--parallel {CORES + 1} x 1 thread per run wants {CORES + 1} cores, this machine has {CORES}" in message
    assert "--oversubscribe" in message

    controller, store = open_controller(tmp_path, config(script, parallel=CORES + 1, oversubscribe=True))
    assert controller.config.parallel == CORES + 1
    assert controller.state.started.config["oversubscribe"] is True  # recorded with the session
    store.close()  # never run: left unfinished, as a killed process leaves it


def test_a_resumed_session_is_refused_the_same_way(tmp_path):
    script = write_script(tmp_path, [speedup(0.5)])
    controller, store = open_controller(tmp_path, config(script))
    store.close()
    session = controller.session_id
    with pytest.raises(UserError, match=f"--parallel {CORES + 1} x 1 thread per run.*--oversubscribe"):
        open_controller(tmp_path, config(script, parallel=CORES + 1), session_id=session)
    resumed, store = open_controller(tmp_path, config(script, parallel=CORES + 1, oversubscribe=True),
                                     session_id=session)
    assert resumed.config.parallel == CORES + 1
    store.close()


def test_the_oversubscribe_flag_reaches_the_session_config():
    args = build_parser().parse_args(["run", "micro/1", "--parallel", str(CORES + 1), "--oversubscribe"])
    assert session_config(args).oversubscribe
    assert not session_config(build_parser().parse_args(["run", "micro/1"])).oversubscribe


def test_calibrate_jobs_above_the_cores_is_refused_unless_oversubscribe(tmp_path, capsys):
    out = tmp_path / "cal.json"
    assert main(["calibrate", "micro", "--rungs", "9", "--seeds", "1", "--jobs", str(CORES + 1),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--jobs {CORES + 1} x 1 thread per run" in err and "--oversubscribe" in err
    assert not out.exists()
    # Allowed, it starts: here it is interrupted before its first run.
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(UserError, match="interrupted"):
        calibrate(select_rungs([9]), seeds=1, threads=1, target_loss=5.0, jobs=CORES + 1, out=out,
                  cancel=cancel, oversubscribe=True)
