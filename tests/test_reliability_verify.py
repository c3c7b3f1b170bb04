"""`speedrun-tui verify`: the best node re-run K times, with a mean and a spread, stored with the session."""

import pytest
from agent_helpers import config, fake_task, open_controller, speedup, write_script
from reliability_helpers import tiny_data, tiny_task

from agent.verify import verify_session
from sessions.store import Store
from speedrun_tui.cli import main
from speedrun_tui.errors import UserError

SEEDED = speedup(0.5).replace("STEP_MS *= 0.5", "STEP_MS *= 0.5 + 0.01 * int(os.environ.get('SPEEDRUN_SEED', 0))")


def finished_session(tmp_path, replies, **overrides):
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, replies), **overrides))
    controller.run()
    store.close()
    return controller.session_id


def test_verify_reruns_the_best_node_with_seeds_the_session_never_ran_and_stores_the_summary(tmp_path):
    session = finished_session(tmp_path, [speedup(0.9), SEEDED], max_nodes=2)
    db = tmp_path / "sessions.db"
    seen = []
    result = verify_session(db, session[:4], repeats=3, task=fake_task(tmp_path), run_env={},
                            on_repeat=lambda i, r: seen.append(i))
    assert seen == [0, 1, 2] and result.node == 2 and result.all_valid
    assert [r.seed for r in result.repeats] == [1, 2, 3]  # the session ran seed 0
    assert result.times == pytest.approx([0.459, 0.468, 0.477], abs=1e-3)  # 0.51, 0.52, 0.53 x 900 ms
    assert result.mean_s == pytest.approx(0.468, abs=1e-3) and result.std_s == pytest.approx(0.009, abs=1e-3)
    assert result.summary().startswith("verify node 2: 3/3 runs reached the target; time 0.468 s ± 0.009")
    with Store(db, readonly=True) as store:
        notes = [e for e in store.read_events(session) if e.kind == "note" and e.text.startswith("verify node 2")]
        assert len(notes) == 1 and store.session_status(session) == "finished"


def test_a_run_that_misses_the_target_counts_against_the_node(tmp_path):
    flaky = speedup(0.5).replace("STEP_MS *= 0.5", "STEP_MS *= 0.5\nif os.environ.get('SPEEDRUN_SEED') == '2':\n"
                                 "    raise SystemExit('diverged')")
    session = finished_session(tmp_path, [flaky], max_nodes=1)
    result = verify_session(tmp_path / "sessions.db", session, repeats=2, task=fake_task(tmp_path), run_env={})
    assert [r.status for r in result.repeats] == ["valid", "crashed"] and not result.all_valid
    assert "diverged" in result.repeats[1].reason and result.summary().startswith("verify node 1: 1/2 runs")


def test_verify_cli_errors_are_one_line(tmp_path, capsys):
    session = finished_session(tmp_path, [speedup(0.5)], max_nodes=1)
    db = str(tmp_path / "sessions.db")
    assert main(["verify", session, "--db", db, "--repeats", "0"]) == 2
    assert capsys.readouterr().err.strip() == "speedrun-tui: error: --repeats must be at least 1, got 0"
    assert main(["verify", "zzzz", "--db", db]) == 2
    assert "no session 'zzzz'" in capsys.readouterr().err
    assert main(["verify", session, "--db", db]) == 2  # the fake task is not in the catalog
    err = capsys.readouterr().err
    assert err.startswith("speedrun-tui: error: unknown task 'fake/1'") and err.count("\n") == 1


def test_a_session_without_a_valid_node_has_nothing_to_verify(tmp_path):
    broken = fake_task(tmp_path, "raise SystemExit('no training today')\n")
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)])), task=broken)
    controller.run()
    store.close()
    with pytest.raises(UserError, match="has no valid node to verify"):
        verify_session(tmp_path / "sessions.db", controller.session_id, task=broken, run_env={})


@pytest.mark.slow
def test_verify_re_evaluates_each_repeat_of_a_micro_style_task(tmp_path):
    env = tiny_data(tmp_path / "data")
    task = tiny_task(tmp_path)
    controller, store = open_controller(tmp_path, config(write_script(tmp_path, [speedup(0.5)]), max_nodes=1),
                                        task=task, run_env=env)
    controller.run()  # the canned edit doesn't fit the tiny trainer: the root is the best node
    store.close()
    result = verify_session(tmp_path / "sessions.db", controller.session_id, repeats=2, task=task, run_env=env)
    assert result.node == 0 and result.all_valid and len(result.times) == 2
    assert all(r.reason.startswith("harness val_loss") and "confirms the claim" in r.reason for r in result.repeats)
