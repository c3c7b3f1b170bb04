"""Whole sessions in auto mode: scripted model through litellm, real store, real runs of a fake trainer."""

import dataclasses
import time

import pytest
from agent_helpers import (FAKE_TRAIN, FIX_CRASH, FakeOpenAI, Recorder, config, crash, fake_task, open_controller,
                           run_in_thread, run_session, speedup, write_script)

from agent.config import SessionConfig
from agent.controller import Controller
from agent.scaffolds import SCAFFOLDS, next_actions
from runner.result import RunResult, ValPoint
from sessions.nodes import Node
from sessions.store import Store


def shape(controller):
    """(stage, parent, status) of every node after the root."""
    nodes = controller.state.nodes
    return [(n.stage, n.parent, n.status) for nid, n in sorted(nodes.items()) if nid > 0]


def test_flat_session_runs_root_then_drafts_and_keeps_the_best(tmp_path):
    controller, score, recorder = run_session(tmp_path, [speedup(0.9), crash(), speedup(0.5), speedup(0.8)],
                                              max_nodes=4)
    assert controller.state.nodes[0].stage == "root" and controller.state.nodes[0].time_s == pytest.approx(0.9)
    assert shape(controller) == [("draft", 0, "valid"), ("draft", 0, "buggy"), ("draft", 0, "valid"),
                                 ("draft", 0, "valid")]
    assert controller.state.best_node == 3
    assert score.best_time_s == pytest.approx(0.45) and score.fsr == pytest.approx(1.0)
    assert (score.nodes, score.buggy_nodes, score.finished) == (5, 1, True)
    # Every draft prompt lists what was tried before it.
    drafts = [e for e in recorder.kinds("llm_request") if e.purpose == "draft"]
    assert "node 2 (draft of node 0): crashed" in drafts[3].messages[1]["content"]
    # Each applied edit is stored as a unified diff, its code as a blob.
    applied = recorder.kinds("edit_applied")[0]
    assert "+STEP_MS *= 0.9" in applied.diff
    with Store(tmp_path / "sessions.db", readonly=True) as store:
        assert "STEP_MS *= 0.9" in store.get_blob(applied.code_sha)
        assert store.session_status(controller.session_id) == "finished"


@pytest.mark.parametrize("seed, target_s, fsr", [(1, 4.0, 0.45 / 0.54), (7, 4.5, 0.45 / 0.495)])
def test_the_next_record_is_rescaled_by_the_ratio_calibrated_for_the_sessions_seed(tmp_path, seed, target_s, fsr):
    """Seed 1 was calibrated (ratio 0.4); seed 7 was not, so the catalog's mean ratio (0.45) is used."""
    task = dataclasses.replace(fake_task(tmp_path), start_time_s=10.0, target_time_s=4.5,
                               seed_times_s=((10.0, 5.0), (10.0, 4.0)))
    cfg = config(write_script(tmp_path, [speedup(0.5)]), seed=seed)
    controller, store = open_controller(tmp_path, cfg, task=task)
    score = controller.run()
    store.close()
    started = controller.state.started
    assert (started.start_time_s, started.target_time_s) == (10.0, target_s)
    assert score.times_source == "measured" and score.start_time_s == pytest.approx(0.9)
    assert score.fsr == pytest.approx(fsr, rel=1e-3)  # (0.9 - 0.45) / (0.9 - 0.9 * ratio)


def test_tree_improves_the_best_valid_node_three_children_per_step(tmp_path):
    replies = [speedup(0.9), speedup(0.5), crash(), speedup(0.9), speedup(0.5)]
    controller, score, _ = run_session(tmp_path, replies, scaffold="tree", max_nodes=5)
    assert [(s, p) for s, p, _ in shape(controller)] == [("draft", 0), ("improve", 1), ("improve", 1),
                                                         ("improve", 1), ("improve", 2)]
    assert controller.state.best_node == 5


def test_forest_drafts_three_then_improves_the_best(tmp_path):
    replies = [crash(), speedup(0.9), speedup(0.8), speedup(0.5), speedup(0.5)]
    controller, _, _ = run_session(tmp_path, replies, scaffold="forest", max_nodes=5)
    assert [(s, p) for s, p, _ in shape(controller)] == [("draft", 0)] * 3 + [("improve", 3)] * 2


def seed_where(scaffold: str, stage: str) -> int:
    """A seed whose first step after the drafts [buggy, 0.81 s, 0.72 s] is `stage` (per the pure policy)."""
    def valid(nid, t):
        return Node(nid, 0, "draft", status="valid",
                    result=RunResult("ok", 0, [ValPoint(9, 1.3, t)], time_to_target_ms=t))

    nodes = {0: valid(0, 900.0), 1: Node(1, 0, "draft", status="buggy", result=RunResult("crashed", 1)),
             2: valid(2, 810.0), 3: valid(3, 720.0)}
    nodes[0].parent, nodes[0].stage = None, "root"
    return next(s for s in range(100) if next_actions(SCAFFOLDS[scaffold], nodes, budget=20, seed=s)[0].stage == stage)


def test_aide_debugs_a_crashed_run_with_its_traceback(tmp_path):
    seed = seed_where("aide", "debug")
    controller, score, recorder = run_session(tmp_path, [crash(), speedup(0.9), speedup(0.8), FIX_CRASH],
                                              scaffold="aide", max_nodes=4, seed=seed)
    assert shape(controller) == [("draft", 0, "buggy"), ("draft", 0, "valid"), ("draft", 0, "valid"),
                                 ("debug", 1, "valid")]
    assert controller.state.nodes[4].bug_depth == 1
    debug_prompt = [e for e in recorder.kinds("llm_request") if e.purpose == "debug"][0].messages[1]["content"]
    assert "RuntimeError: boom" in debug_prompt and "What went wrong in node 1" in debug_prompt
    assert score.best_time_s == pytest.approx(0.45)


def test_multi_aide_improves_the_best_with_three_children(tmp_path):
    seed = seed_where("multi-aide", "improve")
    replies = [crash(), speedup(0.9), speedup(0.8), speedup(0.5), speedup(0.9), speedup(0.95)]
    controller, _, _ = run_session(tmp_path, replies, scaffold="multi-aide", max_nodes=6, seed=seed)
    assert [(s, p) for s, p, _ in shape(controller)][3:] == [("improve", 3)] * 3


def test_a_malformed_edit_goes_back_to_the_model_and_the_retry_runs(tmp_path):
    bad = "Halve the step time.\n\n<<<<<<< SEARCH\nSTEP_TIME_MS = 100\n=======\nSTEP_TIME_MS = 50\n>>>>>>> REPLACE\n"
    controller, _, recorder = run_session(tmp_path, [bad, speedup(0.5)], max_nodes=1)
    failed = recorder.kinds("edit_failed")
    assert len(failed) == 1 and failed[0].attempt == 1 and not failed[0].rule_violation
    assert "matches nothing" in failed[0].reason and "    6 | STEP_MS = 100.0" in failed[0].reason  # nearest line
    fix = [e for e in recorder.kinds("llm_request") if e.purpose == "fix_edit"][0]
    assert fix.messages[-2] == {"role": "assistant", "content": bad}
    assert "Block 1 failed" in fix.messages[-1]["content"]
    assert recorder.kinds("edit_proposed")[0].attempt == 2
    assert shape(controller) == [("draft", 0, "valid")]


def test_an_edit_that_keeps_failing_is_dropped_after_three_reflections(tmp_path):
    bad = "Nothing useful.\n"
    controller, _, recorder = run_session(tmp_path, [bad] * 4, max_nodes=1)
    assert [e.attempt for e in recorder.kinds("edit_failed")] == [1, 2, 3, 4]
    assert len(recorder.kinds("llm_request")) == 4 and recorder.kinds("run_started")[-1].node == 0
    assert shape(controller) == [("draft", 0, "invalid")]


def test_a_rule_violation_is_not_run_and_goes_back_to_the_model(tmp_path):
    cheat = "Use less validation.\n\n<<<<<<< SEARCH\nval_tokens = 4096\n=======\nval_tokens = 512\n>>>>>>> REPLACE\n"
    undo = "Restore it.\n\n<<<<<<< SEARCH\nval_tokens = 512\n=======\nval_tokens = 4096\nSTEP_MS *= 0.5\n>>>>>>> REPLACE\n"
    controller, _, recorder = run_session(tmp_path, [cheat, undo], max_nodes=1)
    failed = recorder.kinds("edit_failed")
    assert len(failed) == 1 and failed[0].rule_violation and "val_tokens" in failed[0].reason
    assert len(recorder.kinds("run_started")) == 2  # the root and the fixed edit only
    assert shape(controller) == [("draft", 0, "valid")]


def test_a_model_that_keeps_failing_ends_the_session(tmp_path):
    controller, score, _ = run_session(tmp_path, [speedup(0.5)], max_nodes=6)
    assert shape(controller)[0] == ("draft", 0, "valid")
    assert [s for _, _, s in shape(controller)[1:]] == ["invalid"] * 3
    assert controller.state.finished.status == "failed" and "no reply left" in controller.state.finished.reason
    assert not score.finished


def test_parallel_runs_overlap(tmp_path):
    slow = [speedup(0.9, variant=i).replace("STEP_MS *= 0.9", "import time\ntime.sleep(1.0)\nSTEP_MS *= 0.9")
            for i in range(1, 5)]
    controller, _, recorder = run_session(tmp_path, slow, max_nodes=4, parallel=2)
    assert sorted(controller.state.nodes) == [0, 1, 2, 3, 4]
    order = [(e.kind, e.node) for e in recorder.events if e.kind in ("run_started", "run_finished", "node_scored")]
    assert order.index(("run_started", 1)) < order.index(("run_finished", 0))  # the first draft beside the root
    assert order.index(("node_scored", 0)) < order.index(("node_scored", 1))  # ...scored after it
    later = [item for item in order if item[1] in (2, 3)]
    assert later.index(("run_started", 3)) < later.index(("run_finished", 2))  # a later batch overlaps too
    assert all(n.status == "valid" for nid, n in controller.state.nodes.items())


def test_a_start_code_that_fails_beside_a_draft_cancels_the_draft(tmp_path):
    fails_unedited = ("import time\ntime.sleep(1.0)\nif 'sleep(' + '30)' not in open(__file__).read():\n"
                      "    raise SystemExit('no training today')\n")
    broken = fake_task(tmp_path, fails_unedited + FAKE_TRAIN)
    slow = speedup(0.5).replace("STEP_MS *= 0.5", "STEP_MS *= 0.5\ntime.sleep(30)")
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [slow]), max_nodes=1, parallel=2),
                                        task=broken)
    started = time.monotonic()
    controller.run()
    store.close()
    assert time.monotonic() - started < 25
    finished = controller.state.finished
    assert finished.status == "failed" and "start code itself failed" in finished.reason
    assert controller.state.nodes[1].status == "cancelled"


def test_pause_step_resume(tmp_path):
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5), speedup(0.5, variant=1)]), max_nodes=2))
    recorder = Recorder()
    controller.subscribe(recorder)
    controller.pause()
    thread, outcome = run_in_thread(controller)
    time.sleep(1.0)
    assert recorder.kinds("run_started") == []
    controller.step()  # exactly one node: the root
    recorder.wait_for(lambda e: e.kind == "node_scored" and e.node == 0)
    time.sleep(1.0)
    assert [e.node for e in recorder.kinds("node_created")] == [0]
    controller.resume()
    thread.join(60)
    assert outcome["score"].finished and sorted(controller.state.nodes) == [0, 1, 2]
    store.close()


def test_stop_cancels_the_run_and_leaves_the_session_resumable(tmp_path):
    hang = speedup(0.5).replace("STEP_MS *= 0.5", "import time\ntime.sleep(60)")
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [hang]), max_nodes=1))
    recorder = Recorder()
    controller.subscribe(recorder)
    thread, outcome = run_in_thread(controller)
    recorder.wait_for(lambda e: e.kind == "run_started" and e.node == 1)
    started = time.monotonic()
    controller.stop()
    thread.join(30)
    assert time.monotonic() - started < 15
    assert controller.state.finished.status == "stopped"
    assert controller.state.nodes[1].result is None  # unscored: a resume runs it again
    assert store.session_status(controller.session_id) == "unfinished"
    store.close()


def test_replay_re_executes_a_recorded_sessions_replies(tmp_path):
    first, _, _ = run_session(tmp_path, [speedup(0.9), crash(), speedup(0.5)], max_nodes=3)
    replay, store = open_controller(tmp_path, config(tmp_path / "unused", model=f"replay:{first.session_id}",
                                                     max_nodes=3))
    replay.run()
    store.close()
    assert shape(replay) == shape(first)
    assert [n.diff for n in replay.state.nodes.values()] == [n.diff for n in first.state.nodes.values()]


def test_reference_model_proposes_the_tasks_own_next_version(tmp_path):
    faster = FAKE_TRAIN.replace("STEP_MS = 100.0", "STEP_MS = 40.0")
    task = fake_task(tmp_path, reference=faster)
    store = Store(tmp_path / "sessions.db")
    controller = Controller(SessionConfig(task_id="fake/1"), store, task=task, run_env={})
    score = controller.run()
    store.close()
    assert controller.budget == 1 and sorted(controller.state.nodes) == [0, 1]
    assert controller.state.started.config["model_label"].startswith("reference (upper bound")
    assert score.best_time_s == pytest.approx(0.36) and score.fsr > 1.0


def test_openai_compatible_server_drives_a_session(tmp_path):
    with FakeOpenAI([speedup(0.5), speedup(0.8)]) as server:
        cfg = SessionConfig(task_id="fake/1", model="openai/tiny-model", api_base=server.api_base, max_nodes=2,
                            hints="text")
        controller, store = open_controller(tmp_path, cfg)
        score = controller.run()
        store.close()
    assert len(server.requests) == 2 and server.requests[0]["body"]["model"] == "tiny-model"
    system, user = server.requests[0]["body"]["messages"]
    assert "val_loss" in system["content"] and "<<<<<<< SEARCH" in system["content"]
    assert "Make each step cheaper" in user["content"] and "STEP_MS = 100.0" in user["content"]
    assert shape(controller) == [("draft", 0, "valid"), ("draft", 0, "valid")]
    assert score.tokens == 2 * (123 + 45)
