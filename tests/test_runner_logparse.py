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


# One invented line per format the real record logs print (both tracks, every linked log and
# every log of the folders records 14-17 link), with where that format appears.
NAN = float("nan")
REAL_FORMATS = [
    # llm.c baselines: 124M records 1-2, medium record 1
    ("s:0 tel:11.0120", ("val", 0, None, 11.012, None, None, None)),
    ("s:7 trl:10.6021 lr:0.000004 norm:12.50", ("train", 7, None, None, 10.6021, None, None)),  # 124M record 1
    ("s:7 trl:10.6021", ("train", 7, None, None, 10.6021, None, None)),  # 124M record 2
    # modded-nanogpt: the first validation and the first timed steps print step_avg:nanms
    ("step:0/1500 val_loss:10.8301 train_time:0ms step_avg:nanms", ("val", 0, 1500, 10.8301, None, 0.0, NAN)),
    ("step:1/1500 train_loss:10.8301 train_time:30211ms step_avg:nanms",  # records 4-14 (14: a folder)
     ("train", 1, 1500, None, 10.8301, 30211.0, NAN)),
    ("step:12/1500 train_loss:9.1234 train_time:1523ms step_avg:152.30ms",
     ("train", 12, 1500, None, 9.1234, 1523.0, 152.3)),
    ("step:1/1450 train_time:22950ms step_avg:nanms",  # records 15-21 (15-17: folders), medium 2
     ("train", 1, 1450, None, None, 22950.0, NAN)),
    ("step:1450/1450 train_time:231507ms step_avg:159.66ms", ("train", 1450, 1450, None, None, 231507.0, 159.66)),
    ("step:1450/1450 val_loss:3.2779 train_time:231507ms step_avg:159.66ms",  # every record from 4 on, both tracks
     ("val", 1450, 1450, 3.2779, None, 231507.0, 159.66)),
]


@pytest.mark.parametrize("line, expected", REAL_FORMATS, ids=[line for line, _ in REAL_FORMATS])
def test_every_format_of_the_real_record_logs(line, expected):
    m = parse_line(line)
    got = (m.kind, m.step, m.total_steps, m.val_loss, m.train_loss, m.train_time_ms, m.step_avg_ms)
    assert m.finite and all(g == e or (g != g and e != e) for g, e in zip(got, expected, strict=True))  # nan == nan


def test_a_folder_run_of_records_15_to_17_reads_to_its_last_validation():
    """The shape of each log in the folders records 15-17 link: code, the environment, then
    validation lines, steps without train_loss and nan averages at first."""
    from records.nanogpt import measured_time, split_record_log

    sep = "=" * 100
    steps = [f"step:{s}/1480 train_time:{s * 160}ms step_avg:{'nan' if s < 2 else '160.00'}ms" for s in range(1, 4)]
    text = "\n".join(["import os", sep, "Running Python 3.12", sep,
                      "step:0/1480 val_loss:10.8258 train_time:0ms step_avg:nanms", *steps,
                      "step:1480/1480 val_loss:3.2791 train_time:236800ms step_avg:160.00ms", "peak memory: 1 MiB"])
    code, log = split_record_log(text)
    kinds = [parse_line(line).kind if parse_line(line) else None for line in log.splitlines()]
    assert code == "import os\n" and kinds == ["val", "train", "train", "train", "val", None]
    assert measured_time(log) == (236.8, 3.2791)
