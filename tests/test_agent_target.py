"""In-session timing of the next record: after the search, the task's target script runs once on this
machine (not as a node), and the score's t_next is that time instead of a ratio calibrated elsewhere."""

import dataclasses
import io

import pytest
from agent_helpers import FAKE_TRAIN, Recorder, config, fake_task, open_controller, speedup, write_script
from rich.console import Console

from agent.commands import session_config
from agent.headless import run_headless, score_table
from sessions.replay import load_state
from sessions.report import scores_table
from sessions.scoring import score_session
from sessions.events import LogLines, TargetTimed
from sessions.store import Store
from speedrun_tui.cli import build_parser
from tui.describe import describe
from tui.plain import event_lines

# The fake start code takes 0.9 s to target; the catalog's ratio says 0.45 s for the next record,
# but its code, timed here, takes 0.54 s (9 steps of 60 ms). Node 1 (speedup 0.5) takes 0.45 s.
TARGET_CODE = FAKE_TRAIN.replace("STEP_MS = 100.0", "STEP_MS = 60.0")
TIMED_FSR = (0.9 - 0.45) / (0.9 - 0.54)
HANGING_TARGET = "import time\ntime.sleep(60)\n" + TARGET_CODE


def target_task(tmp_path, code: str = TARGET_CODE, **overrides):
    script = tmp_path / "target_train.py"
    script.write_text(code)
    return dataclasses.replace(fake_task(tmp_path), target_script=script, calibration="test CPU", **overrides)


def cfg(tmp_path, **overrides):
    return config(write_script(tmp_path, [speedup(0.5)]), **overrides)


def stored(tmp_path, session_id):
    """(events, the store's listed row, the reducer's score) of a session, read back from the file."""
    with Store(tmp_path / "sessions.db", readonly=True) as store:
        return (store.read_events(session_id), store.session_info(session_id),
                score_session(load_state(store, session_id)))


def target_runs(events) -> int:
    return sum(1 for e in events if e.kind == "run_started" and e.node is None)


def test_the_next_record_is_timed_once_after_the_search_and_scores_the_session(tmp_path):
    controller, store = open_controller(tmp_path, cfg(tmp_path), task=target_task(tmp_path))
    out = io.StringIO()
    score = run_headless(controller, Console(file=out, width=200))
    store.close()
    events, info, replayed = stored(tmp_path, controller.session_id)
    kinds = [e.kind for e in events]
    [timed] = [e for e in events if e.kind == "target_timed"]
    last_node = max(i for i, e in enumerate(events) if e.kind == "node_scored")
    assert last_node < kinds.index("target_timed") < kinds.index("session_finished")
    assert "verification: timing the next record's code on this machine (seed 0)" in [
        e.text for e in events if e.kind == "note"]
    assert (timed.time_s, timed.status, timed.seed) == (pytest.approx(0.54), "valid", 0)
    assert store_blob(tmp_path, timed.code_sha) == TARGET_CODE
    assert target_runs(events) == 1 and sorted(controller.state.nodes) == [0, 1]  # not a search node
    assert (score.target_source, score.provisional, score.nodes) == ("timed", False, 2)
    assert score.target_time_s == pytest.approx(0.54) and score.fsr == pytest.approx(TIMED_FSR)
    # The listing's cached row, `score` and the live score agree.
    assert (info.fsr, info.target_source) == (replayed.fsr, replayed.target_source) == (score.fsr, "timed")
    text = out.getvalue()
    assert "next record: valid: 0.54 s to target (timed here)" in text
    assert "next record time (timed here)" in text


def store_blob(tmp_path, sha):
    with Store(tmp_path / "sessions.db", readonly=True) as store:
        return store.get_blob(sha)


@pytest.mark.parametrize("provisional, source", [(False, "calibrated"), (True, "provisional")])
def test_without_timing_the_score_uses_the_calibrated_ratio(tmp_path, provisional, source):
    task = target_task(tmp_path, provisional=provisional)
    controller, store = open_controller(tmp_path, cfg(tmp_path, time_target=False), task=task)
    score = controller.run()
    store.close()
    events, info, replayed = stored(tmp_path, controller.session_id)
    assert "target_timed" not in [e.kind for e in events] and target_runs(events) == 0
    assert controller.state.started.config["provisional"] is provisional
    assert (score.target_source, score.provisional) == (source, provisional)
    assert score.target_time_s == pytest.approx(0.45) and score.fsr == pytest.approx(1.0)
    assert (info.fsr, info.target_source) == (replayed.fsr, replayed.target_source) == (score.fsr, source)
    summary, table = render(score_table(score)), render(scores_table([score]))
    assert ("1.000 (provisional)" in summary) is ("another CPU's calibration" in summary) is provisional
    assert ("~1.000" in table) is provisional


def render(renderable) -> str:
    console = Console(file=io.StringIO(), width=200)
    console.print(renderable)
    return console.file.getvalue()


def test_a_resumed_session_that_has_timed_the_target_does_not_time_it_again(tmp_path):
    task = target_task(tmp_path)
    controller, store = open_controller(tmp_path, cfg(tmp_path), task=task)
    controller.subscribe(lambda e: controller.stop() if e.kind == "target_timed" else None)
    assert not controller.run().finished  # stopped right after the timing
    store.close()
    resumed, store = open_controller(tmp_path, cfg(tmp_path), task=task, session_id=controller.session_id)
    score = resumed.run()
    store.close()
    events, _, _ = stored(tmp_path, controller.session_id)
    assert [e.kind for e in events].count("target_timed") == 1 and target_runs(events) == 1
    assert score.finished and score.target_source == "timed" and score.fsr == pytest.approx(TIMED_FSR)


def test_a_timing_cut_short_by_stop_is_redone_when_the_session_resumes(tmp_path):
    controller, store = open_controller(tmp_path, cfg(tmp_path), task=target_task(tmp_path, HANGING_TARGET))
    recorder = Recorder()
    controller.subscribe(recorder)
    controller.subscribe(lambda e: controller.stop() if e.kind == "run_started" and e.node is None else None)
    assert not controller.run().finished
    store.close()
    assert recorder.kinds("target_timed") == [] and controller.state.target_timing is None
    # The search was complete: the resumed session goes straight to the timing.
    resumed, store = open_controller(tmp_path, cfg(tmp_path), task=target_task(tmp_path),
                                     session_id=controller.session_id)
    score = resumed.run()
    store.close()
    events, _, _ = stored(tmp_path, controller.session_id)
    assert [e.kind for e in events].count("target_timed") == 1 and target_runs(events) == 2
    assert [e.node for e in events if e.kind == "node_created"] == [0, 1]
    assert score.finished and score.target_time_s == pytest.approx(0.54)


def test_no_time_target_flag():
    parse = build_parser().parse_args
    assert session_config(parse(["run", "micro/1"])).time_target is True
    assert session_config(parse(["run", "micro/1", "--no-time-target"])).time_target is False


def test_the_timing_reads_as_such_in_plain_mode_and_replay():
    assert event_lines(LogLines(lines=["step:0/10 val_loss:4.0"])) == ["[target] step:0/10 val_loss:4.0"]
    assert describe(TargetTimed(time_s=0.54, status="valid", seed=3)) == \
        "next record timed here: 0.5 s to target (seed 3)"
    assert "crashed (exit 1); scores use the calibrated ratio" in describe(
        TargetTimed(time_s=None, status="buggy", reason="crashed (exit 1)"))
