from pathlib import Path

from agent.rules import check_rules, same_program

ROOT = Path(__file__).resolve().parents[1]
START = """val_tokens: int = 16384
val_bin: str = os.environ.get("SPEEDRUN_VAL_BIN", "val.bin")
lr = 3e-3
print(f"step:{step}/{n} val_loss:{v:.4f} train_time:{t:.0f}ms step_avg:{a:.2f}ms")
"""


def test_other_changes_are_allowed():
    assert check_rules(START, START.replace("lr = 3e-3", "lr = 1e-2") + "val_tokens = val_tokens.to(device)\n") == []


def test_changing_validation_settings_is_a_violation():
    assert "`val_tokens` must keep its start value `16384`" in check_rules(START, START.replace("16384", "1024"))
    forged = check_rules(START, START + "args.val_tokens = 128\n")
    assert forged == ["`val_tokens` may not be set to `128` (protected setting)"]
    assert check_rules(START, START.replace('"val.bin"', '"train.bin"'))


def test_dropping_a_metric_field_is_a_violation():
    assert "`train_time:`" in check_rules(START, START.replace("train_time:", "time:"))[0]


def test_the_micro_ladder_steps_keep_the_rules():
    rungs = sorted((ROOT / "records" / "micro").glob("0*/train.py"))
    assert len(rungs) >= 2
    for old, new in zip(rungs, rungs[1:]):
        assert check_rules(old.read_text(), new.read_text()) == [], new


def test_a_model_must_keep_the_top_level_model_the_harness_builds():
    start = "model = GPT(args)\nSPEEDRUN_SAVE_MODEL\n"
    assert check_rules(start, start.replace("model = GPT(args)", "net = GPT(args)")) == [
        "the top-level `model = ...` is gone; the harness builds that model to evaluate it "
        "(`model(idx)` must return logits)"]
    assert check_rules(start, start.replace("model = GPT(args)", "model: GPT = GPT(args)")) == []


def test_comments_whitespace_and_docstrings_do_not_make_another_program():
    code = (ROOT / "records" / "micro" / "08_batch_size" / "train.py").read_text()
    reworded = code.replace("# the first layer's values", "#   the first layer's values, shared").replace(
        '"""Micro record 8: a smaller batch.', '"""Micro record 8, now faster (it is not).').replace(
        "    x, y = sampler.next_batch()", "\n    x, y = sampler.next_batch()   ")
    assert same_program(reworded, code)
    assert not same_program(code.replace("batch_size: int = 8", "batch_size: int = 9"), code)
    assert not same_program("def f(:\n", "def f(:\n")  # what does not parse is never a twin


def test_a_comment_only_candidate_goes_back_to_the_model_and_the_next_one_runs(tmp_path):
    from agent_helpers import run_session, speedup

    comment = "Tidy up.\n\n<<<<<<< SEARCH\n# speedups\n=======\n# speedups\n# faster now\n>>>>>>> REPLACE\n"
    controller, score, recorder = run_session(tmp_path, [comment, speedup(0.5)], max_nodes=1)
    [failed] = recorder.kinds("edit_failed")
    assert failed.rule_violation and "only comments or whitespace" in failed.reason and "node 0" in failed.reason
    assert controller.state.nodes[1].status == "valid" and score.best_time_s < controller.state.nodes[0].time_s
