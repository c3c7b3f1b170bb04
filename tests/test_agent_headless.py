import io
import re

from agent_helpers import config, crash, open_controller, speedup, write_script
from rich.console import Console

from agent.headless import run_headless


def test_headless_prints_progress_and_ends_with_the_score(tmp_path):
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [crash(), speedup(0.5)]),
                                                         max_nodes=2))
    out = io.StringIO()
    score = run_headless(controller, Console(file=out, width=200))
    store.close()
    text = out.getvalue()
    assert "fake/1 · scripted:" in text and "flat · hints none · auto" in text
    assert "node 0 · start code, timed on this machine" in text
    assert "node 1 · draft of node 0" in text and "buggy: exited with code 1" in text
    assert "valid: 0.45 s to target · best 0.45 s, FSR 1.000" in text
    assert f"session {score.session} finished" in text
    assert "FSR" in text and "1.000" in text and "nodes run" in text and "3 (1 buggy, 1 improved)" in text
    assert "step 5/10" not in text  # not a terminal: no live display, one line per run


def test_headless_shows_the_run_in_flight_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")  # Rich draws no live display on a dumb terminal
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)]), max_nodes=1))
    console = Console(file=io.StringIO(), force_terminal=True, record=True, width=200)
    run_headless(controller, console)
    store.close()
    text = console.export_text()
    # One row: node, bar, step/total, val_loss against the target, time so far, time left.
    # The root: 0.5 s trained of the 0.9 s the task's start time says.
    assert re.search(r"node 0 \S+ step 5/10 val_loss 2\.5000 \(target 1\.5\) \S+ about 0\.4s left", text)
    # Node 1 trains twice as fast: its steps left bound the estimate below the root's 0.9 s.
    assert re.search(r"node 1 \S+ step 4/10 val_loss 2\.8000 \(target 1\.5\) \S+ at most 0\.3s left", text)
    assert "valid: 0.45 s to target" in text  # each run still ends with its line
