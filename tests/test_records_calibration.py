"""Per-CPU calibrations: the fingerprint, which calibration a task takes, and `calibrate micro` itself."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from records.calibrate import CostPlan, LadderRow, Progress, calibrate, select_rungs
from records.calibrate_view import more_rounds_hint
from records.calibration import (RunTime, all_calibrations, choose, file_name, load_calibration, rung_times,
                                 significant, user_dir)
from records.catalog import calibration_note, list_tasks
from records.fingerprint import this_cpu
from records.ladder import RUNGS
from records.microdata import build_micro
from speedrun_tui.cli import main
from speedrun_tui.errors import UserError
from tests.records_helpers import write_calibration, write_corpus


def quiet(_line: str) -> None:
    pass


def small_micro_data(folder) -> None:
    """Shards from a 128 KiB corpus whose last 1/32 (4,097 bytes) leaves 2,049 validation bytes: 8
    windows of 256 and the last target. The rungs validate on what the shard holds, so a validation
    pass of these calibration runs costs an eighth of a real one."""
    build_micro([write_corpus(folder, n_bytes=32 * 4097)], log=quiet)


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
    small_micro_data(tmp_path)
    monkeypatch.setenv("SPEEDRUN_MAX_STEPS", "4")  # reaches the generous target below in a few steps
    assert main(["calibrate", "micro", "--rungs", "8", "9", "--seeds", "1", "--jobs", "2",
                 "--target-loss", "5.0", "--cost-rounds", "1", "--cost-steps", "3"]) == 0
    out = user_dir() / file_name(this_cpu(1))
    calibration = load_calibration(out)
    assert calibration.fingerprint.same_kind(this_cpu(1)) and calibration.fingerprint.threads == 1
    assert [r.id for r in calibration.rungs] == [RUNGS[7].slug, RUNGS[8].slug] and not calibration.pending
    for rung in calibration.rungs:  # time to target: the seed's steps times the step cost of the sitting
        assert len(rung.step_ms) == 1 and rung.step_ms[0] > 0 and len(rung.run_times_s) == 1
        assert rung.times_s == [round(rung.steps[0] * rung.step_ms[0] / 1000, 3)] == [rung.mean_s]
    assert calibration.target_loss == 5.0 and calibration.seeds == 1
    printed = capsys.readouterr()
    assert str(out) in printed.out and "vs previous" in printed.out and "step (ms)" in printed.out
    assert f"rung 9 seed 0 ({RUNGS[8].slug}):" in printed.err  # one progress line per finished run
    assert f"rung 9 step cost, round 1 ({RUNGS[8].slug}): " in printed.err and "ms a step (3 steps)" in printed.err


def test_a_rungs_time_is_its_seeds_steps_times_its_step_cost_and_significance_weighs_both():
    def entry(steps: list[int], step_ms: list[float]):
        return rung_times(RUNGS[0].slug, 1, [RunTime(RUNGS[0].slug, s, 99.0, n, 99.0) for s, n in enumerate(steps)],
                          step_ms)

    slower = entry([200, 190, 200], [1000.0, 1010.0, 990.0])
    assert slower.times_s == [200.0, 190.0, 200.0] and slower.run_times_s == [99.0] * 3
    assert significant(entry([170, 170, 180], [1000.0, 1010.0, 990.0]), slower)  # 13 % fewer steps
    assert not significant(entry([170, 170, 180], [800.0, 1000.0, 1200.0]), slower)  # the step costs too noisy
    assert not significant(entry([150, 230, 170], [1000.0, 1010.0, 990.0]), slower)  # the seeds' steps too
    # Rounds timed in one sitting pair up: a round the whole machine ran slow slows both rungs alike.
    drifting = entry([200, 190, 200], [800.0, 1000.0, 1200.0])
    assert significant(entry([170, 170, 180], [800.0, 1000.0, 1200.0]), drifting)
    assert not significant(entry([170, 170, 180], [1200.0, 1000.0, 800.0]), drifting)  # against the drift
    assert not significant(entry([170, 170, 180], [800.0, 1000.0]), drifting)  # rounds that do not pair


def test_a_step_left_not_significant_by_noisy_costs_gets_the_command_that_adds_rounds():
    def row(number, steps, step_ms, significant):
        times = rung_times(RUNGS[number - 1].slug, number, [RunTime(RUNGS[number - 1].slug, s, 99.0, n, 99.0)
                                                            for s, n in enumerate(steps)], step_ms)
        return LadderRow(RUNGS[number - 1], times, None, None, significant)

    first = row(1, [200, 190, 200], [1000.0, 1010.0, 990.0], None)
    noisy = row(2, [170, 170, 180], [800.0, 1000.0, 1200.0], False)
    hint = more_rounds_hint([first, noisy])
    assert "1 -> 2" in hint and "--cost-rounds 6" in hint
    assert more_rounds_hint([first, replace(noisy, significant=True)]) is None
    whole_runs = row(2, [170, 170, 180], [], False)  # an entry timed run by run: more cost rounds cannot help
    assert more_rounds_hint([first, whole_runs]) is None


class StopAfterFirstRun(Progress):
    """Records what a calibration was asked to run, and interrupts it after the first finished run
    of the phase it is told (runs to the target, or the short runs that time a step)."""

    def __init__(self, cancel: threading.Event | None = None, in_cost_phase: bool = False):
        self.cancel, self.in_cost_phase = cancel, in_cost_phase
        self.jobs, self.cost_jobs, self.finished, self.steps = [], [], [], 0

    def start(self, jobs, fingerprint, out):
        self.jobs += [(j.rung.number, j.seed) for j in jobs if j.cost_round is None]
        self.cost_jobs += [(j.rung.number, j.cost_round) for j in jobs if j.cost_round is not None]

    def step(self, job, step, total, val_loss):
        self.steps += 1

    def done(self, job, run, error=""):
        self.finished.append((job.rung.number, job.seed))
        if self.cancel is not None and (job.cost_round is not None) == self.in_cost_phase:
            self.cancel.set()


FEW = CostPlan(rounds=1, steps=2)
TWO_ROUNDS = CostPlan(rounds=2, steps=2)


def test_an_interrupted_calibration_keeps_its_runs_and_resumes_with_only_the_rest(tmp_path, monkeypatch):
    small_micro_data(tmp_path)
    monkeypatch.setenv("SPEEDRUN_MAX_STEPS", "4")
    out = tmp_path / "cal.json"
    cancel = threading.Event()
    first = StopAfterFirstRun(cancel)
    with pytest.raises(UserError, match="interrupted: the finished runs are kept in .*cal.json"):
        calibrate(select_rungs([9]), seeds=2, threads=1, target_loss=5.0, jobs=1, out=out,
                  progress=first, cancel=cancel, costs=FEW)
    assert first.jobs == [(9, 0), (9, 1)] and first.finished == [(9, 0)] and first.steps > 0
    kept = load_calibration(out)
    assert [(r.rung, r.seed) for r in kept.pending] == [(RUNGS[8].slug, 0)] and not kept.rungs
    out.write_text(json.dumps({**json.loads(out.read_text()), "note": "seed 0 ran on a busy machine"}))

    cancel = threading.Event()  # this time stopped in the second phase, after its first round
    second = StopAfterFirstRun(cancel, in_cost_phase=True)
    with pytest.raises(UserError, match="interrupted"):
        calibrate(select_rungs([9]), seeds=2, threads=1, target_loss=5.0, out=out, progress=second, cancel=cancel,
                  costs=TWO_ROUNDS)
    assert second.jobs == [(9, 1)] and second.cost_jobs == [(9, 0), (9, 1)]  # the kept run is not run again
    entry = load_calibration(out).rung(RUNGS[8].slug)
    assert entry.run_times_s[0] == round(kept.pending[0].time_s, 3) and len(entry.step_ms) == 1  # a whole round

    third = StopAfterFirstRun()
    done = calibrate(select_rungs([9]), seeds=2, threads=1, target_loss=5.0, out=out, progress=third,
                     costs=TWO_ROUNDS)
    assert third.jobs == [] and third.cost_jobs == [(9, 1)]  # only the missing round runs
    assert load_calibration(out).note == "seed 0 ran on a busy machine"  # a resume keeps the provenance
    assert [r.id for r in done.rungs] == [RUNGS[8].slug] and not done.pending
    assert done.rungs[0].step_ms[0] == entry.step_ms[0] and len(done.rungs[0].step_ms) == 2
    assert done.rungs[0].run_times_s == entry.run_times_s

    fourth = StopAfterFirstRun()
    calibrate(select_rungs([9]), seeds=2, threads=1, target_loss=5.0, out=out, progress=fourth, costs=FEW)
    assert fourth.jobs == [] and fourth.cost_jobs == []  # nothing missing: it has more rounds than asked
    more = calibrate(select_rungs([9]), seeds=3, threads=1, target_loss=5.0, out=out, progress=fourth, costs=FEW)
    assert fourth.jobs == [(9, 2)]  # more seeds: only the new one runs, and joins the entry
    assert more.rungs[0].run_times_s[:2] == done.rungs[0].run_times_s and len(more.rungs[0].times_s) == 3
    assert fourth.cost_jobs == [(9, 0)]  # a changed entry has its step cost timed again

    cancel = threading.Event()
    fifth = StopAfterFirstRun(cancel)
    with pytest.raises(UserError, match="interrupted"):
        calibrate(select_rungs([9]), seeds=2, threads=1, target_loss=5.0, out=out, redo=True, progress=fifth,
                  cancel=cancel, costs=FEW)
    assert fifth.jobs == [(9, 0), (9, 1)]  # --redo measures the rung again
