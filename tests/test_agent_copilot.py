"""Copilot decisions given programmatically, as a view would give them."""

import pytest
from agent_helpers import FAKE_TRAIN, Recorder, config, open_controller, run_in_thread, speedup, write_script

from agent.decisions import Decision
from speedrun_tui.errors import UserError


class Reviewer:
    """Answers each approval request with the next decision of a list."""

    def __init__(self, controller, decisions):
        self.controller = controller
        self.decisions = list(decisions)
        self.asked = []

    def __call__(self, event):
        if event.kind == "approval_requested":
            self.asked.append(event.node)
            self.controller.decide(self.decisions.pop(0))


def test_every_copilot_decision(tmp_path):
    replies = [speedup(0.9), speedup(0.5), speedup(0.8), speedup(0.7), speedup(0.95), speedup(0.6),
               speedup(0.6, variant=1)]
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, replies), mode="copilot",
                                                         max_nodes=4))
    cheat = FAKE_TRAIN.replace("val_tokens = 4096", "val_tokens = 8")
    by_hand = FAKE_TRAIN.replace("STEP_MS = 100.0", "STEP_MS = 40.0")
    reviewer = Reviewer(controller, [
        Decision("steer", "halve it instead"), Decision("approve"),  # node 1
        Decision("reject", "too timid"), Decision("edit", code=cheat), Decision("edit", code=by_hand),  # node 2
        Decision("skip"),  # node 3: dropped, does not use the budget
        Decision("approve_all"),  # node 4, and node 5 runs without asking
    ])
    recorder = Recorder()
    controller.subscribe(recorder)
    controller.subscribe(reviewer)
    score = controller.run()
    store.close()

    purposes = [e.purpose for e in recorder.kinds("llm_request")]
    assert purposes == ["draft", "steer", "draft", "reject", "draft", "draft", "draft"]
    steer = [e for e in recorder.kinds("llm_request") if e.purpose == "steer"][0]
    assert "halve it instead" in steer.messages[-1]["content"]
    assert reviewer.asked == [1, 1, 2, 2, 2, 3, 4]
    nodes = controller.state.nodes
    assert nodes[1].status == "valid" and nodes[1].time_s == pytest.approx(0.45)  # the steered version ran
    assert nodes[2].time_s == pytest.approx(0.36)  # the hand edit ran, after the rule-breaking one was refused
    assert [e.rule_violation for e in recorder.kinds("edit_failed")] == [True]
    assert nodes[3].status == "rejected" and nodes[3].result is None
    assert nodes[4].status == "valid" and nodes[5].status == "valid" and controller.mode == "auto"
    assert score.intervention_counts == {"approve": 2, "reject": 2, "steer": 1, "edit": 2}
    assert score.best_time_s == pytest.approx(0.36)


def test_switching_to_auto_grants_the_pending_approval(tmp_path):
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5), speedup(0.5, variant=1)]), mode="copilot",
                                                         max_nodes=2))
    recorder = Recorder()
    controller.subscribe(recorder)
    thread, outcome = run_in_thread(controller)
    recorder.wait_for(lambda e: e.kind == "approval_requested")
    controller.set_mode("auto")
    thread.join(60)
    decisions = recorder.kinds("human_decision")
    assert [(d.decision, d.by) for d in decisions] == [("approve", "policy")]
    assert len(recorder.kinds("approval_requested")) == 1 and outcome["score"].nodes == 3
    assert outcome["score"].interventions == 0
    store.close()


def test_ask_is_answered_without_an_edit(tmp_path):
    replies = [speedup(0.5), "Because each step costs STEP_MS.\n"]
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, replies), mode="copilot"))
    recorder = Recorder()
    controller.subscribe(recorder)
    thread, outcome = run_in_thread(controller)
    recorder.wait_for(lambda e: e.kind == "approval_requested")
    controller.decide(Decision("ask", "why is it slow?"))
    answer = recorder.wait_for(lambda e: e.kind == "llm_response" and controller.state.call_purposes.get(e.call_id) == "ask")
    assert answer.text == "Because each step costs STEP_MS.\n"
    assert controller.state.chat[-1] is answer or answer in controller.state.chat
    assert controller.state.pending_approval is not None  # still waiting for the decision
    controller.decide(Decision("approve"))
    thread.join(60)
    assert outcome["score"].best_time_s == pytest.approx(0.45)
    store.close()


def test_a_steer_between_edits_goes_into_the_next_prompt(tmp_path):
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5), speedup(0.5, variant=1)]), mode="auto",
                                                         max_nodes=2))
    recorder = Recorder()
    controller.subscribe(recorder)
    steered = []

    def steer_after_root(event):  # while node 0 runs, nothing waits for approval
        if event.kind == "run_started" and event.node == 0 and not steered:
            steered.append(True)
            controller.decide(Decision("steer", "try a longer warmup"))

    controller.subscribe(steer_after_root)
    score = controller.run()
    store.close()

    first, second = [e for e in recorder.kinds("llm_request") if e.purpose == "draft"]
    assert "try a longer warmup" in first.messages[-1]["content"]
    assert "try a longer warmup" not in second.messages[-1]["content"]  # said once, used once
    assert [(e.decision, e.text) for e in recorder.kinds("human_decision")] == [("steer", "try a longer warmup")]
    assert score.intervention_counts["steer"] == 1


def test_a_fork_starts_the_next_edit_from_the_picked_node_with_the_steer(tmp_path):
    replies = [speedup(0.9), speedup(0.5), speedup(0.8)]
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, replies), mode="copilot",
                                                         max_nodes=3))
    recorder = Recorder()
    controller.subscribe(recorder)

    def review(event):
        if event.kind != "approval_requested":
            return
        if event.node == 2:  # node 1 has run: the next edit starts from it, not from the root
            controller.decide(Decision("fork", "try a smaller factor", node=1))
        controller.decide(Decision("approve"))

    controller.subscribe(review)
    with pytest.raises(UserError, match="node 7 has no code to fork from"):
        controller.fork(7)
    score = controller.run()
    store.close()
    nodes = controller.state.nodes
    assert [(n.id, n.stage, n.parent, n.forked) for n in nodes.values()][1:] == [
        (1, "draft", 0, False), (2, "draft", 0, False), (3, "improve", 1, True)]  # flat: drafts only, but the fork
    prompts = [e for e in recorder.kinds("llm_request") if e.node == 3]
    assert "try a smaller factor" in prompts[0].messages[-1]["content"]
    assert "STEP_MS *= 0.9" in prompts[0].messages[-1]["content"]  # node 1's code, not node 2's
    assert "STEP_MS *= 0.5" not in prompts[0].messages[-1]["content"]
    fork = [e for e in recorder.kinds("human_decision") if e.decision == "fork"]
    assert [(e.node, e.text) for e in fork] == [(1, "try a smaller factor")]
    assert score.nodes == 4 and score.intervention_counts["steer"] == 1  # the fork used the budget's last node


def test_fork_is_refused_in_auto_mode(tmp_path):
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)]), mode="auto"))
    with pytest.raises(UserError, match="fork is for co-pilot and human modes"):
        controller.fork(0, "from the start")
    store.close()
