"""summarize and MetricTrail on parsed log lines (the part every backend shares)."""

from runner.logparse import parse_line
from runner.outcome import MAX_VAL_LINES, MetricTrail, summarize


def metrics(*lines: str):
    return [parse_line(line) for line in lines]


def judge(ms, *, exit_code=0, target=3.28, killed_for=None, stderr_tail=""):
    return summarize(ms, exit_code=exit_code, target_loss=target, wall_s=12.3456, peak_rss_mb=100.04,
                     dropped_lines=7, stderr_tail=stderr_tail, killed_for=killed_for)


VALS = metrics("step:0/20 val_loss:4.0 train_time:0ms step_avg:nanms",
               "step:10/20 train_loss:3.4 train_time:1000ms step_avg:100.00ms",
               "step:10/20 val_loss:3.28 train_time:1000ms step_avg:100.00ms",
               "step:20/20 val_loss:3.1 train_time:2000ms step_avg:100.00ms")


def test_target_met_exactly_counts_and_the_first_crossing_sets_the_time():
    r = judge(VALS)
    assert (r.status, r.time_to_target_ms, r.steps_to_target, r.final_val_loss) == ("ok", 1000.0, 10, 3.1)
    assert (r.wall_s, r.peak_rss_mb, r.dropped_lines) == (12.346, 100.0, 7)
    assert r.valid


def test_no_target_is_ok_without_a_time():
    r = judge(VALS, target=None)
    assert r.status == "ok" and r.time_to_target_ms is None and r.reason == "no target loss set"


def test_timeout_and_cancel_win_over_everything_but_keep_the_time():
    for why in ("timeout", "cancelled"):
        r = judge(VALS, exit_code=-15, killed_for=why)
        assert r.status == why and r.time_to_target_ms == 1000.0 and not r.valid


def test_non_zero_exit_after_reaching_target_is_a_crash():
    r = judge(VALS, exit_code=-11)
    assert r.status == "crashed" and r.reason == "killed by SIGSEGV"


def test_crash_reason_quotes_the_last_stderr_line():
    r = judge(VALS, exit_code=3, stderr_tail="Traceback\n  File x\nValueError: bad shape\n\n")
    assert r.reason == "exited with code 3: ValueError: bad shape"


def test_nan_beats_a_clean_exit_and_names_the_step():
    r = judge(VALS + metrics("step:30/40 train_loss:nan train_time:3000ms step_avg:100.00ms"))
    assert r.status == "crashed" and r.reason == "train_loss became nan at step 30"


def test_only_training_lines_is_no_metrics():
    r = judge(metrics("step:1/20 train_loss:3.4 train_time:10ms step_avg:10.00ms"))
    assert r.status == "no_metrics" and r.final_val_loss is None


def test_trail_bounds_memory_but_keeps_what_decides_the_outcome():
    trail = MetricTrail(target_loss=3.0)
    for step in range(MAX_VAL_LINES + 5000):
        trail.add(parse_line(f"step:{step}/1 train_loss:5.0 train_time:{step}ms"))
        loss = 2.9 if step == MAX_VAL_LINES + 100 else 4.0
        trail.add(parse_line(f"step:{step}/1 val_loss:{loss} train_time:{step}ms"))
    trail.add(parse_line("step:99999/1 val_loss:inf train_time:1ms"))
    trail.add(parse_line("step:100000/1 train_loss:3.5 train_time:2ms"))
    kept = trail.lines()
    assert len(kept) == MAX_VAL_LINES + 3
    r = judge(kept, target=3.0)
    assert r.steps_to_target == MAX_VAL_LINES + 100
    assert r.reason == "val_loss became inf at step 99999"
    assert kept[-1].step == 100000
