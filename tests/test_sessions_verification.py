"""The verified score: paired re-timing after the search, its interval, and what counts as improved."""

import pytest
from agent_helpers import Recorder, config, open_controller, run_session, speedup, write_script
from harness_helpers import REMOVE_HANDICAP, handicapped, micro_home_data, rung_code, shrunk_task

from sessions.scoring import score_session
from sessions.store import Store
from sessions.verification import RoundTimes, noise_cv, rounds_of, score_rounds, within_noise


def test_paired_rounds_give_the_fsr_of_the_means_and_an_interval():
    rounds = [RoundTimes(10.0, 8.0, 8.0), RoundTimes(11.0, 9.0, 9.0), RoundTimes(10.5, 8.4, 8.6)]
    score = score_rounds(rounds, reference_source="timed")
    assert score.fsr == pytest.approx((10.5 - 8.4667) / (10.5 - 8.5333), abs=1e-3)
    assert score.low <= score.fsr <= score.high and score.rounds == 3
    assert score.improved and score.speedup_s == pytest.approx(2.0333, abs=1e-3)


def test_a_gain_smaller_than_its_noise_is_not_improved_and_its_interval_holds_zero():
    rounds = [RoundTimes(10.0, 10.4, 8.0), RoundTimes(10.6, 10.1, 8.5), RoundTimes(10.2, 10.0, 8.2)]
    score = score_rounds(rounds, reference_source="timed")
    assert not score.improved and score.low == 0.0 <= score.high


def test_two_rounds_claim_an_improvement_only_when_their_interval_excludes_zero():
    # README command 1's two rounds: speedups 35.3 and 16.7 s, mean 26.0 s, 2.8 standard errors.
    rounds = [RoundTimes(234.1, 198.8, 170.0), RoundTimes(241.5, 224.8, 175.0)]
    score = score_rounds(rounds, reference_source="timed")
    assert score.speedup_s > 2 * score.stderr_s and score.low == 0.0
    assert not score.improved  # t with 1 degree of freedom: 12.7 standard errors are needed
    steady = score_rounds([RoundTimes(234.1, 198.8, 170.0), RoundTimes(241.5, 205.0, 175.0)],
                          reference_source="timed")
    assert steady.improved and steady.low > 0


def test_a_round_with_a_missed_target_is_left_out_and_the_reference_may_be_a_ratio():
    times = {(1, "root"): 10.0, (1, "best"): 8.0, (2, "root"): 10.0, (2, "best"): None}
    [only] = rounds_of(times, timed_reference=False, ratio=0.8)
    assert only == RoundTimes(10.0, 8.0, 8.0)


def test_noise_is_the_larger_of_the_floor_and_the_calibrated_spread():
    assert noise_cv(100.0, 1.0) == 0.03 and noise_cv(100.0, 5.0) == 0.05 and noise_cv(None, None) == 0.03
    assert within_noise(95.0, 100.0, 0.03) and not within_noise(90.0, 100.0, 0.03)
    assert not within_noise(101.0, 100.0, 0.03)


def test_fake_sessions_verify_on_request_and_record_every_round(tmp_path):
    controller, score, recorder = run_session(tmp_path, [speedup(0.5)], verify_repeats=2)
    retimed = recorder.kinds("retimed")
    assert [(e.round, e.role) for e in retimed] == [(1, "root"), (1, "best"), (2, "root"), (2, "best")]
    assert {e.seed for e in retimed} == {1, 2}  # never the search's seed 0
    [verified] = recorder.kinds("verified")
    # The fake task's clock is exact, so the paired speedup has no spread at all.
    assert verified.rounds == 2 and verified.best_node == 1 and verified.reference_source == "calibrated"
    assert score.verified and score.fsr == verified.fsr == pytest.approx(1.0) and score.search_fsr == pytest.approx(1.0)
    with Store(tmp_path / "sessions.db", readonly=True) as store:
        [info] = store.list_sessions()
    assert (info.fsr, info.verify_rounds, info.search_fsr) == (pytest.approx(1.0), 2, pytest.approx(1.0))


def test_a_stopped_verification_resumes_with_the_runs_it_still_owes(tmp_path):
    replies = write_script(tmp_path, [speedup(0.5)])
    controller, store = open_controller(tmp_path, config(replies, verify_repeats=2))
    recorder = Recorder()
    controller.subscribe(recorder)

    def stop_after_first_retiming(event):
        if event.kind == "retimed" and event.round == 1 and event.role == "best":
            controller.stop()

    controller.subscribe(stop_after_first_retiming)
    controller.run()
    store.close()
    done = [(e.round, e.role) for e in recorder.kinds("retimed")]
    assert done[:2] == [(1, "root"), (1, "best")] and not recorder.kinds("verified")
    resumed, store = open_controller(tmp_path, config(replies, verify_repeats=2), session_id=controller.session_id)
    again = Recorder()
    resumed.subscribe(again)
    resumed.run()
    store.close()
    assert [(e.round, e.role) for e in again.kinds("retimed")] == [r for r in [(2, "root"), (2, "best")]
                                                                    if r not in done]
    assert again.kinds("verified")[0].rounds == 2


@pytest.mark.slow
def test_no_op_candidates_are_not_improved_and_the_reference_change_is(tmp_path):
    """Real training of a shrunk rung 8 whose start code carries a handicap; the next record's code
    is the same rung without it. A no-op edit (a dead assignment: a comment-only one is refused
    before it runs), then the reference change, each its own session."""
    env = micro_home_data(tmp_path / "corpus")
    task = shrunk_task(tmp_path / "task", handicapped(rung_code(8)), target_code=rung_code(8))
    noops = ["Nothing really.\n\n<<<<<<< SEARCH\nrun = RunSettings()\n=======\nrun = RunSettings()\n_noop = 1\n"
             ">>>>>>> REPLACE\n"]
    cfg = dict(task_id=task.id, verify_repeats=3, parallel=2, sandbox="off")
    noop_score = _session(tmp_path / "noop", task, env, noops, cfg)
    assert noop_score.improved_nodes == 0 and noop_score.best_improved in (None, False), noop_score
    assert noop_score.fsr_low is None or noop_score.fsr_low <= 0.0  # the interval holds 0
    ref_score = _session(tmp_path / "ref", task, env, [f"Drop the handicap.\n\n{REMOVE_HANDICAP}"], cfg)
    assert ref_score.best_improved and ref_score.verify_rounds == 3
    assert 0.5 < ref_score.fsr < 1.5 and ref_score.fsr_low > 0.0, ref_score


def _session(folder, task, env, replies, cfg):
    folder.mkdir()
    controller, store = open_controller(folder, config(write_script(folder, replies), max_nodes=len(replies), **cfg),
                                        task=task, run_env=env)
    controller.run()
    store.close()
    return score_session(controller.state)
