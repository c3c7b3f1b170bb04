import pytest

from agent.editblocks import apply_blocks, parse_reply
from agent.reference import apply_unified_diff, reference_code, reference_reply
from records.ladder import RUNGS, reference_diff
from records.task import Task
from speedrun_tui.errors import UserError


def ladder_task(tmp_path, k: int, diff: str | None = None) -> Task:
    diff_file = tmp_path / "reference.diff"
    diff_file.write_text(reference_diff(k) if diff is None else diff)
    return Task(id=f"micro/{k}", track="micro", record=k, title="t", start_script=RUNGS[k - 1].script,
                start_time_s=10.0, target_time_s=5.0, target_loss=2.0, reference_diff_file=diff_file)


@pytest.mark.parametrize("k", range(1, len(RUNGS)))
def test_reference_reply_turns_each_rung_into_the_next(tmp_path, k):
    task = ladder_task(tmp_path, k)
    nxt = RUNGS[k].script.read_text()
    assert reference_code(task) == nxt
    parsed = parse_reply(reference_reply(task))
    assert "upper bound" in parsed.plan
    outcome = apply_blocks(task.start_code(), parsed.blocks)
    assert outcome.ok and set(outcome.how.values()) == {"exact"}
    assert outcome.code == nxt


def test_a_diff_that_does_not_fit_the_start_code_is_a_clear_error(tmp_path):
    bad = reference_diff(1).replace("\n-", "\n-#", 1)
    with pytest.raises(UserError, match="reference diff does not apply"):
        reference_code(ladder_task(tmp_path, 1, bad))
    with pytest.raises(UserError, match="no reference change"):
        reference_code(ladder_task(tmp_path, 1, ""))


def test_apply_unified_diff_handles_several_hunks():
    old = "".join(f"line {i}\n" for i in range(40))
    new = old.replace("line 3\n", "line three\n").replace("line 30\n", "").replace("line 39\n", "line 39\nend\n")
    from speedrun_tui.codediff import unified_diff

    assert apply_unified_diff(old, unified_diff(old, new)) == new
