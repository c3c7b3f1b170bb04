"""The loop end to end on the real micro track: the reference model recovers the whole speedup.

micro/6 (rung 6 -> 7, about 84 s -> 55 s of training) keeps this within CI's budget; micro/1
(the README's first command) does the same with a 5-minute baseline, and is measured by hand.
"""

import pytest

from sessions.state import SessionState
from sessions.store import Store
from speedrun_tui.cli import main


@pytest.mark.slow
def test_reference_model_on_micro_6_reaches_fsr_near_1(tmp_path):
    assert main(["data", "micro"]) == 0
    db = tmp_path / "sessions.db"
    assert main(["run", "micro/6", "--model", "reference", "--mode", "auto", "--headless", "--db", str(db)]) == 0
    with Store(db, readonly=True) as store:
        [info] = store.list_sessions()
        state = SessionState(info.id)
        for event in store.read_events(info.id):
            state.apply(event)
    assert info.status == "finished" and info.model == "reference"
    assert sorted(state.nodes) == [0, 1] and state.best_node == 1
    assert info.times_source == "measured"
    assert 0.6 < info.fsr < 1.5, info.fsr
