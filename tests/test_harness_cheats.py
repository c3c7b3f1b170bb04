"""The harness cannot be gamed: cheating candidates go through a real session and each is refused
with its reason; the honest changes of every rung pass the same checks.

Real training (rungs shrunk to seconds: tests/harness_helpers.py), the bubblewrap sandbox,
the scripted model through litellm, the harness's evaluation and fresh-seed runs.
"""

import re
import threading

import pytest
from agent_helpers import Recorder, config, open_controller, write_script
from harness_cheats import CHEATS
from harness_helpers import REMOVE_HANDICAP, handicapped, micro_home_data, rung_code, shrunk_task

from agent.harness import RunGuard, check_claim
from agent.noderun import run_code
from records.ladder import RUNGS
from runner.sandbox import bwrap_problem

needs_bwrap = pytest.mark.skipif(bool(bwrap_problem()), reason="bubblewrap is needed (.ci/run installs it)")


@pytest.mark.slow
@needs_bwrap
def test_every_cheat_is_refused_with_its_reason_and_the_honest_edit_is_not(tmp_path):
    env = micro_home_data(tmp_path / "corpus")
    task = shrunk_task(tmp_path / "task", handicapped(rung_code(8)))
    honest = f"Remove the start code's handicap.\n\n{REMOVE_HANDICAP}"
    replies = write_script(tmp_path, [cheat.reply(REMOVE_HANDICAP) for cheat in CHEATS] + [honest])
    cfg = config(replies, task_id=task.id, max_nodes=len(CHEATS) + 1, sandbox="bwrap", parallel=2)
    controller, store = open_controller(tmp_path, cfg, task=task, run_env=env)
    recorder = Recorder()
    controller.subscribe(recorder)
    score = controller.run()
    scored = {e.node: e for e in recorder.kinds("node_scored")}
    by_cheat = {}
    for nid, node in controller.state.nodes.items():
        marker = re.search(r"# cheat:(\w+)", store.get_blob(node.code_sha) or "") if nid else None
        by_cheat[marker[1] if marker else ("root" if nid == 0 else "honest")] = nid
    store.close()
    assert set(by_cheat) == {c.name for c in CHEATS} | {"root", "honest"}
    for cheat in CHEATS:
        verdict = scored[by_cheat[cheat.name]]
        assert verdict.status == cheat.status, (cheat.name, verdict.status, verdict.reason)
        assert any(reason in verdict.reason for reason in cheat.reasons), (cheat.name, verdict.reason)
    honest_node = scored[by_cheat["honest"]]
    assert honest_node.status == "valid" and honest_node.is_best, honest_node.reason
    assert controller.state.best_node == by_cheat["honest"]
    assert score.best_time_s < controller.state.nodes[0].time_s


@pytest.mark.slow
@needs_bwrap
def test_the_honest_change_of_every_rung_passes_every_check(tmp_path):
    env = micro_home_data(tmp_path / "corpus")
    failures: dict[int, str] = {}

    def check(number: int) -> None:
        task = shrunk_task(tmp_path / f"task{number}", rung_code(number))
        code = rung_code(number + 1)
        guard = RunGuard(task=task, env=env, sandbox="bwrap", hide=[], session_id=f"honest{number}")
        result = run_code(code, node=1, code_sha="", session_id=guard.session_id, task=task, env=env,
                          timeout_s=300, emit=lambda event: None, cancel=threading.Event(), sandbox="bwrap",
                          save_model=True, clock=guard.clock)
        if not result.valid:
            failures[number] = f"the run itself: {result.reason}"
            return
        verdict = check_claim(guard, code, result, node=1, timeout_s=300)
        if not verdict.ok or verdict.notes:
            failures[number] = f"{verdict.reason} {verdict.notes}"

    threads = [threading.Thread(target=check, args=(n,)) for n in range(1, len(RUNGS))]
    for i in range(0, len(threads), 2):  # two at a time, one per core of the CI machine
        for thread in threads[i:i + 2]:
            thread.start()
        for thread in threads[i:i + 2]:
            thread.join()
    assert failures == {}
