"""Per-CPU calibrations: the fingerprint, which calibration a task takes, and `calibrate micro` itself."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from records.calibrate import Progress, calibrate, select_rungs, sitting_boundaries
from records.calibration import all_calibrations, choose, file_name, load_calibration, user_dir
from records.catalog import calibration_note, list_tasks
from records.fingerprint import this_cpu
from records.ladder import RUNGS
from records.microdata import build_micro
from speedrun_tui.cli import main
from speedrun_tui.errors import UserError
from tests.records_helpers import write_calibration, write_corpus


def quiet(_line: str) -> None:
    pass


def ladder(path, fingerprint, times: list[float]):
    """A made-up calibration of the first len(times) rungs."""
    return write_calibration(path, fingerprint, dict(enumerate(times, start=1)))


def test_this_cpu_names_the_instructions_torch_uses_and_honours_the_avx2_override(monkeypatch):
    import torch

    here = this_cpu(1)
    assert here.capability == torch.backends.cpu.get_cpu_capability() and here.threads == 1
    assert here.torch == torch.__version__.split("+")[0] and here.model
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    assert this_cpu(1).capability == "DEFAULT"  # asked again: the override is part of the cache key


def test_a_calibration_of_this_cpu_wins_and_another_cpus_is_provisional(monkeypatch):
    # A CPU no shipped calibration was made on, so that the outcome is the same on every machine.
    here = replace(this_cpu(1), model="Test CPU", capability="TESTISA")
    monkeypatch.setattr("records.fingerprint.this_cpu", lambda threads: replace(here, threads=threads))
    other = replace(here, capability="SVE256", model="Some ARM core")
    ladder(user_dir() / "other.json", other, [90.0, 60.0, 40.0])
    ladder(user_dir() / "mine.json", here, [100.0, 70.0])
    tasks = {t.id: t for t in list_tasks("micro")}
    assert (tasks["micro/1"].calibration, tasks["micro/1"].provisional) == ("mine", False)
    assert (tasks["micro/1"].start_time_s, tasks["micro/1"].target_time_s) == (100.0, 70.0)
    # micro/2 needs rung 3, which only another CPU's calibration (or a shipped one) holds.
    assert tasks["micro/2"].provisional and tasks["micro/2"].calibration != "mine"
    note = calibration_note(list(tasks.values()))
    assert "micro/2" in note and "micro/1," not in note and "speedrun-tui calibrate micro" in note
    assert "\n" not in note


def test_the_nearest_calibration_shares_the_instruction_set_first(tmp_path):
    here = this_cpu(1)
    same_isa = ladder(tmp_path / "same.json", replace(here, model="Another model"), [100.0, 50.0])
    other_isa = ladder(tmp_path / "other.json", replace(here, capability="NOT-" + here.capability), [100.0, 50.0])
    choice = choose((RUNGS[0].slug, RUNGS[1].slug), here, [other_isa, same_isa])
    assert choice.calibration is same_isa and not choice.exact
    assert choose((RUNGS[0].slug, RUNGS[8].slug), here, [same_isa]) is None


def test_a_transition_not_significant_here_makes_its_task_unavailable_with_the_reason():
    ladder(user_dir() / file_name(this_cpu(1)), this_cpu(1), [100.0, 99.5, 50.0])
    tasks = {t.id: t for t in list_tasks("micro")}
    assert not tasks["micro/1"].available
    assert "rung 2 is not significantly faster than rung 1 on this CPU" in tasks["micro/1"].unavailable_reason
    assert tasks["micro/2"].available and not tasks["micro/2"].provisional


def test_a_damaged_calibration_is_a_one_line_error_naming_the_file():
    user_dir().mkdir(parents=True)
    (user_dir() / "broken.json").write_text("{not json")
    with pytest.raises(UserError, match="broken.json: damaged calibration file") as err:
        all_calibrations()
    assert "\n" not in str(err.value)


def test_calibrate_writes_this_cpus_file_with_its_fingerprint_and_prints_the_ladder(tmp_path, monkeypatch, capsys):
    build_micro([write_corpus(tmp_path)], log=quiet)
    monkeypatch.setenv("SPEEDRUN_MAX_STEPS", "4")  # reaches the generous target below in a few steps
    assert main(["calibrate", "micro", "--rungs", "8", "9", "--seeds", "1", "--jobs", "2",
                 "--target-loss", "5.0"]) == 0
    out = user_dir() / file_name(this_cpu(1))
    calibration = load_calibration(out)
    assert calibration.fingerprint.same_kind(this_cpu(1)) and calibration.fingerprint.threads == 1
    assert [r.id for r in calibration.rungs] == [RUNGS[7].slug, RUNGS[8].slug] and not calibration.pending
    assert all(len(r.times_s) == 1 and r.mean_s > 0 for r in calibration.rungs)
    assert calibration.target_loss == 5.0 and calibration.seeds == 1
    printed = capsys.readouterr()
    assert str(out) in printed.out and "vs previous" in printed.out
    assert "two sittings" not in printed.out  # rungs 8 and 9 were timed together
    assert f"rung 9 {RUNGS[8].slug} seed 0:" in printed.err  # one progress line per finished run


def test_a_step_between_rungs_timed_in_two_sittings_is_named(tmp_path):
    calibration = write_calibration(tmp_path / "cal.json", this_cpu(1), {k: 300.0 - 10 * k for k in range(4, 10)})
    pairs = sitting_boundaries(select_rungs([6, 7]), calibration)
    assert [(a.number, b.number) for a, b in pairs] == [(5, 6), (7, 8)]
    assert sitting_boundaries(select_rungs([4, 5, 6, 7, 8, 9]), calibration) == []
    assert [(a.number, b.number) for a, b in sitting_boundaries(select_rungs([1, 2]), calibration)] == []


class StopAfterFirstRun(Progress):
    """Records what a calibration was asked to run, and interrupts it after its first finished run."""

    def __init__(self, cancel: threading.Event | None = None):
        self.cancel, self.jobs, self.finished, self.steps = cancel, [], [], 0

    def start(self, jobs, fingerprint, out):
        self.jobs = [(j.rung.number, j.seed) for j in jobs]

    def step(self, job, step, total, val_loss):
        self.steps += 1

    def done(self, job, run, error=""):
        self.finished.append((job.rung.number, job.seed))
        if self.cancel is not None:
            self.cancel.set()


def test_an_interrupted_calibration_keeps_its_runs_and_resumes_with_only_the_rest(tmp_path, monkeypatch):
    build_micro([write_corpus(tmp_path)], log=quiet)
    monkeypatch.setenv("SPEEDRUN_MAX_STEPS", "4")
    out = tmp_path / "cal.json"
    cancel = threading.Event()
    first = StopAfterFirstRun(cancel)
    with pytest.raises(UserError, match="interrupted: the finished runs are kept in .*cal.json"):
        calibrate(select_rungs([9]), seeds=2, threads=1, target_loss=5.0, jobs=1, out=out,
                  progress=first, cancel=cancel)
    assert first.jobs == [(9, 0), (9, 1)] and first.finished == [(9, 0)] and first.steps > 0
    kept = load_calibration(out)
    assert [(r.rung, r.seed) for r in kept.pending] == [(RUNGS[8].slug, 0)] and not kept.rungs
    out.write_text(json.dumps({**json.loads(out.read_text()), "note": "seed 0 ran on a busy machine"}))

    second = StopAfterFirstRun()
    done = calibrate(select_rungs([9]), seeds=2, threads=1, target_loss=5.0, out=out, progress=second)
    assert second.jobs == [(9, 1)]  # the kept run is not run again
    assert load_calibration(out).note == "seed 0 ran on a busy machine"  # a resume keeps the provenance
    assert [r.id for r in done.rungs] == [RUNGS[8].slug] and not done.pending
    assert done.rungs[0].times_s[0] == round(kept.pending[0].time_s, 3)

    third = StopAfterFirstRun()
    calibrate(select_rungs([9]), seeds=2, threads=1, target_loss=5.0, out=out, progress=third)
    assert third.jobs == []  # nothing missing
    more = calibrate(select_rungs([9]), seeds=3, threads=1, target_loss=5.0, out=out, progress=third)
    assert third.jobs == [(9, 2)]  # more seeds: only the new one runs, and joins the entry
    assert more.rungs[0].times_s[:2] == done.rungs[0].times_s and len(more.rungs[0].times_s) == 3
    calibrate(select_rungs([9]), seeds=2, threads=1, target_loss=5.0, out=out, redo=True, progress=third)
    assert third.jobs == [(9, 0), (9, 1)]
