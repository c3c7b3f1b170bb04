import math

import pytest

from runner.logparse import MetricLine, parse_line


def test_modded_nanogpt_validation_line():
    m = parse_line("step:125/1390 val_loss:4.2831 train_time:30514ms step_avg:244.11ms")
    assert m == MetricLine(kind="val", step=125, total_steps=1390, val_loss=4.2831, train_loss=None,
                           train_time_ms=30514.0, step_avg_ms=244.11)


def test_step_zero_validation_line_has_nan_step_avg_but_is_finite():
    m = parse_line("step:0/5100 val_loss:10.8258 train_time:0ms step_avg:nanms")
    assert (m.kind, m.step, m.val_loss, m.train_time_ms) == ("val", 0, 10.8258, 0.0)
    assert math.isnan(m.step_avg_ms)
    assert m.finite


def test_training_line_with_train_loss():
    m = parse_line("step:1/5100 train_loss:10.8258 train_time:29666ms step_avg:nanms")
    assert (m.kind, m.step, m.total_steps, m.train_loss, m.train_time_ms) == ("train", 1, 5100, 10.8258, 29666.0)
    assert m.val_loss is None


def test_training_line_without_train_loss():
    m = parse_line("step:1770/1770 train_time:178245ms step_avg:101.28ms")
    assert (m.kind, m.step, m.train_loss, m.train_time_ms, m.step_avg_ms) == ("train", 1770, None, 178245.0, 101.28)


def test_llmc_validation_and_training_lines():
    val = parse_line("s:0 tel:10.9858")
    train = parse_line("s:768 trl:3.711542")
    assert (val.kind, val.step, val.val_loss, val.total_steps, val.train_time_ms) == ("val", 0, 10.9858, None, None)
    assert (train.kind, train.step, train.train_loss) == ("train", 768, 3.711542)


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf"])
def test_non_finite_losses_parse_as_floats_and_are_flagged(raw):
    val = parse_line(f"step:50/100 val_loss:{raw} train_time:500ms step_avg:10.00ms")
    train = parse_line(f"s:7 trl:{raw}")
    assert str(val.val_loss) == str(float(raw)) and not val.finite
    assert str(train.train_loss) == str(float(raw)) and not train.finite


def test_surrounding_whitespace_and_unknown_keys_are_tolerated():
    m = parse_line("  step:10/20 val_loss:3.5 train_time:12ms step_avg:1.2ms lr:0.02\r\n")
    assert (m.step, m.val_loss, m.train_time_ms) == (10, 3.5, 12.0)


def test_step_without_total():
    m = parse_line("step:10 val_loss:3.5 train_time:12ms")
    assert (m.step, m.total_steps, m.step_avg_ms) == (10, None, None)


@pytest.mark.parametrize("line", [
    "",
    "hello world",
    "config: n_layer=12 step:3/10 val_loss:3.2",  # a metric-looking tail in a log line
    "step:",
    "step:abc/10 val_loss:3.2 train_time:1ms",
    "step:5/x val_loss:3.2 train_time:1ms",
    "step:5/10 val_loss:abc train_time:1ms",
    "step:5/10 val_loss:3.2 train_time:fastms",
    "step:5/10 lr:0.1 grad_norm:1.0",
    "stepping:5/10 val_loss:3.2",
    "s:x tel:3.2",
    "s:5",
    "Traceback (most recent call last):",
    "peak memory allocated: 22131 MiB reserved: 23190 MiB",
])
def test_lines_that_are_not_metrics_are_plain_log(line):
    assert parse_line(line) is None
