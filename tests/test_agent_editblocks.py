from agent.editblocks import apply_blocks, failure_report, parse_reply
from speedrun_tui.codediff import diff_stats, unified_diff

CODE = """import torch


def lr(step):
    if step < 10:
        return step / 10
    return 1.0


def main():
    x = 1
    y = 2
    return x + y
"""


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def test_plan_and_blocks_are_parsed_fences_and_file_names_dropped():
    reply = "Warm up faster.\nIt helps.\n\ntrain.py\n```python\n" + block("x = 1", "x = 3") + "```\n" + block("y = 2", "y = 4")
    parsed = parse_reply(reply)
    assert parsed.plan == "Warm up faster.\nIt helps."
    assert [(b.search, b.replace) for b in parsed.blocks] == [(["x = 1"], ["x = 3"]), (["y = 2"], ["y = 4"])]
    assert parsed.errors == []


def test_malformed_blocks_are_reported_with_their_line():
    parsed = parse_reply("plan\n<<<<<<< SEARCH\nx = 1\n>>>>>>> REPLACE\n")
    assert parsed.blocks == []
    assert parsed.errors and "no `=======`" in parsed.errors[0] and "line 2" in parsed.errors[0]
    assert "without a `<<<<<<< SEARCH`" in parse_reply("x\n>>>>>>> REPLACE\n").errors[0]


def test_exact_match_replaces_and_keeps_the_rest():
    outcome = apply_blocks(CODE, parse_reply(block("    x = 1", "    x = 5")).blocks)
    assert outcome.ok and outcome.how == {1: "exact"}
    assert outcome.code == CODE.replace("x = 1", "x = 5")


def test_whitespace_insensitive_match_reindents_the_replacement():
    reply = block("def main():\n  x = 1\n  y = 2", "def main():\n  x = 10\n  y = 20")
    outcome = apply_blocks(CODE, parse_reply(reply).blocks)
    assert outcome.how == {1: "whitespace"}
    assert "def main():\n    x = 10\n    y = 20\n" in outcome.code


def test_blank_lines_in_search_or_file_do_not_matter():
    reply = block("    return 1.0\ndef main():", "    return 0.5\n\n\ndef main():")
    outcome = apply_blocks(CODE, parse_reply(reply).blocks)
    assert outcome.how == {1: "blank-lines"}
    assert "return 0.5" in outcome.code and "return 1.0" not in outcome.code


def test_unique_fuzzy_match_is_applied():
    reply = block("def lr(step):\n    if step < 10:\n        return step / 10.0\n    return 1.0",
                  "def lr(step):\n    return 1.0")
    outcome = apply_blocks(CODE, parse_reply(reply).blocks)
    assert outcome.how == {1: "fuzzy"}
    assert "step / 10" not in outcome.code and "def lr(step):\n    return 1.0\n" in outcome.code


def test_ambiguous_match_is_refused_with_the_places():
    code = "a = 1\nb = 2\na = 1\n"
    outcome = apply_blocks(code, parse_reply(block("a = 1", "a = 3")).blocks)
    assert outcome.code == code and outcome.applied == []
    assert "matches 2 places" in outcome.failures[1] and "lines 1, 3" in outcome.failures[1]


def test_a_missing_block_explains_with_the_nearest_numbered_lines():
    outcome = apply_blocks(CODE, parse_reply(block("def lr(epoch):\n    warm = 100", "pass")).blocks)
    why = outcome.failures[1]
    assert "matches nothing" in why and "def lr(epoch):" in why
    assert "    4 | def lr(step):" in why  # nearest lines, with their numbers


def test_failed_blocks_are_skipped_and_reported_the_others_apply():
    reply = block("    x = 1", "    x = 9") + block("nothing like this", "z") + "<<<<<<< SEARCH\nbroken\n"
    parsed = parse_reply(reply)
    outcome = apply_blocks(CODE, parsed.blocks)
    assert outcome.applied == [1] and list(outcome.failures) == [2]
    report = failure_report(outcome, parsed.errors)
    assert "Blocks 1 were applied" in report and "Block 2 failed" in report and "Malformed: block 3" in report


def test_unified_diff_and_its_stats():
    diff = unified_diff(CODE, CODE.replace("x = 1", "x = 5"))
    assert diff.startswith("--- a/train.py\n+++ b/train.py\n")
    assert diff_stats(diff) == (1, 1)
