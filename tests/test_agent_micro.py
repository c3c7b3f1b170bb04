"""The loop end to end on the real micro track: the reference model recovers the whole speedup.

Task micro/7 (rung 7 -> 8) with the target loss raised to 2.45, so that each run is short on any
CPU (60 and 70 steps at seed 0: rung 7's validation loss is 2.41 at step 60 and 2.50 at 50, rung
8's 2.41 at 70 and 2.52 at 60, margins that CPUs' rounding does not cross) while the gap stays
clear: rung 8's step costs about half of rung 7's, so the next record needs about 0.61 of the
start code's time (micro/8's gap, rung 9's 14 % cheaper step, is too close to the noise of a busy
CI machine). Two runs are made here, side by side as in the README's first command (the start
code and the reference node, with the harness's checks of the node); the next record's time comes
from the calibration written below, whose ratio 0.61 is what those step counts and step costs
give. The next record timed in a session, and paired re-timing, are tested on shrunk rungs
(tests/test_sessions_verification.py); the same task at the real target (the README's first
command) is measured by hand.
"""

import pytest

from records.calibration import file_name, user_dir
from records.fingerprint import this_cpu
from sessions.scoring import score_session
from sessions.state import SessionState
from sessions.store import Store
from speedrun_tui.cli import main
from tests.records_helpers import write_calibration

E2E_TARGET_LOSS = 2.45


@pytest.mark.slow
def test_reference_model_on_micro_7_reaches_fsr_near_1_and_passes_the_harness_checks(tmp_path):
    assert main(["data", "micro"]) == 0
    here = this_cpu(1)
    write_calibration(user_dir() / file_name(here), here, {7: 100.0, 8: 61.0}, target_loss=E2E_TARGET_LOSS)
    db = tmp_path / "sessions.db"
    assert main(["run", "micro/7", "--model", "reference", "--mode", "auto", "--headless", "--verify-repeats", "0",
                 "--no-time-target", "--parallel", "2", "--db", str(db)]) == 0
    with Store(db, readonly=True) as store:
        [info] = store.list_sessions()
        state = SessionState(info.id)
        for event in store.read_events(info.id):
            state.apply(event)
    assert info.status == "finished" and info.model == "reference"
    assert sorted(state.nodes) == [0, 1] and state.best_node == 1
    assert state.started.target_loss == E2E_TARGET_LOSS
    score = score_session(state)
    assert (score.times_source, score.target_source, score.provisional) == ("measured", "calibrated", False)
    ratio = state.started.target_time_s / state.started.start_time_s  # the calibration's, for seed 0
    assert score.target_time_s == pytest.approx(score.start_time_s * ratio) and 0.59 < ratio < 0.63
    notes = [e.text for e in store_events(db, info.id) if e.kind == "note" and e.node == 1]
    assert any(text.startswith("harness val_loss") and "confirms the claim" in text for text in notes)
    assert info.fsr == pytest.approx(score.fsr)
    assert 0.4 < score.fsr < 1.8, score.fsr


def store_events(db, session_id):
    with Store(db, readonly=True) as store:
        return store.read_events(session_id)
