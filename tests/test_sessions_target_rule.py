"""The records' target rule on GPU tracks: the mean final val_loss over the verification runs at or
below the target with p < 0.01, each code's time the mean of its runs; first crossing on micro."""

import statistics
from dataclasses import replace

import pytest
from agent_helpers import Recorder, config, fake_task, open_controller, write_script

from agent.retiming import verdict
from sessions import events as ev
from sessions.state import SessionState
from sessions.target_rule import FinalRun, mean_final_verdict, one_sided_p

TARGET = 3.28


def test_the_p_value_is_the_one_sided_one_sample_t_test_the_records_are_judged_by():
    from scipy.stats import ttest_1samp

    losses = [3.2791, 3.2786, 3.2803, 3.2779, 3.2795, 3.2782, 3.2788, 3.2797]
    mean, std = statistics.fmean(losses), statistics.stdev(losses)
    expected = ttest_1samp(losses, TARGET, alternative="less").pvalue
    assert one_sided_p(mean, std, len(losses), TARGET) == pytest.approx(expected, rel=1e-9)
    assert one_sided_p(3.279, 0.0, 3, TARGET) == 0.0 and one_sided_p(3.28, 0.0, 3, TARGET) == 1.0


def test_a_run_above_the_target_counts_when_the_mean_of_the_runs_passes():
    losses = [3.2791, 3.2786, 3.2803, 3.2779, 3.2785, 3.2782, 3.2788, 3.2784]  # one run ends at 3.2803
    runs = [FinalRun(loss, 100.0 + i) for i, loss in enumerate(losses)]
    passed = mean_final_verdict(runs, TARGET)
    assert passed.passes and passed.p_value < 0.01 and passed.mean_time_s == pytest.approx(103.5)
    assert "its time is their mean, 103.500 s" in passed.reason


def test_a_mean_below_the_target_but_not_significantly_does_not_pass():
    wide = mean_final_verdict([FinalRun(3.2791, 10.0), FinalRun(3.2806, 10.0), FinalRun(3.2785, 10.0)], TARGET)
    assert not wide.passes and wide.mean_loss < TARGET and wide.p_value >= 0.01 and wide.mean_time_s is None
    one = mean_final_verdict([FinalRun(3.2700, 10.0)], TARGET)
    assert not one.passes and "at least 2" in one.reason


def _state(runs: dict[tuple[int, str], tuple[float, float] | None]) -> SessionState:
    """A session whose verification ran `runs`: (round, role) -> (final loss, final time) or None (crashed)."""
    state = SessionState("s")
    state.apply(ev.SessionStarted(task="nanogpt/30", model="m", scaffold="flat", hints="none", mode="auto",
                                  start_time_s=163.0, target_time_s=159.4, target_loss=TARGET))
    for (rnd, role), run in runs.items():
        loss, time_s = run if run else (None, None)
        state.apply(ev.Retimed(round=rnd, role=role, seed=rnd, time_s=None, status="target_missed" if run else "buggy",
                               final_val_loss=loss, final_time_s=time_s))
    return state


ROOT = {1: (3.2786, 163.0), 2: (3.2786, 163.4), 3: (3.2790, 162.6)}


def test_verdict_under_the_records_rule_scores_the_means_and_a_failing_best_does_not_count():
    passing = {**{(r, "root"): v for r, v in ROOT.items()},
               **{(r, "best"): (v[0] - 0.0002, v[1] - 2.0) for r, v in ROOT.items()}}
    verified = verdict(_state(passing), best_node=3, timed_reference=False, rule="mean_final", target_loss=TARGET)
    gap = 163.0 * (1 - 159.4 / 163.0)  # the reference is the root's time scaled by the catalog's ratio
    assert verified.rule == "mean_final" and verified.rounds == 3
    assert verified.fsr == pytest.approx(2.0 / gap, rel=1e-3) and "best: mean final val_loss" in verified.rule_note
    failing = {**passing, (2, "best"): (3.2830, 161.0)}
    verified = verdict(_state(failing), best_node=3, timed_reference=False, rule="mean_final", target_loss=TARGET)
    assert verified.fsr == 0.0 and not verified.improved and "best: mean final val_loss" in verified.rule_note
    # A crashed root voids its round; two rounds left still test.
    crashed = {**passing, (3, "root"): None}
    verified = verdict(_state(crashed), best_node=3, timed_reference=False, rule="mean_final", target_loss=TARGET)
    assert verified.rounds == 2 and verified.fsr is not None


def test_a_start_code_that_fails_the_rule_leaves_nothing_to_score_against():
    runs = {(1, "root"): (3.2830, 163.0), (2, "root"): (3.2790, 163.0),
            (1, "best"): (3.2770, 150.0), (2, "best"): (3.2771, 150.0)}
    verified = verdict(_state(runs), best_node=2, timed_reference=False, rule="mean_final", target_loss=TARGET)
    assert verified.fsr is None and verified.rule_note.startswith("root: mean final val_loss 3.2810 over 2 runs")


# A trainer whose final loss depends on its seed: seed 0 (the search's) ends 0.0002 above the
# target, seeds 1 and 2 (the verification's) 0.0030 and 0.0031 below; LOSS_SHIFT and STEP_MS are
# what a candidate edits. Other seeds (the harness's fresh-seed check) get another curve.
GPU_LIKE_TRAIN = '''import os
import random

STEPS = 10
STEP_MS = 100.0
LOSS_SHIFT = 0.0
val_tokens = 4096
# speedups

def main():
    seed = int(os.environ.get("SPEEDRUN_SEED", "0"))
    offset = {0: 0.0002, 1: -0.0030, 2: -0.0031}.get(seed, 0.01 * random.Random(seed).random())
    train_time = 0.0
    for step in range(STEPS + 1):
        loss = 4.0 - 2.5 * step / STEPS + offset + LOSS_SHIFT
        print(f"step:{step}/{STEPS} val_loss:{loss:.4f} train_time:{train_time:.0f}ms step_avg:{STEP_MS:.2f}ms")
        train_time += STEP_MS


main()
'''
FASTER_AND_BETTER = ("Halve the step cost and lower the loss.\n\n<<<<<<< SEARCH\n# speedups\n=======\n# speedups\n"
                     "STEP_MS *= 0.5\nLOSS_SHIFT = -0.001\n>>>>>>> REPLACE\n")


def test_a_gpu_track_session_verifies_a_start_code_whose_one_run_missed_by_a_hair(tmp_path):
    task = replace(fake_task(tmp_path, GPU_LIKE_TRAIN), id="nanogpt/30", track="nanogpt", target_loss=1.5,
                   target_rule="mean_final", start_time_s=1.0, target_time_s=0.5)
    replies = write_script(tmp_path, [FASTER_AND_BETTER])
    controller, store = open_controller(tmp_path, config(replies, task_id="nanogpt/30", verify_repeats=2), task=task)
    recorder = Recorder()
    controller.subscribe(recorder)
    score = controller.run()
    store.close()
    notes = [e.text for e in recorder.kinds("note")]
    assert any(n.startswith("nanogpt/30 is outside the paper's 19 benchmark tasks") for n in notes)
    root, best = (e for e in recorder.kinds("node_scored") if e.node in (0, 1))
    assert (root.status, best.status) == ("target_missed", "valid")  # first crossing: the root never made it
    retimed = {(e.round, e.role): e for e in recorder.kinds("retimed")}
    assert retimed[(1, "root")].final_val_loss == pytest.approx(1.4970) and retimed[(1, "root")].final_time_s == 1.0
    assert retimed[(2, "best")].final_val_loss == pytest.approx(1.4959) and retimed[(2, "best")].final_time_s == 0.5
    [verified] = recorder.kinds("verified")
    assert verified.rule == "mean_final" and verified.rounds == 2 and verified.fsr == pytest.approx(1.0)
    assert score.verified and score.fsr == pytest.approx(1.0)
    assert any(n.startswith("the records' rule (mean final val_loss <= 1.5, p < 0.01): root:") for n in notes)


def test_the_task_description_the_model_reads_states_the_rule_of_its_track(tmp_path):
    from agent.prompts import PromptContext, system_message

    micro = fake_task(tmp_path)
    gpu = replace(micro, id="nanogpt/30", track="nanogpt", target_rule="mean_final")
    assert "p < 0.01" not in system_message(PromptContext(micro, [], None))["content"]
    text = system_message(PromptContext(gpu, [], None))["content"]
    assert f"mean final validation loss over several verification runs is at or below {gpu.target_loss} " \
           "with p < 0.01" in text
