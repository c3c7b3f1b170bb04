"""`speedrun-tui verify`: paired rounds added to an ended session, stored as its own events."""

import pytest
from agent_helpers import config, fake_task, open_controller, speedup, write_script

from agent.verify import verify_session
from sessions.replay import load_state
from sessions.scoring import score_session
from sessions.store import Store
from speedrun_tui.cli import main
from speedrun_tui.errors import UserError

SEEDED = speedup(0.5).replace("STEP_MS *= 0.5", "STEP_MS *= 0.5 + 0.01 * int(os.environ.get('SPEEDRUN_SEED', 0))")


def finished_session(tmp_path, replies, **overrides):
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, replies), **overrides))
    controller.run()
    store.close()
    return controller.session_id


def stored(tmp_path, session):
    """(state, status, event kinds) of a session as stored."""
    with Store(tmp_path / "sessions.db", readonly=True) as store:
        kinds = [e.kind for e in store.read_events(session)]
        return load_state(store, session, with_logs=False), store.session_status(session), kinds


def test_verify_adds_paired_rounds_on_new_seeds_and_the_session_ends_as_it_had(tmp_path):
    session = finished_session(tmp_path, [speedup(0.9), SEEDED], max_nodes=2, verify_repeats=0)
    db = tmp_path / "sessions.db"
    seen = []
    result = verify_session(db, session[:4], rounds=2, task=fake_task(tmp_path), run_env={},
                            on_event=lambda e: seen.append((e.round, e.role)) if e.kind == "retimed" else None)
    assert seen == [(1, "root"), (1, "best"), (2, "root"), (2, "best")] and result.all_valid
    assert [r.seed for r in result.runs] == [1, 1, 2, 2]  # the search ran seed 0
    # 0.51 and 0.52 x 900 ms against the start code's 900 ms; the ratio stands in for the next record.
    best_times = [r.time_s for r in result.runs if r.role == "best"]
    assert best_times == pytest.approx([0.459, 0.468], abs=1e-3)
    v = result.verified
    assert v.best_node == 2 and v.rounds == 2 and v.speedup_s == pytest.approx(0.4365, abs=1e-3) and v.improved
    state, status, kinds = stored(tmp_path, session)
    assert status == "finished" and state.verified == v and score_session(state).verified
    assert kinds.index("session_resumed") > kinds.index("session_finished")  # verification as its own phase
    assert kinds[-2:] == ["verified", "session_finished"]

    again = verify_session(db, session, rounds=1, task=fake_task(tmp_path), run_env={})
    assert [(r.round, r.seed) for r in again.runs] == [(3, 3), (3, 3)] and again.verified.rounds == 3


def test_a_run_that_misses_the_target_voids_its_round(tmp_path):
    flaky = speedup(0.5).replace("STEP_MS *= 0.5", "STEP_MS *= 0.5\nif os.environ.get('SPEEDRUN_SEED') == '2':\n"
                                 "    raise SystemExit('diverged')")
    session = finished_session(tmp_path, [flaky], max_nodes=1, verify_repeats=0)
    result = verify_session(tmp_path / "sessions.db", session, rounds=2, task=fake_task(tmp_path), run_env={})
    best = [r for r in result.runs if r.role == "best"]
    assert [r.status for r in best] == ["valid", "buggy"] and "diverged" in best[1].reason
    assert not result.all_valid and result.verified.rounds == 1


def test_verify_cli_errors_are_one_line_and_leave_the_session_as_it_was(tmp_path, capsys):
    session = finished_session(tmp_path, [speedup(0.5)], max_nodes=1, verify_repeats=0)
    db = str(tmp_path / "sessions.db")
    before = stored(tmp_path, session)[1:]
    assert main(["verify", session, "--db", db, "--repeats", "0"]) == 2
    assert capsys.readouterr().err.strip() == "speedrun-tui: error: --repeats must be at least 1, got 0"
    assert main(["verify", "zzzz", "--db", db]) == 2
    assert "no session 'zzzz'" in capsys.readouterr().err
    assert main(["verify", session, "--db", db]) == 2  # the fake task is not in the catalog
    err = capsys.readouterr().err
    assert err.startswith("speedrun-tui: error: unknown task 'fake/1'") and err.count("\n") == 1
    assert stored(tmp_path, session)[1:] == before


def test_a_session_without_a_valid_node_or_not_ended_has_nothing_to_verify(tmp_path):
    broken = fake_task(tmp_path, "raise SystemExit('no training today')\n")
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)])), task=broken)
    controller.run()
    store.close()
    before = stored(tmp_path, controller.session_id)[1:]
    with pytest.raises(UserError, match="has no valid node to verify"):
        verify_session(tmp_path / "sessions.db", controller.session_id, task=broken, run_env={})
    assert stored(tmp_path, controller.session_id)[1:] == before

    open_one, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)])))
    store.close()  # started, never run: no SessionFinished
    with pytest.raises(UserError, match="has not ended; resume it first"):
        verify_session(tmp_path / "sessions.db", open_one.session_id, task=fake_task(tmp_path), run_env={})
