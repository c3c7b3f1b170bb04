"""`import nanogpt`: a fake modded-nanogpt checkout with every shape of the real README, and an
llm-speedrunner hints tree, in the real layouts (no real record code, log or hint text)."""

import json
from dataclasses import replace

import pytest

from records.catalog import get_task, list_tasks, task_env
from records.nanogpt import split_record_log
from records.nanogpt_catalog import PAPER_TIMES_S, TASK_RECORDS, load_catalog
from records.nanogpt_readme import parse_readme
from records.tasklist import Here, runs_here
from speedrun_tui.cli import main
from speedrun_tui.errors import UserError
from realtrack_helpers import (LAST_124M, LAST_MEDIUM, MEDIUM_MINUTES, README_MINUTES, RETIMED_21, SEP, fake_code,
                               make_hints_tree, make_modded_nanogpt, measured_ms, record_txt)

# The tasks that cannot run, on the fixture as on the real checkout today: no code for the start record.
UNAVAILABLE = {"nanogpt/1", "nanogpt/2", "nanogpt/3", "nanogpt/66", "nanogpt/85", "nanogpt/86",
               "nanogpt-medium/1", "nanogpt-medium/11"}


@pytest.fixture
def checkout(tmp_path):
    return make_modded_nanogpt(tmp_path / "modded-nanogpt")


@pytest.fixture
def hints(tmp_path):
    return make_hints_tree(tmp_path / "llm-speedrunner")


def _records(track="nanogpt"):
    return {r["number"]: r for r in load_catalog()["records"] if r["track"] == track and not r["retiming"]}


def test_import_gives_the_19_tasks_with_code_paper_times_and_hints(checkout, hints, capsys):
    assert main(["import", "nanogpt", str(checkout), "--hints", str(hints)]) == 0
    assert "nanogpt: 88 tasks (19 of the benchmark), 85 available" in capsys.readouterr().out
    tasks = list_tasks("nanogpt", benchmark=True)
    assert [t.id for t in tasks] == [f"nanogpt/{k}" for k in (1, 2, 3, 4, 5, *range(7, 21))]
    assert all(t.available and t.hint_source == "llm-speedrunner" and t.hardware == "8xH100" for t in tasks)
    four = get_task("nanogpt/4")
    assert four.start_code() == fake_code(4)  # the file opens with a separator: code between the first two
    assert get_task("nanogpt/5").start_code() == fake_code(5)  # code first, then the separator
    assert (four.start_time_s, four.target_time_s, four.target_loss) == (1301.7, 949.5, 3.28)
    assert get_task("nanogpt/7").start_time_s == PAPER_TIMES_S[7]
    assert [h.text for h in four.hints("all")] == ["L1 pseudocode hint for record 4",
                                                   "L2 description hint for record 4", "L3 paper hint for record 4"]
    assert four.reference_diff().endswith("+# change of record 4\n")
    assert four.launcher == "torchrun" and "record 4 -> 5: Description of record 5" in four.title


def test_every_transition_of_both_tracks_is_a_task_and_those_that_cannot_run_say_why(checkout, capsys):
    assert main(["import", "nanogpt", str(checkout)]) == 0
    out = capsys.readouterr().out
    assert "nanogpt: 88 tasks (19 of the benchmark), 82 available" in out
    assert "nanogpt-medium: 17 tasks (0 of the benchmark), 15 available" in out
    short, medium = list_tasks("nanogpt"), list_tasks("nanogpt-medium")
    assert [t.id for t in short] == [f"nanogpt/{k}" for k in range(1, LAST_124M)]
    assert [t.id for t in medium] == [f"nanogpt-medium/{k}" for k in range(1, LAST_MEDIUM)]
    assert {t.id for t in short + medium if not t.available} == UNAVAILABLE
    for task_id in sorted(UNAVAILABLE):
        assert f"  {task_id}: unavailable: no code for record" in out
    reasons = {t.id: t.unavailable_reason for t in short + medium}
    assert "only its PR, https://github.com/someone/modded-nanogpt/pull/86" in reasons["nanogpt/86"]
    assert "only the folders baseline, this_pr_v1" in reasons["nanogpt/85"]
    assert "links no log" in reasons["nanogpt/66"] and "links no log" in reasons["nanogpt-medium/11"]
    assert {t.target_loss for t in medium} == {2.92} and {t.hardware for t in medium} == {"8xH100"}
    assert {t.target_rule for t in short + medium} == {"mean_final"}


def test_tasks_past_the_paper_take_readme_times_a_labelled_table_hint_and_the_code_diff(checkout):
    main(["import", "nanogpt", str(checkout)])
    six, thirty = get_task("nanogpt/6"), get_task("nanogpt/30")
    assert not six.benchmark and six.available  # 6 -> 7 is no benchmark task (slower when re-measured)
    assert (six.start_time_s, six.target_time_s) == (README_MINUTES[6] * 60, README_MINUTES[7] * 60)
    assert thirty.hint_levels == ["text"] and thirty.hint_source == "record table"
    [hint] = thirty.hints("all")
    assert hint.text.startswith("From the record table (modded-nanogpt README), not a benchmark hint.")
    assert "Record 31 of the 124M track (" in hint.text and "Description of record 31" in hint.text
    diff = thirty.reference_diff()
    assert "-print('record 30')" in diff and "+print('record 31')" in diff
    medium_nine = get_task("nanogpt-medium/9")
    assert "Record 10 of the GPT-2 Medium track" in medium_nine.hints("text")[0].text
    assert medium_nine.start_code() == fake_code(9, medium=True)
    assert get_task("nanogpt-medium/16").reference_diff() != ""  # record 17's code: its train_gpt_medium.py


def test_task_21_starts_from_the_latest_retiming_and_every_retiming_row_says_what_became_of_it(checkout):
    main(["import", "nanogpt", str(checkout)])
    task = get_task("nanogpt/21")
    assert task.start_code() == fake_code(21) + "# re-timed 2\n"
    assert task.start_time_s == pytest.approx(RETIMED_21[1] * 60) and task.target_time_s == pytest.approx(2.99 * 60)
    retimings = [r for r in load_catalog()["records"] if r["retiming"]]
    assert [(r["number"], r["readme_time_s"]) for r in retimings] == [(21, pytest.approx(m * 60)) for m in RETIMED_21]
    assert "no task starts from it" in retimings[0]["reason"]
    assert "task nanogpt/21 starts from it" in retimings[1]["reason"]
    assert get_task("nanogpt/20").target_time_s == PAPER_TIMES_S[21]  # the benchmark's own record 21


def test_tasks_benchmark_json_lists_exactly_the_papers_19_with_their_paper_times(checkout, capsys):
    main(["import", "nanogpt", str(checkout)])
    capsys.readouterr()
    assert main(["tasks", "--benchmark", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in listed] == [f"nanogpt/{k}" for k in TASK_RECORDS]
    assert [(t["start_time_s"], t["target_time_s"]) for t in listed] == [
        (PAPER_TIMES_S[k], PAPER_TIMES_S[k + 1]) for k in TASK_RECORDS]
    assert {(t["benchmark"], t["hardware"], t["target_rule"]) for t in listed} == {(True, "8xH100", "mean_final")}


def test_tasks_shows_each_tasks_hardware_and_whether_it_runs_here(checkout, capsys, monkeypatch):
    main(["import", "nanogpt", str(checkout)])
    capsys.readouterr()
    monkeypatch.setenv("PATH", "")  # no nvidia-smi on this machine's PATH: no GPU here
    assert main(["tasks", "--track", "nanogpt-medium"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("nanogpt-medium/2 "))
    assert " 8xH100   no    record 2 -> 3" in row and "text (table)" in row
    assert "GPU tasks here: no CUDA GPU here (nvidia-smi lists none)" in out
    assert main(["tasks", "--track", "nanogpt", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == LAST_124M - 1 and {t["runs_here"] for t in listed} == {False}
    assert sum(t["benchmark"] for t in listed) == 19


def test_a_gpu_task_runs_here_on_any_cuda_gpu_and_says_when_it_is_not_the_records_hardware(checkout):
    main(["import", "nanogpt", str(checkout)])
    task = get_task("nanogpt/40")
    assert runs_here(task, ["NVIDIA H100 80GB HBM3"] * 8) == Here(True, "8xNVIDIA H100 80GB HBM3")
    assert runs_here(task, ["NVIDIA H200"]) == Here(True, "1xNVIDIA H200 (times were measured on 8xH100)")
    assert runs_here(task, []).ok is False and runs_here(replace(task, launcher="python"), []) == Here(True, "cpu")


def test_records_1_to_3_take_llm_speedrunner_templates_when_given(checkout, hints):
    main(["import", "nanogpt", str(checkout), "--hints", str(hints)])
    assert get_task("nanogpt/1").start_code() == "# template of record 1\n"
    by_number = _records()
    assert by_number[3]["code_source"] == "template"
    assert "README links no log" in by_number[3]["reason"]


def test_without_hints_records_1_to_3_are_unavailable_with_their_reasons(checkout, capsys):
    assert main(["import", "nanogpt", str(checkout)]) == 0
    assert len([t for t in list_tasks("nanogpt", benchmark=True) if t.available]) == 16
    one, two, three = (get_task(f"nanogpt/{k}") for k in (1, 2, 3))
    assert not one.available and "main.log holds no code" in one.unavailable_reason
    assert not two.available and ".log holds no code" in two.unavailable_reason
    assert not three.available and "links no log" in three.unavailable_reason
    assert get_task("nanogpt/4").hint_levels == []


def test_odd_records_get_a_reason_each_not_a_crash(tmp_path):
    checkout = make_modded_nanogpt(tmp_path / "odd", odd=True)
    assert main(["import", "nanogpt", str(checkout)]) == 0
    records = _records()
    assert "is not in the checkout" in get_task("nanogpt/9").unavailable_reason
    assert "holds no code" in get_task("nanogpt/10").unavailable_reason
    # Record 11 has code but its log never validates: usable start code, no measured time.
    assert get_task("nanogpt/11").available
    assert records[11]["measured_time_s"] is None and "no validation line" in records[11]["reason"]
    assert get_task("nanogpt/8").available and get_task("nanogpt/12").available


def test_times_github_uses_each_records_measured_time(checkout):
    main(["import", "nanogpt", str(checkout), "--times", "github"])
    four = get_task("nanogpt/4")
    assert four.start_time_s == measured_ms(4) / 1000 and four.target_time_s == measured_ms(5) / 1000
    assert get_task("nanogpt/20").target_time_s == measured_ms(21) / 1000


def test_a_folder_of_logs_is_the_records_runs_and_other_odd_links_are_followed_or_explained(checkout):
    main(["import", "nanogpt", str(checkout)])
    assert get_task("nanogpt/14").start_code() == fake_code(14)
    records = _records()
    # Two runs of the record's code (times +0 and +2 s) beside a log without code: their mean.
    assert records[14]["log_file"].endswith("1111-record.txt") and records[14]["runs"] == 2
    assert records[14]["measured_time_s"] == pytest.approx(measured_ms(14) / 1000 + 1.0)
    assert records[15]["runs"] == 2 and "1 other log(s) left out" in records[15]["reason"]
    assert records[17]["runs"] == 1 and get_task("nanogpt/17").start_code() == fake_code(17)
    assert records[81]["runs"] == 2 and get_task("nanogpt/81").start_code() == fake_code(81)
    assert records[30]["measured_val_loss"] == 3.2806  # its log never reaches 3.28: still a time
    assert "+711% off the README's" in records[88]["reason"]
    medium = _records("nanogpt-medium")
    assert "is stale; read records/track_2_medium/2025-10-02_Renamed10/010_uuid.txt" in medium[10]["reason"]
    assert medium[10]["measured_time_s"] == measured_ms(10, medium=True) / 1000
    assert medium[17]["code_source"] == "train_gpt_medium.py"
    assert get_task("nanogpt-medium/17").start_code() == fake_code(17, medium=True)


def test_tasks_command_lists_the_imported_track(checkout, capsys):
    main(["import", "nanogpt", str(checkout)])
    capsys.readouterr()
    assert main(["tasks", "--track", "nanogpt", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == LAST_124M - 1 and {t["launcher"] for t in listed} == {"torchrun"}


def test_reimport_replaces_the_previous_catalog(checkout, hints):
    main(["import", "nanogpt", str(checkout), "--hints", str(hints)])
    assert get_task("nanogpt/4").hint_levels == ["pseudo", "text", "paper"]
    main(["import", "nanogpt", str(checkout)])
    assert get_task("nanogpt/4").hint_levels == [] and not get_task("nanogpt/1").available


def test_a_folder_without_a_record_table_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "README.md").write_text("# Some other project\n")
    assert main(["import", "nanogpt", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no record table" in err
    assert main(["import", "nanogpt", str(tmp_path / "nope")]) == 2
    assert "no README.md" in capsys.readouterr().err


def test_a_bad_hints_path_is_a_one_line_error(checkout, tmp_path, capsys):
    assert main(["import", "nanogpt", str(checkout), "--hints", str(tmp_path)]) == 2
    assert "record_N folders" in capsys.readouterr().err


def test_readme_parsing_reads_both_tracks_retimings_pr_cells_and_every_time_format(checkout):
    rows = parse_readme((checkout / "README.md").read_text())
    short = [r for r in rows if r.track == "nanogpt"]
    medium = [r for r in rows if r.track == "nanogpt-medium"]
    assert len(rows) > 80 and [r.number for r in short if not r.retiming] == list(range(1, LAST_124M + 1))
    assert [(r.number, r.time_s) for r in short if r.retiming] == [(21, pytest.approx(m * 60)) for m in RETIMED_21]
    assert short[20].time_s == pytest.approx(2.933 * 60) and short[2].log_link is None
    assert short[0].description == "Description of record 1"
    by_number = {r.number: r for r in short if not r.retiming}
    assert by_number[40].log_link.endswith("0040aaaa-uuid.txt") and by_number[40].pr_link.endswith("/pull/40")
    assert by_number[41].pr_link.endswith("/pull/41")  # `[log](...),[PR](...)` and `[log](...), [PR](...)`
    assert by_number[86].log_link is None and by_number[86].pr_link.endswith("/pull/86")
    assert by_number[66].log_link is None and by_number[66].pr_link is None
    assert [r.number for r in medium] == list(range(1, LAST_MEDIUM + 1))
    assert medium[0].time_s == 5.8 * 3600 and medium[5].time_s == pytest.approx(MEDIUM_MINUTES[6] * 60)


def test_split_record_log_finds_code_and_log_in_both_layouts():
    for leading in (False, True):
        code, log = split_record_log(record_txt("x = 1\n", 5000, leading_sep=leading))
        assert code == "x = 1\n" and log.startswith("step:0/100 val_loss:10.8258")
    assert split_record_log("no separators at all\n") == (None, "no separators at all\n")
    assert split_record_log(f"{SEP}\nonly one separator\n")[0] is None


def test_task_env_of_a_nanogpt_task_asks_for_the_data_first(checkout):
    main(["import", "nanogpt", str(checkout)])
    with pytest.raises(UserError, match="speedrun-tui data fineweb"):
        task_env(get_task("nanogpt/4"))
