"""Equal-time comparisons: durations, a session's elapsed time, --time-budget and `compare --at`."""

import json
import time

import pytest
from agent_helpers import config, open_controller, speedup, write_script
from tui_helpers import SessionWriter

from sessions import events as ev
from sessions.elapsed import best_fsr_by, format_duration, parse_duration
from sessions.store import Store
from speedrun_tui.cli import main
from speedrun_tui.errors import UserError

# Root reaches the target at 1.0 s, node 1 at 0.8 s; the catalog's ratio (10/20) puts t_next at 0.5 s.
ROOT = [(0, 4.0, 0.0), (100, 3.25, 1000.0)]
FASTER = [(0, 4.0, 0.0), (80, 3.25, 800.0)]


def test_durations_parse_as_people_type_them():
    assert [parse_duration(t) for t in ("90s", "30m", "1h30m", "2h", "0.5h")] == [90, 1800, 5400, 7200, 1800]
    assert format_duration(5400) == "1h30m" and format_duration(90) == "1m30s"
    for bad in ("", "ten minutes", "30", "-5m", "0m"):
        with pytest.raises(UserError, match="--time-budget: "):
            parse_duration(bad, option="--time-budget")


def budgeted_session(store, *, mode: str, gap_s: float, finish: str | None, resume_gap_s: float = 0.0) -> str:
    """Root scored 10 s in; node 1 (the gain) scored `gap_s` later, optionally after a stop and a resume."""
    w = SessionWriter(store, mode=mode)
    sha = store.put_blob("code")
    w.add(ev.NodeCreated(node=0, parent=None, stage="root", code_sha=sha))
    w.run(0, sha, ROOT, target=3.28)
    w.tick(5)
    w.add(ev.NodeScored(node=0, status="valid", time_s=1.0, val_loss=3.25, is_best=True))
    if resume_gap_s:
        w.add(ev.SessionFinished(status="stopped"))
        w.tick(resume_gap_s)  # a night away: not elapsed time
        w.add(ev.SessionResumed(mode=mode))
    w.add(ev.NodeCreated(node=1, parent=0, stage="draft"))
    w.tick(gap_s)
    w.run(1, sha, FASTER, target=3.28)
    w.add(ev.NodeScored(node=1, status="valid", time_s=0.8, val_loss=3.25, is_best=True))
    if finish:
        w.add(ev.SessionFinished(status=finish))
    store.flush()
    return w.session_id


def test_the_best_fsr_by_each_time_leaves_out_the_night_between_a_stop_and_a_resume(tmp_path):
    with Store(tmp_path / "s.db") as store:
        sid = budgeted_session(store, mode="auto", gap_s=1800, finish="finished", resume_gap_s=36000)
        events = store.read_events(sid)
    # node 1 scored about 1830 s of running in, though ten hours passed on the wall
    assert best_fsr_by(events, [60, 1700, 1900, 7200]) == [0.0, 0.0, pytest.approx(0.4), pytest.approx(0.4)]


def test_a_session_that_stopped_early_has_no_score_after_it_stopped(tmp_path):
    with Store(tmp_path / "s.db") as store:
        sid = budgeted_session(store, mode="human", gap_s=600, finish="stopped")
        events = store.read_events(sid)
    assert best_fsr_by(events, [300, 1200, 3600]) == [0.0, None, None]  # it ran about 630 s


def test_compare_at_reports_each_groups_mean_by_each_time(tmp_path, capsys):
    db = tmp_path / "sessions.db"
    with Store(db) as store:
        budgeted_session(store, mode="auto", gap_s=600, finish="finished")  # 0.4 from about 10 min on
        budgeted_session(store, mode="auto", gap_s=5000, finish="finished")  # 0.4 from about 84 min on
        budgeted_session(store, mode="human", gap_s=2400, finish="finished")  # 0.4 from about 41 min on
    assert main(["compare", "--at", "30m,1h,2h", "--json", "--db", str(db)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["at_s"] == [1800, 3600, 7200]
    auto, human = out["groups"]
    assert auto["config"] == {"mode": "auto"} and auto["counted"] == [2, 2, 2]
    assert [round(e["value"], 3) for e in auto["at"]] == [0.2, 0.2, 0.4]
    assert [round(e["value"], 3) for e in human["at"]] == [0.0, 0.4, 0.4]
    assert main(["compare", "--at", "30m,1h,2h", "--db", str(db)]) == 0
    table = capsys.readouterr().out
    assert "by 30m" in table and "by 2h" in table and "n=2" in table
    assert main(["compare", "--at", "soon", "--db", str(db)]) == 2
    assert capsys.readouterr().err.strip() == "speedrun-tui: error: --at: 'soon' is not a duration; write e.g. 90s, 30m, 1h30m"


def test_a_time_budget_stops_the_search_resumably_and_a_larger_one_goes_on(tmp_path):
    slow = [speedup(factor).replace(f"STEP_MS *= {factor}", f"import time\ntime.sleep(0.4)\nSTEP_MS *= {factor}")
            for factor in (0.9, 0.8, 0.7, 0.6)]
    script = write_script(tmp_path, slow)
    controller, store = open_controller(tmp_path, config(script, max_nodes=4, time_budget_s=1.0))
    began = time.monotonic()
    controller.run()
    store.close()
    assert time.monotonic() - began < 20
    finished = controller.state.finished
    assert finished.status == "stopped" and finished.reason == "time budget 1s spent"
    done = [n for n in controller.state.nodes.values() if n.stage != "root" and n.status == "valid"]
    assert len(done) < 4  # it stopped before the node budget
    resumed, store = open_controller(tmp_path, config(script, time_budget_s=600.0),
                                     session_id=controller.session_id)
    resumed.run()
    store.close()
    assert resumed.state.finished.status == "finished" and resumed.state.time_budget_s == 600.0
    assert len([n for n in resumed.state.nodes.values() if n.stage != "root"]) == 4
