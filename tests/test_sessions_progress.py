"""The progress model (sessions/progress.py) on hand-made events: what every view shows of a run in flight."""

from __future__ import annotations

from runner.result import RunResult
from sessions import events as ev
from sessions.progress import ProgressTracker, duration, load_runs
from sessions.store import Store

T0 = 1_750_000_000.0


def started() -> ev.SessionStarted:
    return ev.SessionStarted(task="micro/1", model="reference", scaffold="flat", hints="none", mode="auto",
                             start_time_s=100.0, target_time_s=80.0, target_loss=3.28, ts=T0)


def metric(node: int | None, step: int, train_ms: float, val_loss: float | None = None) -> ev.Metric:
    return ev.Metric(node=node, step=step, val_loss=val_loss, train_loss=None if val_loss else 4.0,
                     train_time_ms=train_ms, total_steps=1000, ts=T0 + 5 + train_ms / 1000)


def finished(node: int, time_s: float) -> list[ev.Event]:
    result = RunResult(status="ok", exit_code=0, time_to_target_ms=time_s * 1000, target_loss=3.28)
    return [ev.RunFinished(node=node, result=result.to_json()),
            ev.NodeScored(node=node, status="valid", time_s=time_s)]


def session_events() -> list[ev.Event]:
    """The root trains (90 s here), node 1 trains, then the next record's code is timed."""
    return [
        started(),
        ev.RunStarted(node=0, code_sha="a", ts=T0),
        metric(0, 0, 0.0, val_loss=4.5),
        metric(0, 250, 20_000.0),
        metric(0, 250, 20_000.0, val_loss=3.9),
    ]


def line(tracker: ProgressTracker, now: float) -> str:
    return " | ".join(view.line() for view in tracker.views(now))


def test_a_run_shows_node_steps_loss_against_the_target_time_and_what_is_left():
    tracker = ProgressTracker()
    for event in session_events()[:2]:
        tracker.apply(event)
    # Before its first step: the catalog's start time is all there is to go by.
    assert line(tracker, T0 + 3) == "node 0 · starting · target 3.28 · 3.0s · about 1m40s left"
    for event in session_events()[2:]:
        tracker.apply(event)
    # 250 of 1000 steps in 20 s: the steps left take at most 60 s, less than the 80 s the start time leaves.
    assert line(tracker, T0 + 65) == ("node 0 · step 250/1000 · val_loss 3.9000 (target 3.28) · 1m05s · "
                                      "at most 1m00s left")
    assert tracker.views(T0 + 65)[0].short() == "node 0 · step 250/1000 · val_loss 3.9000"


def test_a_candidate_is_expected_to_take_the_roots_measured_time():
    tracker = ProgressTracker()
    for event in [*session_events(), *finished(0, 90.0), ev.RunStarted(node=1, code_sha="b", ts=T0 + 200),
                  metric(1, 500, 50_000.0, val_loss=3.5)]:
        tracker.apply(event)
    [run] = tracker.runs
    assert run.node == 1 and run.expected_s == 90.0
    # 90 s measured for the root, 50 s trained: about 40 s, below the 50 s the steps left would take.
    assert tracker.views(T0 + 260)[0].left == "about 40s left"


def test_the_next_records_timing_has_no_node_and_a_rescaled_time():
    tracker = ProgressTracker()
    for event in [*session_events(), *finished(0, 90.0), ev.RunStarted(node=None, code_sha="t", ts=T0 + 300)]:
        tracker.apply(event)
    view = tracker.views(T0 + 310)[0]
    # The catalog's 80 s for the next record, on a machine 0.9x the catalog's: 72 s.
    assert (view.label, view.left) == ("next record's timing", "about 1m12s left")
    tracker.apply(ev.TargetTimed(time_s=70.0, status="valid"))
    assert tracker.runs == ()


def test_parallel_runs_end_one_by_one_and_a_stop_ends_them_all():
    tracker = ProgressTracker()
    for event in [*session_events(), *finished(0, 90.0), ev.RunStarted(node=1, code_sha="b", ts=T0 + 200),
                  ev.RunStarted(node=2, code_sha="c", ts=T0 + 201), metric(2, 10, 1000.0)]:
        tracker.apply(event)
    assert [(run.node, run.step) for run in tracker.runs] == [(1, None), (2, 10)]
    tracker.apply(finished(1, 80.0)[0])
    assert [run.node for run in tracker.runs] == [2]
    tracker.apply(ev.SessionFinished(status="stopped"))  # a run cut short by a stop records no end
    assert tracker.runs == ()


def test_a_resumed_session_keeps_the_roots_time():
    from sessions.state import SessionState

    state = SessionState("s")
    for event in [started(), ev.NodeCreated(node=0, parent=None, stage="root"), *session_events()[1:],
                  *finished(0, 90.0)]:
        state.apply(event)
    tracker = ProgressTracker.from_state(state)
    tracker.apply(state.started)  # headless prints the start again
    tracker.apply(ev.RunStarted(node=1, code_sha="b", ts=T0))
    assert tracker.runs[0].expected_s == 90.0


def test_load_runs_reads_the_same_from_the_store(tmp_path):
    live = ProgressTracker()
    with Store(tmp_path / "sessions.db") as store:
        sid = store.new_session(started())
        events = [*session_events()[1:], *finished(0, 90.0), ev.RunStarted(node=1, code_sha="b", ts=T0 + 200),
                  metric(1, 100, 10_000.0, val_loss=4.0), metric(1, 120, 12_000.0)]
        live.apply(started())
        for event in events:
            live.apply(store.append(sid, event))  # as the controller does: stored (given a seq), then shown
        store.flush()
        assert load_runs(store, sid) == live.runs
        assert live.views(T0 + 230)[0].short() == "node 1 · step 120/1000 · val_loss 4.0000"


def test_durations_stay_short():
    assert [duration(s) for s in (0.44, 42.4, 65, 3725)] == ["0.4s", "42s", "1m05s", "1h02m"]
