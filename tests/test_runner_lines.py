"""OutputKeeper: the cap on kept output, in run.log and towards the live callback."""

from runner.lines import LogLine, OutputKeeper
from runner.logparse import parse_line


def plain(text, stream="stdout"):
    return LogLine(text, stream, None)


def metric(text):
    return LogLine(text, "stdout", parse_line(text))


def test_under_the_cap_everything_is_kept_in_order(tmp_path):
    keeper = OutputKeeper(tmp_path / "run.log", keep_bytes=4096)
    delivered = [keeper.offer(plain(f"line {i}")) for i in range(10)]
    assert keeper.finish() == []
    assert [d.text for d in delivered] == [f"line {i}" for i in range(10)]
    assert (tmp_path / "run.log").read_text() == "".join(f"line {i}\n" for i in range(10))
    assert keeper.dropped_lines == 0


def test_over_the_cap_metrics_still_flow_and_the_tail_is_recovered(tmp_path):
    keeper = OutputKeeper(tmp_path / "run.log", keep_bytes=8192)
    junk = [plain("j" * 100 + str(i)) for i in range(500)]
    delivered = [keeper.offer(line) for line in junk[:300]]
    val = keeper.offer(metric("step:5/10 val_loss:3.0 train_time:5ms"))
    delivered += [keeper.offer(line) for line in junk[300:]]
    recovered = keeper.finish()

    kept_junk = [d for d in delivered if d is not None]
    assert 0 < len(kept_junk) < 300
    assert val is not None and val.dropped_before == 300 - len(kept_junk)
    assert recovered and recovered[-1].text == junk[-1].text  # the very end is never lost
    assert recovered[0].dropped_before == 200 - len(recovered)
    assert keeper.dropped_lines == 500 - len(kept_junk) - len(recovered)

    log = (tmp_path / "run.log").read_text().splitlines()
    assert log[len(kept_junk)] == f"[speedrun-tui: {val.dropped_before} lines dropped here: output over the keep_bytes cap]"
    assert log[len(kept_junk) + 1] == "step:5/10 val_loss:3.0 train_time:5ms"
    assert log[-1] == junk[-1].text
    assert sum(d.dropped_before for d in [val, *recovered]) == keeper.dropped_lines
