"""Human mode: the person edits train.py in a workspace; watchdog sees each save."""

import pytest
from agent_helpers import FAKE_TRAIN, Recorder, config, open_controller, run_in_thread, speedup, write_script

from agent.config import SessionConfig
from agent.decisions import Decision
from agent.scaffolds import BENCHMARK_BUDGET
from speedrun_tui.errors import UserError


def human_session(tmp_path, max_nodes: int):
    """A human session running in its own thread, once its workspace is open:
    (controller, store, recorder, thread, outcome, the workspace's train.py)."""
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, ["unused\n"]), mode="human",
                                                         max_nodes=max_nodes))
    recorder = Recorder()
    controller.subscribe(recorder)
    thread, outcome = run_in_thread(controller)
    recorder.wait_for(lambda e: e.kind == "note" and "in your editor" in e.text)
    return controller, store, recorder, thread, outcome, controller.workspace_path


def test_a_save_is_seen_shown_as_a_diff_and_run_on_request(tmp_path):
    controller, store, recorder, thread, outcome, workspace = human_session(tmp_path, 2)
    assert workspace.read_text() == FAKE_TRAIN  # starts from the best node: the root

    workspace.write_text(FAKE_TRAIN.replace("val_tokens = 4096", "val_tokens = 16"))  # breaks a rule
    recorder.wait_for(lambda e: e.kind == "approval_requested")
    controller.decide(Decision("approve"))
    recorder.wait_for(lambda e: e.kind == "edit_failed")
    workspace.write_text(FAKE_TRAIN.replace("STEP_MS = 100.0", "STEP_MS = 50.0"))
    second = recorder.wait_for(lambda e: e.kind == "approval_requested" and "+STEP_MS = 50.0" in e.diff)
    assert second.node == 1
    controller.decide(Decision("approve"))
    recorder.wait_for(lambda e: e.kind == "node_scored" and e.node == 1)

    # The next edit continues from what just ran.
    workspace.write_text(FAKE_TRAIN.replace("STEP_MS = 100.0", "STEP_MS = 25.0"))
    third = recorder.wait_for(lambda e: e.kind == "approval_requested" and e.node == 2)
    assert "-STEP_MS = 50.0" in third.diff and "+STEP_MS = 25.0" in third.diff
    controller.decide(Decision("approve"))
    thread.join(60)
    score = outcome["score"]
    nodes = controller.state.nodes
    assert [(n.stage, n.parent, n.status) for n in nodes.values()][1:] == [("human", 0, "valid"), ("human", 1, "valid")]
    assert score.best_time_s == pytest.approx(0.225, abs=0.001) and score.finished
    assert recorder.kinds("llm_request") == []  # no model in human mode
    store.close()


def test_approve_before_any_save_runs_nothing(tmp_path):
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, ["unused\n"]), mode="human"))
    recorder = Recorder()
    controller.subscribe(recorder)
    thread, outcome = run_in_thread(controller)
    recorder.wait_for(lambda e: e.kind == "note" and "in your editor" in e.text)
    controller.decide(Decision("approve"))
    recorder.wait_for(lambda e: e.kind == "note" and "nothing to run yet" in e.text)
    controller.stop()
    thread.join(30)
    assert sorted(controller.state.nodes) == [0] and controller.state.finished.status == "stopped"
    store.close()


def test_leaving_human_mode_hands_the_session_to_the_agent(tmp_path):
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)]), mode="human",
                                                         max_nodes=2))
    recorder = Recorder()
    controller.subscribe(recorder)
    thread, outcome = run_in_thread(controller)
    recorder.wait_for(lambda e: e.kind == "note" and "in your editor" in e.text)
    controller.workspace_path.write_text(FAKE_TRAIN.replace("STEP_MS = 100.0", "STEP_MS = 80.0"))
    recorder.wait_for(lambda e: e.kind == "approval_requested")
    controller.decide(Decision("approve"))
    recorder.wait_for(lambda e: e.kind == "node_scored" and e.node == 1)
    controller.set_mode("auto")
    thread.join(60)
    nodes = controller.state.nodes
    assert [(n.stage, n.status) for n in nodes.values()][1:] == [("human", "valid"), ("draft", "valid")]
    assert outcome["score"].best_time_s == pytest.approx(0.45)
    store.close()


def test_a_human_session_without_a_model_is_model_human_with_the_benchmark_budget(tmp_path):
    # `reference` is the default of the CLI and of the home form; its budget is one node.
    controller, store = open_controller(tmp_path, SessionConfig(task_id="fake/1", mode="human"))
    started = controller.state.started
    assert (controller.config.model, controller.budget) == ("human", BENCHMARK_BUDGET)
    assert (started.model, started.config["model_label"]) == ("human", "human")  # not the upper bound
    store.close()
    capped, store = open_controller(tmp_path, SessionConfig(task_id="fake/1", mode="human", max_nodes=3))
    assert (capped.config.model, capped.budget) == ("human", 3)
    store.close()


def test_model_human_stays_in_human_mode_and_has_nobody_to_ask(tmp_path):
    with pytest.raises(UserError, match="--mode auto needs a model"):
        open_controller(tmp_path, SessionConfig(task_id="fake/1", model="human", mode="auto"))
    controller, store = open_controller(tmp_path, SessionConfig(task_id="fake/1", mode="human"))
    recorder = Recorder()
    controller.subscribe(recorder)
    thread, outcome = run_in_thread(controller)
    recorder.wait_for(lambda e: e.kind == "note" and "in your editor" in e.text)
    controller.set_mode("auto")
    recorder.wait_for(lambda e: e.kind == "note" and "no auto mode" in e.text)
    controller.ask("what limits the speed?")
    recorder.wait_for(lambda e: e.kind == "note" and "no answer: model human has no model to ask" in e.text)
    assert controller.mode == "human"
    controller.stop()
    thread.join(30)
    assert controller.state.finished.status == "stopped"
    store.close()


def test_a_fork_puts_the_picked_nodes_code_in_the_workspace(tmp_path):
    controller, store, recorder, thread, outcome, workspace = human_session(tmp_path, 3)
    for node, step_ms in ((1, "50.0"), (2, "25.0")):
        workspace.write_text(workspace.read_text().replace("STEP_MS = ", f"STEP_MS = {step_ms} # "))
        recorder.wait_for(lambda e, n=node: e.kind == "approval_requested" and e.node == n)
        controller.decide(Decision("approve"))
        recorder.wait_for(lambda e, n=node: e.kind == "node_scored" and e.node == n)
    controller.fork(1, "back to 50 ms, then something else")
    recorder.wait_for(lambda e: e.kind == "human_decision" and e.decision == "fork")
    deadline = __import__("time").monotonic() + 10
    while "STEP_MS = 50.0 #" not in workspace.read_text() or "25.0" in workspace.read_text():
        assert __import__("time").monotonic() < deadline, "the workspace never showed node 1's code"
        __import__("time").sleep(0.1)
    workspace.write_text(workspace.read_text().replace("STEP_MS = 50.0", "STEP_MS = 40.0"))
    third = recorder.wait_for(lambda e: e.kind == "approval_requested" and e.node == 3)
    assert "-STEP_MS = 50.0" in third.diff and "+STEP_MS = 40.0" in third.diff
    controller.decide(Decision("approve"))
    thread.join(60)
    nodes = controller.state.nodes
    assert [(n.parent, n.forked, n.status) for n in nodes.values()][1:] == [
        (0, False, "valid"), (1, False, "valid"), (1, True, "valid")]
    store.close()
