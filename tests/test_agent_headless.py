import io

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
