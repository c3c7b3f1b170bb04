"""The harness evaluates a claim itself: the saved model's logits on its tokens, its loss, its clock."""

import pytest
from agent_helpers import Recorder, config, open_controller, write_script
from reliability_helpers import TINY_TRAIN, tiny_data, tiny_task

from records.integrity import (CLAIM_GRACE_S, HELDOUT_GAP, TRAIN_RATIO_MAX, judge_run, seed_failure)
from records.reevaluate import ModelCheck, eval_settings, measure_model
from runner.result import RunResult, ValPoint
from runner.treeclock import HarnessClock

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

# Only runs faster than the start code get the harness's checks: the start code of the session
# below carries this handicap (18 matmuls: 6 left a forged run within a drifting host's noise), and
# the contract-breaking edit drops it.
HANDICAP = "    _handicap = [torch.ones(256, 256) @ torch.ones(256, 256) for _ in range(18)]\n"
STEP = "    loss = model(batch[:, :-1], batch[:, 1:])\n"
LOSS_NOT_LOGITS = f"""Return the loss from every call, and drop the wasted work.

<<<<<<< SEARCH
        if targets is None:  # the harness's contract: model(idx) returns the logits
            return logits
=======
        if targets is None:
            return logits.mean()
>>>>>>> REPLACE
<<<<<<< SEARCH
{HANDICAP}=======
>>>>>>> REPLACE
"""


@pytest.mark.slow
def test_forged_losses_and_a_broken_contract_are_refused_by_the_harness(tmp_path):
    env = tiny_data(tmp_path / "data")
    replies = write_script(tmp_path, [FORGED_PRINT, CONSTANT_LOSS, LOSS_NOT_LOGITS])
    task = tiny_task(tmp_path, TINY_TRAIN.replace(STEP, HANDICAP + STEP))
    controller, store = open_controller(tmp_path, config(replies, max_nodes=3), task=task, run_env=env)
    recorder = Recorder()
    controller.subscribe(recorder)
    score = controller.run()
    store.close()
    assert controller.state.nodes[0].status == "valid" and controller.state.best_node == 0
    claims = {e.node: e.result for e in recorder.kinds("run_finished")}
    assert claims[1]["status"] == "ok" and claims[1]["final_val_loss"] == pytest.approx(0.1)
    assert claims[2]["status"] == "ok" and claims[2]["final_val_loss"] == pytest.approx(0.5)
    scored = {e.node: e for e in recorder.kinds("node_scored")}
    assert scored[1].status == "invalid" and "above the target" in scored[1].reason
    assert "it claimed 0.1000" in scored[1].reason
    assert scored[2].status == "invalid" and "above the target" in scored[2].reason  # it never learned
    assert scored[3].status == "invalid" and "the contract is logits of shape (B, T, vocab)" in scored[3].reason
    warnings = [e.text for e in recorder.kinds("note") if e.level == "warning" and e.node]
    assert any("no held-out split" in text for text in warnings)  # the tiny task has none: said, not implied
    assert score.best_time_s == pytest.approx(controller.state.nodes[0].time_s) and score.finished


def test_a_run_that_saved_no_model_cannot_be_confirmed(tmp_path):
    (tmp_path / "train.py").write_text("seq_len: int = 32\nval_tokens: int = 64\n")
    check = measure_model(tmp_path, start_code="seq_len: int = 32\nval_tokens: int = 64\n", val_bin="", heldout_bin=None,
                          env={})
    assert "saved no model" in check.error


def test_the_harness_takes_its_settings_from_the_start_code_only():
    assert eval_settings("class H:\n    seq_len: int = 256\n    val_tokens: int = 16_384\n") == (256, 16384)
    with pytest.raises(ValueError, match="val_tokens"):
        eval_settings("seq_len: int = 256\nval_tokens = int(os.environ['N'])\n")


def _claim(loss=1.95, clock=None) -> RunResult:
    return RunResult(status="ok", exit_code=0, curve=[ValPoint(0, 5.5, 0.0), ValPoint(40, loss, 4000.0)],
                     time_to_target_ms=4000.0, steps_to_target=40, target_loss=2.0, final_val_loss=loss, clock=clock)


def _clock(**fields) -> HarnessClock:
    values = dict(clock="cpu", first_s=4.1, train_s=4.0, train_claimed_s=4.0, claim_s=9.0, claim_claimed_s=4.0,
                  claim_val_intervals=4, claim_val_unclaimed_s=0.8, after_claim_s=0.5)
    return HarnessClock(**{**values, **fields})


def _model(**fields) -> ModelCheck:
    return ModelCheck(**{**dict(val_loss=1.95, test_loss=1.96, probe_change=0.0, val_pass_s=0.2), **fields})


def test_an_honest_claim_passes_and_each_check_names_what_it_caught():
    assert judge_run(_claim(clock=_clock()), target_loss=2.0, model=_model()).ok
    cases = {
        "kept running": dict(clock=_clock(after_claim_s=CLAIM_GRACE_S + 1)),
        "its loss is not the harness's": dict(model=_model(val_loss=1.99)),
        "above the target": dict(model=_model(val_loss=2.2)),
        "sees what it predicts": dict(model=_model(probe_change=0.5)),
        "trained on the validation data": dict(model=_model(test_loss=1.95 + HELDOUT_GAP + 0.01)),
        "its clock does not count all its work": dict(clock=_clock(train_s=4.0 * (TRAIN_RATIO_MAX + 0.05))),
        "works while its clock is paused": dict(clock=_clock(claim_val_unclaimed_s=2.0)),
        "before its clock starts": dict(clock=_clock(first_s=20.0)),
    }
    for expected, given in cases.items():
        clock = given.get("clock", _clock())
        verdict = judge_run(_claim(clock=clock), target_loss=2.0, model=given.get("model", _model()))
        assert not verdict.ok and expected in verdict.reason, (expected, verdict.reason)


def test_the_held_out_allowance_follows_the_start_codes_own_gap():
    model = _model(val_loss=1.95, test_loss=2.03)  # 0.08 above: within the absolute allowance
    assert judge_run(_claim(clock=_clock()), target_loss=2.0, model=model).ok
    assert not judge_run(_claim(clock=_clock()), target_loss=2.0, model=model, reference_gap=0.0).ok


def test_a_run_that_ignores_its_seed_repeats_its_curve():
    first = _claim()
    assert "ignores SPEEDRUN_SEED" in seed_failure(first, _claim(), (0, 7))
    assert seed_failure(first, _claim(loss=1.97), (0, 7)) == ""
    crashed = RunResult(status="crashed", exit_code=1, reason="exited with code 1: seed must be 0")
    assert "seed must be 0" in seed_failure(first, crashed, (0, 7))
