"""The sessions/score/compare/export commands on a real DB, and bad DB files."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sessions import events as ev
from sessions.store import Store
from sessions_helpers import full_session, started
from speedrun_tui.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "s.db"
    with Store(path) as store:
        fast, _ = full_session(store, times=(100.0, 90.0, 70.0))  # t_next' = 80 -> FSR 1.5
        slow, _ = full_session(store, times=(100.0, 120.0))
        copilot = store.new_session(started(mode="copilot"))
        store.append(copilot, ev.HumanDecision(decision="steer", text="use muon"))
        store.append(copilot, ev.SessionFinished())
        live = store.new_session(started())  # closed without finishing
    return path, {"fast": fast, "slow": slow, "copilot": copilot, "live": live}


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_sessions_json_lists_every_session(db, capsys):
    path, ids = db
    rows = {row["id"]: row for row in run_json(capsys, "sessions", "--json", "--db", str(path))}
    assert set(rows) == set(ids.values())
    fast = rows[ids["fast"]]
    for key in ("id", "task", "model", "mode", "scaffold", "hints", "status", "nodes", "best_time_s", "fsr"):
        assert key in fast
    assert (fast["status"], fast["nodes"], fast["best_time_s"], fast["fsr"]) == ("finished", 3, 70.0, 1.5)
    assert rows[ids["live"]]["status"] == "unfinished"
    assert rows[ids["copilot"]]["mode"] == "copilot"


def test_score_json_with_prefixes_and_global_db(db, capsys):
    path, ids = db
    scores = run_json(capsys, "--db", str(path), "score", ids["fast"][:5], ids["slow"], "--json")
    assert [s["session"] for s in scores] == [ids["fast"], ids["slow"]]
    for key in ("session", "task", "fsr", "best_time_s", "start_time_s", "target_time_s", "nodes",
                "buggy_nodes", "tokens", "cost_usd", "interventions"):
        assert key in scores[0]
    assert (scores[0]["fsr"], scores[0]["target_time_s"], scores[0]["times_source"]) == (1.5, 80.0, "measured")
    assert scores[1]["fsr"] == 0.0


def test_score_csv_and_table(db, capsys):
    path, ids = db
    assert main(["score", "--csv", "--db", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("session,task,model")
    assert len(lines) == 1 + 4  # every session that is not running
    assert main(["score", "--db", str(path)]) == 0
    assert ids["fast"] in capsys.readouterr().out


def test_compare_by_mode_json(db, capsys):
    path, _ = db
    result = run_json(capsys, "compare", "--by", "mode", "--json", "--db", str(path))
    groups = {g["mode"]: g for g in result["groups"]}
    assert set(groups) == {"auto", "copilot"}
    # auto on micro/1: FSRs 1.5, 0 (slow), 0 (the unfinished one) -> top-3 mean 0.5
    assert groups["auto"]["mean"]["value"] == pytest.approx(0.5)
    assert groups["auto"]["per_task"][0]["top"] == [1.5, 0.0, 0.0]
    assert groups["copilot"]["sessions"] == 1
    again = run_json(capsys, "compare", "--by", "mode", "--json", "--db", str(path))
    assert again == result  # seeded bootstrap


def test_export_jsonl_and_journal(db, capsys, tmp_path):
    path, ids = db
    out = tmp_path / "events.jsonl"
    assert main(["export", ids["fast"], "--format", "jsonl", "--out", str(out), "--db", str(path)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seq"] for r in records] == list(range(len(records)))
    assert records[0]["kind"] == "session_started" and records[-1]["kind"] == "session_finished"
    journal = run_json(capsys, "export", ids["fast"][:6], "--format", "journal", "--db", str(path))
    nodes = {n["id"]: n for n in journal["nodes"]}
    assert nodes[2]["parent"] == 0 and nodes[2]["metric"]["time_s"] == 70.0
    assert nodes[2]["code"] == "# code of node 2\n" and nodes[2]["plan"] == "plan for node 2"
    assert nodes[1]["term_out"] == "line 0 of node 1\nline 1 of node 1\nline 2 of node 1"
    assert nodes[0]["is_buggy"] is False


def cli(*argv, env_home):
    return subprocess.run([sys.executable, "-m", "speedrun_tui", *argv], cwd=ROOT, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "SPEEDRUN_TUI_HOME": str(env_home)})


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("speedrun-tui: error:"), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_corrupt_and_foreign_db_files_get_one_line_errors(tmp_path, isolated_home):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not sqlite at all" * 100)
    assert_one_line_error(cli("sessions", "--db", str(corrupt), env_home=isolated_home), str(corrupt))
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    assert_one_line_error(cli("score", "--db", str(foreign), env_home=isolated_home), "not a speedrun-tui", "invoices")
    with pytest.raises(Exception, match="not a speedrun-tui"):
        Store(foreign)  # the writer refuses it too, and leaves it alone
    with sqlite3.connect(foreign) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["invoices"]


def test_unknown_session_lists_close_matches(db, isolated_home):
    path, ids = db
    typo = ids["fast"][:7] + ("0" if ids["fast"][7] != "0" else "1")
    proc = cli("export", typo, "--db", str(path), env_home=isolated_home)
    assert_one_line_error(proc, typo, ids["fast"])


def test_compare_marks_whether_a_group_differs_from_the_first(db, capsys):
    path, _ = db
    result = run_json(capsys, "compare", "--by", "mode", "--json", "--db", str(path))
    auto, copilot = result["groups"]
    assert "vs_first" not in auto and copilot["vs_first"]["baseline"] == {"mode": "auto"}
    gap = copilot["vs_first"]["mean_difference"]
    assert gap["value"] == pytest.approx(copilot["mean"]["value"] - auto["mean"]["value"])
    assert copilot["vs_first"]["significant"] == (not gap["low"] <= 0.0 <= gap["high"])
    assert main(["compare", "--by", "mode", "--db", str(path)]) == 0
    assert "mean - auto" in capsys.readouterr().out


def test_sessions_and_score_give_the_same_times_for_one_session(tmp_path, capsys):
    path = tmp_path / "s.db"
    with Store(path) as store:
        measured, _ = full_session(store, times=(110.0, 95.0))  # the root ran slower here than in the catalog
        timed, _ = full_session(store, times=(120.0, 100.0))
        store.annotate(timed, ev.TargetTimed(time_s=90.0, status="valid", seed=0, code_sha="x"))
    listed = {row["id"]: row for row in run_json(capsys, "sessions", "--json", "--db", str(path))}
    scored = {row["session"]: row for row in run_json(capsys, "score", "--json", "--db", str(path))}
    for sid in (measured, timed):
        for key in ("start_time_s", "target_time_s", "best_time_s", "fsr", "times_source", "target_source", "nodes"):
            assert listed[sid][key] == pytest.approx(scored[sid][key]), (sid, key)
    assert (listed[measured]["start_time_s"], listed[measured]["target_time_s"]) == (110.0, pytest.approx(88.0))
    assert (listed[timed]["target_time_s"], listed[timed]["target_source"]) == (90.0, "timed")
