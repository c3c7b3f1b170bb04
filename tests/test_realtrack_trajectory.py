"""`import trajectory`: a fake llm-speedrunner workspace and a fake AIDE journal become sessions
that replay and score like ours."""

import json

import pytest

from sessions.replay import load_state
from sessions.scoring import score_session
from sessions.store import Store
from speedrun_tui.cli import main
from speedrun_tui.home import default_db
from realtrack_helpers import make_aide_journal, make_speedrunner_workspace


def imported(capsys, *argv) -> str:
    assert main(["import", "trajectory", *argv]) == 0
    out = capsys.readouterr().out
    return out.split(" as session ")[1].split()[0]


def test_llm_speedrunner_workspace_becomes_a_scored_session(tmp_path, capsys):
    workspace = make_speedrunner_workspace(tmp_path / "ws")
    session_id = imported(capsys, str(workspace))
    with Store(default_db(), readonly=True) as store:
        state = load_state(store, session_id)
        diff = state.nodes[1].diff
        code_1 = store.get_blob(state.nodes[1].code_sha)
    started = state.started
    assert (started.task, started.model, started.scaffold, started.hints) == ("nanogpt/4", "o3-mini", "aide",
                                                                              "pseudo+text")
    assert (started.start_time_s, started.target_time_s) == (1301.7, 949.5)
    assert {n.id: n.stage for n in state.nodes.values()} == {0: "root", 1: "draft", 2: "improve", 3: "debug",
                                                             4: "improve"}
    assert state.nodes[3].bug_depth == 1 and state.nodes[1].children == [2, 4]
    assert "-lr = 0.02\n+lr = 0.03\n" in diff and code_1.startswith("import os\nlr = 0.03")
    assert state.nodes[1].plan == "Raise the learning rate to 0.03"
    assert {n.id: n.status for n in state.nodes.values()} == {0: "valid", 1: "valid", 2: "buggy",
                                                              3: "target_missed", 4: "pending"}
    assert state.finished is not None and state.tokens_in == 170 and state.tokens_out == 35
    notes = [e.text for e in state.chat if e.kind == "note" and e.node == 4]
    assert notes == ["missing in the source: meta.json created_at, results.json"]  # v_4 never finished
    score = score_session(state)
    assert score.times_source == "measured" and score.best_time_s == 1100.0
    assert score.fsr == pytest.approx((1301.7 - 1100.0) / (1301.7 - 949.5))
    assert score.buggy_nodes == 1


def test_secrets_in_the_workspace_config_never_reach_the_store(tmp_path, capsys):
    imported(capsys, str(make_speedrunner_workspace(tmp_path / "ws")))
    assert b"sk-FAKE-SECRET-123" not in default_db().read_bytes()


def test_missing_fields_are_recorded_as_missing_not_invented(tmp_path, capsys):
    workspace = make_speedrunner_workspace(tmp_path / "ws")
    (workspace / "config.yaml").unlink()
    (workspace / "v_3" / "results.json").write_text(json.dumps({"status": "COMPLETED", "metrics": {}}))
    session_id = imported(capsys, str(workspace))
    with Store(default_db(), readonly=True) as store:
        state = load_state(store, session_id)
    assert (state.started.task, state.started.model, state.started.scaffold) == ("", "unknown", "unknown")
    assert state.started.start_time_s is None
    three = state.nodes[3]
    assert three.status == "buggy" and three.result.status == "no_metrics" and three.result.final_val_loss is None
    notes = [e.text for e in state.chat if e.kind == "note" and e.node == 3]
    assert any("metrics.val_loss" in t and "metrics.train_time" in t for t in notes)
    assert score_session(state).fsr is None  # no task, no times: nothing to score against


def test_aide_journal_becomes_a_session_that_replays_and_scores(tmp_path, capsys):
    journal = make_aide_journal(tmp_path / "run" / "journal.json")
    session_id = imported(capsys, str(journal), "--task", "nanogpt/4")
    with Store(default_db(), readonly=True) as store:
        state = load_state(store, session_id)
    assert state.started.task == "nanogpt/4" and state.started.scaffold == "aide"
    assert {n.id: (n.parent, n.stage) for n in state.nodes.values()} == {
        1: (None, "draft"), 2: (1, "improve"), 3: (2, "debug"), 4: (None, "draft")}
    assert [p.val_loss for p in state.curves[1]] == [10.8258, 3.9, 3.2785]
    assert state.nodes[1].result.time_to_target_ms == 500_000 and state.nodes[3].time_s == 400.0
    assert state.nodes[2].status == "buggy" and state.nodes[4].result is None
    assert any(line.startswith("step:100/100 val_loss:3.2785") for line in state.logs[1])
    score = score_session(state)
    assert score.times_source == "catalog" and score.best_time_s == 400.0
    assert score.fsr == pytest.approx((1301.7 - 400.0) / (1301.7 - 949.5))


def test_imported_sessions_show_in_the_cli_score_and_replay(tmp_path, capsys):
    session_id = imported(capsys, str(make_speedrunner_workspace(tmp_path / "ws")))
    assert main(["score", session_id, "--json"]) == 0
    [score] = json.loads(capsys.readouterr().out)
    assert score["task"] == "nanogpt/4" and score["fsr"] == pytest.approx(0.5727, abs=1e-4)
    assert main(["replay", session_id, "--plain", "--no-follow"]) == 0
    assert "Raise the learning rate to 0.03" in capsys.readouterr().out


def test_a_path_that_is_neither_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["import", "trajectory", str(tmp_path / "empty")]) == 2
    assert "no v_N folders" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert main(["import", "trajectory", str(tmp_path / "bad.json")]) == 2
    assert "not an AIDE journal" in capsys.readouterr().err
