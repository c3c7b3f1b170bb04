import json

import pytest
from agent_helpers import FAKE_TRAIN, config, crash, fake_task, speedup, write_script

from agent.commands import session_config
from agent.controller import Controller
from agent.judge import judge_session, parse_verdict
from sessions.store import Store
from speedrun_tui.cli import build_parser, main
from speedrun_tui.errors import UserError


def test_run_flags_make_the_session_config():
    args = build_parser().parse_args(["run", "micro/3", "--model", "openai/tiny", "--api-base", "http://127.0.0.1:8/v1",
                                      "--scaffold", "multi-aide", "--hints", "pseudo+text", "--mode", "copilot",
                                      "--max-nodes", "7", "--parallel", "2", "--seed", "5", "--headless"])
    cfg = session_config(args)
    assert (cfg.task_id, cfg.model, cfg.api_base, cfg.scaffold, cfg.hints, cfg.mode) == (
        "micro/3", "openai/tiny", "http://127.0.0.1:8/v1", "multi-aide", "pseudo+text", "copilot")
    assert (cfg.max_nodes, cfg.parallel, cfg.seed, args.ui) == (7, 2, 5, "headless")


def test_resume_needs_no_task_and_leaves_mode_and_parallelism_to_the_session():
    cfg = session_config(build_parser().parse_args(["run", "--resume", "3fa2", "--headless"]))
    assert (cfg.task_id, cfg.mode, cfg.parallel) == ("", None, None)  # not given: the stored session's


def test_run_without_a_task_or_resume_is_one_line_naming_both(tmp_path, capsys):
    assert main(["run", "--headless", "--db", str(tmp_path / "s.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run needs a TASK" in err and "--resume SESSION" in err


def test_missing_api_key_is_one_line_naming_the_variable(monkeypatch, capsys):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    assert main(["run", "micro/1", "--model", "anthropic/claude-sonnet-4-5", "--headless"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ANTHROPIC_API_KEY" in err and err.startswith("speedrun-tui: error:")


def test_unknown_task_and_bad_numbers_are_one_line_errors(tmp_path, capsys):
    db = str(tmp_path / "s.db")
    assert main(["run", "nope/1", "--model", "scripted:/nowhere", "--headless", "--db", db]) == 2
    assert "unknown task 'nope/1'" in capsys.readouterr().err
    assert main(["run", "nope/1", "--max-nodes", "0", "--headless", "--db", db]) == 2
    assert "--max-nodes must be at least 1" in capsys.readouterr().err
    assert main(["judge", "abc", "--model", "scripted:/x", "--db", db]) == 2
    assert "no session 'abc'" in capsys.readouterr().err


def judged_session(tmp_path, replies):
    task = fake_task(tmp_path, reference=FAKE_TRAIN.replace("STEP_MS = 100.0", "STEP_MS = 40.0").replace(
        "STEPS = 10", "STEPS = 12"))
    with Store(tmp_path / "sessions.db") as store:
        controller = Controller(config(write_script(tmp_path, replies), max_nodes=len(replies)), store, task=task,
                                run_env={})
        controller.run()
    return controller.session_id, task


def test_judge_scores_the_best_diff_and_stores_the_verdict(tmp_path):
    session, task = judged_session(tmp_path, [crash(), speedup(0.5)])
    verdict_text = json.dumps({"changes": [{"change": "cheaper steps", "reproduced": True},
                                           {"change": "more steps", "reproduced": False}]})
    judge_file = write_script(tmp_path, [f"Here it is:\n```json\n{verdict_text}\n```\n"], name="judge.txt")
    verdict = judge_session(tmp_path / "sessions.db", session[:5], model=f"scripted:{judge_file}", task=task)
    assert verdict.score == pytest.approx(0.5) and verdict.best_node == 2
    with Store(tmp_path / "sessions.db", readonly=True) as store:
        stored = [e for e in store.read_events(session) if e.kind == "judge_score"]
        assert store.session_status(session) == "finished"
    assert len(stored) == 1 and stored[0].score == pytest.approx(0.5) and stored[0].changes[1]["change"] == "more steps"


def test_judge_without_an_improvement_scores_zero_without_a_model(tmp_path):
    session, task = judged_session(tmp_path, [crash()])
    verdict = judge_session(tmp_path / "sessions.db", session, model="scripted:/never/read", task=task)
    assert verdict.score == 0.0 and verdict.best_node == 0


def test_judge_reply_must_be_the_json_asked_for():
    assert parse_verdict('{"changes": [{"change": "a", "reproduced": 1}]}') == [{"change": "a", "reproduced": True}]
    with pytest.raises(ValueError):
        parse_verdict("I think they did well.")
    with pytest.raises(ValueError):
        parse_verdict('{"changes": []}')


def test_reference_and_replay_cannot_judge(tmp_path):
    with pytest.raises(UserError, match="cannot judge"):
        judge_session(tmp_path / "s.db", "x", model="reference")
