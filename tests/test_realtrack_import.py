"""`import nanogpt`: a fake modded-nanogpt checkout and llm-speedrunner hints tree in the real layouts."""

import json

import pytest

from records.catalog import get_task, list_tasks, task_env
from records.nanogpt import parse_readme, split_record_log
from records.nanogpt_catalog import PAPER_TIMES_S, TASK_RECORDS, load_catalog
from speedrun_tui.cli import main
from speedrun_tui.errors import UserError
from realtrack_helpers import (SEP, fake_code, make_hints_tree, make_modded_nanogpt, measured_ms,
                                     record_txt)


@pytest.fixture
def checkout(tmp_path):
    return make_modded_nanogpt(tmp_path / "modded-nanogpt")


@pytest.fixture
def hints(tmp_path):
    return make_hints_tree(tmp_path / "llm-speedrunner")


def test_import_gives_the_19_tasks_with_code_paper_times_and_hints(checkout, hints, capsys):
    assert main(["import", "nanogpt", str(checkout), "--hints", str(hints)]) == 0
    assert "19 of 19 tasks available" in capsys.readouterr().out
    tasks = list_tasks("nanogpt")
    assert [t.id for t in tasks] == [f"nanogpt/{k}" for k in (1, 2, 3, 4, 5, *range(7, 21))]
    four = get_task("nanogpt/4")
    assert four.start_code() == fake_code(4)  # the file opens with a separator: code between the first two
    assert get_task("nanogpt/5").start_code() == fake_code(5)  # code first, then the separator
    assert (four.start_time_s, four.target_time_s, four.target_loss) == (1301.7, 949.5, 3.28)
    assert get_task("nanogpt/7").start_time_s == PAPER_TIMES_S[7]
    assert [h.text for h in four.hints("all")] == ["L1 pseudocode hint for record 4",
                                                   "L2 description hint for record 4", "L3 paper hint for record 4"]
    assert four.reference_diff().endswith("+# change of record 4\n")
    assert four.launcher == "torchrun" and "record 4 -> 5: Description of record 5" in four.title


def test_records_1_to_3_take_llm_speedrunner_templates_when_given(checkout, hints):
    main(["import", "nanogpt", str(checkout), "--hints", str(hints)])
    assert get_task("nanogpt/1").start_code() == "# template of record 1\n"
    catalog = load_catalog()
    by_number = {r["number"]: r for r in catalog["records"]}
    assert by_number[3]["code_source"] == "template"
    assert "README links no log" in by_number[3]["reason"]


def test_without_hints_records_1_to_3_are_unavailable_with_their_reasons(checkout, capsys):
    assert main(["import", "nanogpt", str(checkout)]) == 0
    out = capsys.readouterr().out
    assert "16 of 19 tasks available" in out
    one, two, three = (get_task(f"nanogpt/{k}") for k in (1, 2, 3))
    assert not one.available and "main.log holds no code" in one.unavailable_reason
    assert not two.available and ".log holds no code" in two.unavailable_reason
    assert not three.available and "links no log" in three.unavailable_reason
    assert get_task("nanogpt/4").hint_levels == []


def test_odd_records_get_a_reason_each_not_a_crash(tmp_path):
    checkout = make_modded_nanogpt(tmp_path / "odd", odd=True)
    assert main(["import", "nanogpt", str(checkout)]) == 0
    records = {r["number"]: r for r in load_catalog()["records"]}
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


def test_a_folder_link_picks_the_log_that_holds_code(checkout):
    main(["import", "nanogpt", str(checkout)])
    assert get_task("nanogpt/14").start_code() == fake_code(14)
    record = next(r for r in load_catalog()["records"] if r["number"] == 14)
    assert record["log_file"].endswith("1111-record.txt") and record["measured_time_s"] == measured_ms(14) / 1000


def test_tasks_command_lists_the_imported_track(checkout, capsys):
    main(["import", "nanogpt", str(checkout)])
    capsys.readouterr()
    assert main(["tasks", "--track", "nanogpt", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == len(TASK_RECORDS) and {t["launcher"] for t in listed} == {"torchrun"}


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


def test_readme_table_parsing_keeps_the_first_row_per_record_and_the_first_table(checkout):
    rows = parse_readme((checkout / "README.md").read_text())
    assert [r.number for r in rows] == list(range(1, 22))
    assert rows[20].time_s == pytest.approx(2.933 * 60) and rows[2].log_link is None
    assert rows[0].description == "Description of record 1"


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
