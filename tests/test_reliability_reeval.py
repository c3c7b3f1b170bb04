"""A claimed best is re-evaluated by the harness from the run's saved model; forged claims are invalid."""

import pytest
from agent_helpers import Recorder, config, open_controller, write_script
from reliability_helpers import TINY_TARGET, tiny_data, tiny_task

from records.reevaluate import judge, reevaluate

FORGED_PRINT = """Skip training: print a great validation loss right away.

<<<<<<< SEARCH
model = Bigram(args)
=======
model = Bigram(args)
print("step:1/400 val_loss:0.1000 train_time:5ms step_avg:5.00ms", flush=True)
torch.save(model.state_dict(), os.environ["SPEEDRUN_SAVE_MODEL"])
raise SystemExit(0)
>>>>>>> REPLACE
"""

CONSTANT_LOSS = """Make the loss cheaper to compute.

<<<<<<< SEARCH
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
=======
        return logits.sum() * 0 + 0.5
>>>>>>> REPLACE
"""


def test_forged_losses_are_caught_by_the_harness_and_marked_invalid(tmp_path):
    env = tiny_data(tmp_path / "data")
    replies = write_script(tmp_path, [FORGED_PRINT, CONSTANT_LOSS])
    controller, store = open_controller(tmp_path, config(replies, max_nodes=2), task=tiny_task(tmp_path),
                                        run_env=env)
    recorder = Recorder()
    controller.subscribe(recorder)
    score = controller.run()
    store.close()
    nodes = controller.state.nodes
    assert nodes[0].status == "valid" and controller.state.best_node == 0
    confirmed = [e.text for e in recorder.kinds("note") if e.node == 0]
    assert any(t.startswith("re-evaluated val_loss") and f"confirms the target {TINY_TARGET:.4f}" in t
               for t in confirmed)
    # Both runs claimed the target (their own log says so) ...
    claims = {e.node: e.result for e in recorder.kinds("run_finished")}
    assert claims[1]["status"] == "ok" and claims[1]["final_val_loss"] == pytest.approx(0.1)
    assert claims[2]["status"] == "ok" and claims[2]["final_val_loss"] == pytest.approx(0.5)
    # ... and the harness's own measurement refused them.
    scored = {e.node: e for e in recorder.kinds("node_scored")}
    assert scored[1].status == "invalid" and scored[1].val_loss > 5.0
    assert "is above the target" in scored[1].reason and "(the run claimed 0.1000)" in scored[1].reason
    assert scored[2].status == "invalid" and "does not depend on the targets" in scored[2].reason
    assert score.best_time_s == pytest.approx(nodes[0].time_s) and score.finished


def test_a_run_that_saved_no_model_cannot_be_confirmed(tmp_path):
    check = reevaluate(tmp_path, target_loss=2.0, claimed_loss=1.0, env={})
    assert not check.confirmed and "saved no final model" in check.reason


def test_judging_tolerates_rounding_but_not_a_miss_or_a_nan():
    assert judge({"loss": 2.01, "random_loss": 9.0}, target_loss=2.0, claimed_loss=2.0).confirmed
    assert not judge({"loss": 2.2, "random_loss": 9.0}, target_loss=2.0, claimed_loss=1.9).confirmed
    assert not judge({"loss": float("nan"), "random_loss": 9.0}, target_loss=2.0, claimed_loss=1.9).confirmed
    failed = judge({"error": "train.py has no top-level `model = ...`"}, target_loss=2.0, claimed_loss=None)
    assert not failed.confirmed and failed.reason == "re-evaluation failed: train.py has no top-level `model = ...`"
