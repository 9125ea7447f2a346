"""Issue 12, item 3: a trial's fault is classified in one place (``outcomes.classify``). A
trial that raises is FAIL with the exception's own line and not retried, in this process
and on Ray; a trial that hangs is stopped by ``--trial-timeout`` (on Ray its worker is killed
and replaced). The study goes on, leaves nothing RUNNING, and every trial that completed is
the one a fault-free study completes."""

from __future__ import annotations

import sys
import time

import optuna
import pytest
from optuna.trial import TrialState
from study_spaces import TINY, write_space

import harness.search.ray_pool as ray_pool
import harness.search.task as task
from harness.search.jobs import Outcome, TrialJob
from harness.search.outcomes import classify, task_error_line
from harness.search.ray_pool import RayPool
from harness.search.ray_setup import start_local_ray
from harness.search.runner import TrialRunner
from harness.search.spaces import load_space
from harness.search.study import StudyConfig, run_study

FAULTY = 1  # the trial number (and, with seed 0, the training seed) that raises or hangs
TRIALS = 3  # finished trials asked for: trials 0, 2 and 3 complete around the faulty one


def config(tmp_path, name: str, **overrides) -> StudyConfig:
    folder = tmp_path / name
    folder.mkdir()
    values = {
        "name": "s",
        "sampler": "random",
        "trials": TRIALS,
        "space_path": write_space(folder, TINY),
        "storage": f"sqlite:///{folder / 'studies.db'}",
        "show_progress": False,
        "executor": "local",
    }
    return StudyConfig(**(values | overrides))


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[int, tuple[dict, float]]:
    """(params, value) of each trial of the same study without a fault, one trial longer."""
    cfg = config(tmp_path_factory.mktemp("clean"), "clean", trials=TRIALS + 1)
    return {t.number: (t.params, t.value) for t in run_study(cfg).trials}


def check_faulty_study(study: optuna.Study, clean, reason: str) -> None:
    trials = study.get_trials()
    faulty = trials[FAULTY]
    assert faulty.state == TrialState.FAIL
    assert faulty.user_attrs["fail_reason"] == reason
    assert not [t for t in trials if "retry_of" in t.user_attrs], "not retried"
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert [t.number for t in complete] == [0, 2, 3], "the study went on"
    for trial in complete:  # the trials around the fault are the fault-free study's
        params, value = clean[trial.number]
        assert trial.params == params
        assert trial.value == pytest.approx(value, abs=1e-6)


def test_a_trial_that_raises_in_process_fails_with_its_own_line(tmp_path, monkeypatch, clean):
    run_trial = task.run_trial

    def raising(params, splits, *, seed, **kwargs):
        if seed == FAULTY:
            raise ValueError("bad shape\n  a second line the reason leaves out")
        return run_trial(params, splits, seed=seed, **kwargs)

    monkeypatch.setattr(task, "run_trial", raising)
    study = run_study(config(tmp_path, "raises"))
    check_faulty_study(study, clean, "ValueError: bad shape")


def test_a_local_timeout_stops_the_trial_at_an_epoch_end(tmp_path, monkeypatch, clean):
    run_trial = task.run_trial

    def slow(params, splits, *, seed, on_epoch, **kwargs):
        def late(epoch, record):
            if seed == FAULTY and epoch == 1:
                time.sleep(6)  # the faulty trial's first epoch lasts past the timeout
            on_epoch(epoch, record)

        return run_trial(params, splits, seed=seed, on_epoch=late, **kwargs)

    monkeypatch.setattr(task, "run_trial", slow)
    study = run_study(config(tmp_path, "slow", trial_timeout=5.0))
    check_faulty_study(study, clean, "timeout after 5 s")
    assert study.trials[FAULTY].user_attrs.get("epochs") is None


def test_classify_maps_each_outcome_once():
    job = TrialJob(0, {}, 0, "val_auroc")
    cases = [
        (Outcome(job, "w", record={"status": "ok"}), ("complete", None, False)),
        (Outcome(job, "w", record={"status": "pruned"}), ("pruned", None, False)),
        (Outcome(job, "w", record={"status": "diverged"}), ("fail", "diverged", False)),
        (
            Outcome(job, "w", error="ValueError: bad shape"),
            ("fail", "ValueError: bad shape", False),
        ),
        (Outcome(job, "w", lost="the actor died"), ("fail", "worker lost: the actor died", True)),
        (Outcome(job, "w", timed_out=3.0), ("fail", "timeout after 3 s", False)),
    ]
    for outcome, (state, reason, retry) in cases:
        verdict = classify(outcome)
        assert (verdict.state, verdict.reason, verdict.retry) == (state, reason, retry)


def test_a_ray_task_error_without_its_cause_reads_as_the_exception():
    class Wrapped(Exception):
        cause = None

    text = (
        "\x1b[36mray::TrialRunner.run()\x1b[39m (pid=1, ip=1)\nTraceback (most recent "
        'call last):\n  File "x.py", line 1\nValueError: bad shape\n'
    )
    assert task_error_line(Wrapped(text)) == "ValueError: bad shape"


# ---------------------------------------------------------------- on Ray


class RaisingRunner(TrialRunner):
    def run(self, job, hook=None, timeout=None):
        if job.number == FAULTY:
            raise ValueError("bad shape")
        return super().run(job, hook, timeout)


class HangingRunner(TrialRunner):
    def run(self, job, hook=None, timeout=None):
        if job.number == FAULTY:
            time.sleep(60)
        return super().run(job, hook, timeout)


@pytest.fixture(scope="module")
def ray_session():
    import ray
    import ray.cloudpickle

    # the runners above are defined here, a module Ray's workers cannot import: send them
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    start_local_ray(num_cpus=2)
    yield
    ray.shutdown()


def ray_study(tmp_path, name: str, runner: type, monkeypatch, trial_timeout=None):
    monkeypatch.setattr(ray_pool, "TrialRunner", runner)
    cfg = config(tmp_path, name, executor="ray", cpu_workers=1, trial_timeout=trial_timeout)
    space = load_space(cfg.space_path)
    pool = RayPool(space.text, space.source, 1, 0, trial_timeout=trial_timeout)
    try:
        first = pool.worker_pid("cpu-0")
        study = run_study(cfg, pool=pool)
        last = pool.worker_pid("cpu-0")
    finally:
        pool.close()
    return study, first, last


@pytest.mark.slow
def test_a_trial_that_raises_on_ray_fails_with_its_own_line(
    tmp_path, monkeypatch, clean, ray_session
):
    study, first, last = ray_study(tmp_path, "ray-raises", RaisingRunner, monkeypatch)
    check_faulty_study(study, clean, "ValueError: bad shape")
    assert first == last, "the worker lives on"


@pytest.mark.slow
def test_a_hung_trial_on_ray_times_out_and_its_worker_is_replaced(
    tmp_path, monkeypatch, clean, ray_session
):
    started = time.monotonic()
    study, first, last = ray_study(
        tmp_path, "ray-hangs", HangingRunner, monkeypatch, trial_timeout=3
    )
    assert time.monotonic() - started < 50, "the hung trial did not hold the study"
    check_faulty_study(study, clean, "timeout after 3 s")
    assert first != last, "a replacement worker trained the trials after the timeout"


def test_too_many_failures_stop_the_study_in_one_line_with_nothing_running(
    tmp_path, monkeypatch, clean
):
    """Every trial after the first raises: once more trials failed than were asked for, the
    study stops with one HarnessError line, and no trial is left RUNNING; the trial that
    completed before is the fault-free study's."""
    from harness.errors import HarnessError

    run_trial = task.run_trial

    def raising(params, splits, *, seed, **kwargs):
        if seed >= FAULTY:
            raise ValueError("broken")
        return run_trial(params, splits, seed=seed, **kwargs)

    monkeypatch.setattr(task, "run_trial", raising)
    cfg = config(tmp_path, "many")
    with pytest.raises(HarnessError, match=r"4 trials of s failed in this session \(more than"):
        run_study(cfg)
    trials = optuna.load_study(study_name="s", storage=cfg.storage).get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert [t.number for t in trials if t.state == TrialState.COMPLETE] == [0]
    assert trials[0].params == clean[0][0]
    assert trials[0].value == pytest.approx(clean[0][1], abs=1e-6)
    assert {t.user_attrs["fail_reason"] for t in trials[1:]} == {"ValueError: broken"}
