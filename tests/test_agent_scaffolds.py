import pytest

from agent.scaffolds import SCAFFOLDS, Action, best_valid, get_scaffold, next_actions
from runner.result import RunResult, ValPoint
from sessions.nodes import Node
from speedrun_tui.errors import UserError


def node(nid, parent, stage, status, time_s=None, bug_depth=0):
    result = None
    if status == "valid":
        result = RunResult("ok", 0, [ValPoint(1, 1.0, time_s * 1000)], time_to_target_ms=time_s * 1000)
    elif status == "buggy":
        result = RunResult("crashed", 1)
    return Node(nid, parent, stage, status=status, result=result, bug_depth=bug_depth)


def tree(*nodes):
    return {n.id: n for n in nodes}


ROOT = node(0, None, "root", "valid", 10.0)


def test_benchmark_parameters():
    assert (SCAFFOLDS["tree"].drafts, SCAFFOLDS["tree"].children) == (1, 3)
    assert (SCAFFOLDS["forest"].drafts, SCAFFOLDS["forest"].children) == (3, 3)
    aide, multi = SCAFFOLDS["aide"], SCAFFOLDS["multi-aide"]
    assert (aide.drafts, aide.children, aide.debug_p, aide.max_bug_depth) == (3, 1, 0.5, 5)
    assert (multi.drafts, multi.children, multi.debug_p, multi.max_bug_depth) == (3, 3, 0.5, 5)
    with pytest.raises(UserError, match="unknown scaffold 'wide'"):
        get_scaffold("wide")


def test_flat_is_all_drafts_up_to_the_budget():
    assert next_actions(SCAFFOLDS["flat"], tree(ROOT), budget=20, seed=0) == [Action("draft", 0)] * 20
    done = tree(ROOT, *[node(i, 0, "draft", "valid", 9.0) for i in range(1, 6)])
    assert next_actions(SCAFFOLDS["flat"], done, budget=5, seed=0) == []


def test_tree_drafts_once_then_three_children_of_the_best_valid_node():
    spec = SCAFFOLDS["tree"]
    assert next_actions(spec, tree(ROOT), budget=20, seed=0) == [Action("draft", 0)]
    nodes = tree(ROOT, node(1, 0, "draft", "valid", 8.0), node(2, 1, "improve", "valid", 6.0),
                 node(3, 1, "improve", "buggy"), node(4, 1, "improve", "valid", 7.0))
    assert next_actions(spec, nodes, budget=20, seed=0) == [Action("improve", 2)] * 3
    assert next_actions(spec, nodes, budget=5, seed=0) == [Action("improve", 2)]  # cut to the budget


def test_the_root_is_a_candidate_and_buggy_nodes_are_never_improved():
    nodes = tree(ROOT, *[node(i, 0, "draft", "buggy") for i in (1, 2, 3)])
    assert next_actions(SCAFFOLDS["forest"], nodes, budget=20, seed=0) == [Action("improve", 0)] * 3
    assert best_valid(nodes).id == 0


def test_skipped_nodes_do_not_use_the_budget():
    nodes = tree(ROOT, node(1, 0, "draft", "rejected"))
    assert next_actions(SCAFFOLDS["flat"], nodes, budget=1, seed=0) == [Action("draft", 0)]


def test_aide_debugs_a_buggy_leaf_about_half_the_time_and_reproducibly():
    spec = SCAFFOLDS["aide"]
    nodes = tree(ROOT, node(1, 0, "draft", "buggy"), node(2, 0, "draft", "valid", 9.0), node(3, 0, "draft", "valid", 8.0))
    choices = [next_actions(spec, nodes, budget=20, seed=s) for s in range(200)]
    debugs = sum(c == [Action("debug", 1)] for c in choices)
    assert all(c in ([Action("debug", 1)], [Action("improve", 3)]) for c in choices)
    assert 70 <= debugs <= 130
    assert choices == [next_actions(spec, nodes, budget=20, seed=s) for s in range(200)]


def test_bug_depth_limits_debugging():
    spec = SCAFFOLDS["multi-aide"]
    chain = [node(1, 0, "draft", "buggy")] + [node(i, i - 1, "debug", "buggy", bug_depth=i - 1) for i in range(2, 7)]
    nodes = tree(ROOT, *chain, node(7, 0, "draft", "valid", 9.0), node(8, 0, "draft", "valid", 9.5))
    assert nodes[6].bug_depth == 5
    for seed in range(50):
        assert next_actions(spec, nodes, budget=20, seed=seed) == [Action("improve", 7)] * 3
