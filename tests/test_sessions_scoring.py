"""FSR and its aggregates, on sessions written to a real store and read back."""

import math
import sqlite3

import pytest

from sessions import events as ev
from sessions.fsr import compute_fsr
from sessions.replay import load_state
from sessions.scoring import bootstrap, difference, pooled_iqm, score_session, summarize, task_score
from sessions.store import Store
from sessions_helpers import full_session, node_events, started

# Catalog: start 200 s, next record 150 s (ratio 0.75); the target loss is 2.0.
CATALOG = dict(start_time_s=200.0, target_time_s=150.0)


def write_session(db, nodes, *, timed_target_s=None, **start_fields):
    """nodes: (time_s or None for target missed, run status) per node; node 0 is the root.
    With timed_target_s, the next record's code was timed at the end."""
    with Store(db) as store:
        sid = store.new_session(started(**CATALOG, **start_fields))
        for node, (time_s, status) in enumerate(nodes):
            parent, stage = (None, "root") if node == 0 else (0, "draft")
            for event in node_events(node, parent, stage, f"sha{node}", time_s, status=status):
                store.append(sid, event)
        if timed_target_s is not None:
            store.append(sid, ev.TargetTimed(time_s=timed_target_s, status="valid", seed=0))
        store.append(sid, ev.SessionFinished())
        cached = store.session_info(sid)
        score = score_session(load_state(store, sid, with_logs=False))
    # The listing's cache agrees.
    assert (cached.fsr, cached.best_time_s, cached.target_source) == (score.fsr, score.best_time_s,
                                                                       score.target_source)
    return score


def ok(t):
    return (t, "ok")


def test_measured_start_rescales_the_next_record(tmp_path):
    score = write_session(tmp_path / "s.db", [ok(100.0), ok(95.0), ok(90.0)])
    # t_start = 100 measured, t_next' = 100 * 150/200 = 75, t_best = 90.
    assert score.times_source == "measured"
    assert (score.start_time_s, score.target_time_s, score.best_time_s) == (100.0, 75.0, 90.0)
    assert score.fsr == pytest.approx((100 - 90) / (100 - 75))


@pytest.mark.parametrize("root, timed, provisional, expected", [
    (100.0, 80.0, True, (0.5, 80.0, "measured", "timed")),  # measured here: no ratio, provisional or not
    (100.0, None, False, (0.4, 75.0, "measured", "calibrated")),  # 100 * 150/200
    (100.0, None, True, (0.4, 75.0, "measured", "provisional")),
    (None, 80.0, True, (0.6, 150.0, "catalog", "provisional")),  # a timed target alone would mix machines
])
def test_next_record_time_comes_timed_calibrated_or_provisional(root, timed, provisional, expected):
    times = compute_fsr(200.0, 150.0, root, 90.0 if root else 170.0, timed_target_s=timed, provisional=provisional)
    assert (times.fsr, times.target_time_s, times.times_source, times.target_source) == pytest.approx(expected)


def test_a_timed_next_record_replaces_the_ratio_in_the_store_and_the_score(tmp_path):
    score = write_session(tmp_path / "s.db", [ok(100.0), ok(90.0)], timed_target_s=80.0,
                          config={"provisional": True})
    assert (score.target_source, score.provisional, score.target_time_s) == ("timed", False, 80.0)
    assert score.fsr == pytest.approx(0.5)


def test_a_database_from_before_target_timing_is_upgraded(tmp_path):
    db = tmp_path / "old.db"
    with Store(db) as store:
        sid, _ = full_session(store)
    with sqlite3.connect(db) as conn:  # back to what the previous version wrote
        conn.execute("ALTER TABLE sessions DROP COLUMN timed_target_s")
        conn.execute("ALTER TABLE sessions DROP COLUMN target_source")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name='0002_target_timing'")
    with Store(db) as store:
        info = store.session_info(sid)
        score = score_session(load_state(store, sid))
    assert (info.fsr, info.target_source) == (score.fsr, score.target_source) == (0.75, "calibrated")  # (100 - 85) / (100 - 80)


def test_agent_slower_than_start_scores_zero(tmp_path):
    score = write_session(tmp_path / "s.db", [ok(100.0), ok(120.0), ok(130.0)])
    assert score.fsr == 0.0 and score.best_time_s == 100.0
    assert (score.improved_nodes, score.no_improvement_nodes) == (0, 3)


def test_never_reaching_the_target_scores_zero(tmp_path):
    score = write_session(tmp_path / "s.db", [ok(100.0), ok(None), ok(None)])
    assert score.fsr == 0.0 and score.best_time_s == 100.0


def test_never_reaching_the_target_without_a_root_run_uses_catalog(tmp_path):
    score = write_session(tmp_path / "s.db", [ok(None), ok(None)])
    assert score.times_source == "catalog"
    assert (score.fsr, score.start_time_s, score.best_time_s) == (0.0, 200.0, 200.0)


def test_faster_than_next_record_is_kept_above_one(tmp_path):
    score = write_session(tmp_path / "s.db", [ok(100.0), ok(60.0)])
    assert score.fsr == pytest.approx(40 / 25) and score.fsr > 1


def test_crashed_root_falls_back_to_catalog_times(tmp_path):
    score = write_session(tmp_path / "s.db", [(None, "crashed"), ok(170.0), (None, "crashed")])
    assert score.times_source == "catalog"
    assert (score.start_time_s, score.target_time_s) == (200.0, 150.0)
    assert score.fsr == pytest.approx((200 - 170) / (200 - 150))
    assert (score.nodes, score.buggy_nodes, score.improved_nodes, score.no_improvement_nodes) == (3, 2, 1, 0)


def test_improved_means_faster_by_more_than_the_start_std(tmp_path):
    score = write_session(tmp_path / "s.db", [ok(100.0), ok(97.0), ok(90.0), ok(None)],
                          config={"start_time_std_s": 5.0})
    assert (score.nodes, score.improved_nodes, score.no_improvement_nodes) == (4, 1, 3)


def test_tokens_cost_and_interventions_are_counted(tmp_path):
    with Store(tmp_path / "s.db") as store:
        sid = store.new_session(started(**CATALOG))
        store.append(sid, ev.LLMRequest(call_id="c1", model="m", purpose="draft"))
        store.append(sid, ev.LLMResponse(call_id="c1", tokens_in=100, tokens_out=20, cost_usd=0.01))
        for decision, by in [("approve", "human"), ("approve", "policy"), ("steer", "human"),
                             ("edit", "human"), ("reject", "human"), ("approve_all", "human")]:
            store.append(sid, ev.HumanDecision(node=1, decision=decision, by=by))
        score = score_session(load_state(store, sid))
        assert store.session_info(sid).tokens == 120
    assert (score.tokens, score.cost_usd) == (120, 0.01)
    assert score.intervention_counts == {"approve": 2, "reject": 1, "steer": 1, "edit": 1}
    assert score.interventions == 5


def test_top3_pads_with_the_start_time_and_reports_stderr():
    single = task_score("micro/1", {}, [0.5])
    assert single.top == [0.5, 0.0, 0.0]
    assert single.mean == pytest.approx(0.5 / 3)
    assert single.stderr == pytest.approx(math.sqrt(((1 / 3) ** 2 + 2 * (1 / 6) ** 2) / 2) / math.sqrt(3))
    assert task_score("micro/1", {}, [0.1, 0.9, 0.4, 0.7]).top == [0.9, 0.7, 0.4]


def test_iqm_and_seeded_bootstrap():
    assert pooled_iqm([8, 1, 2, 3], [4, 5, 6, 7]) == 4.5  # the middle half of all eight values pooled
    values = [0.1, 0.4, 0.2, 0.9, 0.0, 0.3]
    first, again = bootstrap([values], pooled_iqm, seed=3), bootstrap([values], pooled_iqm, seed=3)
    assert first == again
    assert first.low <= first.value <= first.high and first.low < first.high


def test_the_bootstrap_resamples_within_each_task(tmp_path):
    """Stratified: tasks whose sessions all agree leave nothing to resample, however far apart the tasks
    are (a bootstrap over tasks would spread from 0.4 to 2.0); a task whose sessions differ widens it."""
    agreed = summarize([write_session(tmp_path / f"{i}.db", [ok(100.0), ok(t)], task=task)
                        for i, (task, t) in enumerate([("micro/1", 90.0)] * 3 + [("micro/2", 50.0)] * 3)],
                       by=("mode",))[0]
    assert [t.top for t in agreed.tasks] == [pytest.approx([0.4] * 3), pytest.approx([2.0] * 3)]
    for estimate in (agreed.mean, agreed.median, agreed.iqm):
        assert (estimate.low, estimate.high) == pytest.approx((estimate.value, estimate.value))
    assert agreed.mean.value == pytest.approx(1.2)
    spread = summarize([write_session(tmp_path / f"s{i}.db", [ok(100.0), ok(t)], task="micro/1", mode="copilot")
                        for i, t in enumerate([90.0, 70.0, 50.0])], by=("mode",))[0]
    assert spread.mean.low < spread.mean.value < spread.mean.high
    gap, significant = difference(agreed, spread)
    assert gap.value == pytest.approx(0.0) and gap.low < 0.0 < gap.high and not significant


def test_summarize_groups_by_config_across_tasks(tmp_path):
    scores = [write_session(tmp_path / f"{i}.db", [ok(100.0), ok(t)], mode=mode, task=task)
              for i, (mode, task, t) in enumerate([("auto", "micro/1", 90.0), ("auto", "micro/1", 80.0),
                                                   ("auto", "micro/2", 100.0), ("copilot", "micro/1", 75.0)])]
    auto, copilot = summarize(scores, by=("mode",))
    assert auto.config == {"mode": "auto"} and [t.task for t in auto.tasks] == ["micro/1", "micro/2"]
    assert auto.tasks[0].top == pytest.approx([0.8, 0.4, 0.0])
    assert auto.mean.value == pytest.approx((0.4 + 0.0) / 2)
    assert copilot.mean.value == pytest.approx(1 / 3)
