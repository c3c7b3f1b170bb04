from pathlib import Path

from agent.rules import check_rules

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
