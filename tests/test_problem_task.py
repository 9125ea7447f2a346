"""A user's own problem as a task (``--task module:Class``, issue 20 item 4): checked before
any study exists, run on Ray workers that import it, resumed after kill -9, compared and
reported with its primary outcome made the problem's way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from harness.errors import HarnessError
from harness.search.config import StudyConfig
from harness.search.study import run_study

TESTS = Path(__file__).parent


def _harness(folder: Path, *argv: str, env: dict[str, str] | None = None, **how):
    environment = {**os.environ, "PYTHONPATH": str(TESTS), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "harness", *argv],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
        **how,
    )


def _config(tmp_path: Path, task: str, **changes) -> StudyConfig:
    base = {
        "name": "p",
        "sampler": "tpe",
        "trials": 8,
        "task": task,
        "storage": f"sqlite:///{tmp_path / 'p.db'}",
        "executor": "local",
        "show_progress": False,
    }
    return StudyConfig(**{**base, **changes})


def test_an_optunahub_problem_runs_as_a_study_in_its_direction(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    study = run_study(_config(tmp_path, "problems:NoisyBowl"))
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 8 and study.direction.name == "MINIMIZE"
    attrs = study.user_attrs
    assert attrs["task"] == "noisybowl" and attrs["task_kind"] == "problem"
    assert attrs["objective"] == "value" and attrs["primary_source"] == "seeds"
    assert set(json.loads(attrs["space"])) == {"x", "k", "shape"}
    # the problem saw the trial's training seed: the same trial gives the same value again
    from problems import NoisyBowl

    trial = complete[3]
    assert trial.value == NoisyBowl().evaluate(trial.params, seed=trial.user_attrs["train_seed"])


def test_a_seeded_study_of_a_problem_is_reproducible(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    first = run_study(_config(tmp_path, "problems:NoisyBowl", name="a"))
    second = run_study(_config(tmp_path, "problems:NoisyBowl", name="b"))
    assert [(t.params, t.value) for t in first.trials] == [
        (t.params, t.value) for t in second.trials
    ]


def test_a_duck_typed_problem_without_seed_is_maximised(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    study = run_study(_config(tmp_path, "problems:Ridge", sampler="random"))
    assert study.direction.name == "MAXIMIZE"
    assert study.user_attrs["primary_source"] == "trial"
    assert all(t.value <= 0 for t in study.trials)


def test_a_problem_that_raises_fails_those_trials_alone(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    study = run_study(_config(tmp_path, "problems:Raises", sampler="random", trials=6))
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert failed and all(
        "out of this problem's domain" in t.user_attrs["fail_reason"] for t in failed
    )
    assert len([t for t in study.trials if t.state == TrialState.COMPLETE]) == 6


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--task", "nosuchmodule:Thing"), "module 'nosuchmodule' cannot be imported here"),
        (("--task", "problems:Missing"), "module 'problems' has no class 'Missing'"),
        (("--task", "problems:TwoObjectives"), "one objective is supported, but directions has 2"),
        (("--task", "problems:NotASpace"), "search_space['x'] must be an Optuna distribution"),
        (("--task", "problems:NoisyBowl", "--pruner", "median"), "nothing can be pruned"),
        (("--task", "problems:NoisyBowl", "--objective", "val_auroc"), "must be one of ['value']"),
        (("--task", "problems:NoisyBowl", "--space", "x.toml"), "leave --space out"),
        (("--task", "not a ref:X"), "a problem task is module:Class"),
    ],
)
def test_a_bad_problem_is_refused_in_one_line_before_any_study(tmp_path, argv, message):
    done = _harness(
        tmp_path,
        *("study", "--name", "p", "--sampler", "random", "--trials", "3", "--executor", "local"),
        *("--storage", "sqlite:///p.db", *argv),
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    if "cannot be imported" in message:
        assert "PYTHONPATH" in lines[0]
    assert not (tmp_path / "p.db").exists() or not optuna.get_all_study_names(
        f"sqlite:///{tmp_path / 'p.db'}"
    )


@pytest.mark.slow
def test_workers_that_cannot_import_the_module_stop_the_study_in_one_line(tmp_path, monkeypatch):
    """The driver imports the module (its folder on sys.path), Ray's workers cannot (not on
    their PYTHONPATH): the study stops with the worker's line naming module and PYTHONPATH."""
    folder = tmp_path / "only_here"
    folder.mkdir()
    (folder / "driver_only.py").write_text((TESTS / "problems.py").read_text())
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    config = _config(tmp_path, "driver_only:NoisyBowl", executor="ray", cpu_workers=1)
    with pytest.raises(HarnessError) as raised:
        run_study(config)
    line = str(raised.value)
    assert "module 'driver_only' cannot be imported here" in line and "PYTHONPATH" in line
    assert "\n" not in line


@pytest.mark.slow
def test_a_problem_study_on_ray_is_resumed_after_kill_9_with_nothing_lost(tmp_path):
    storage = f"sqlite:///{tmp_path / 'p.db'}"
    argv = [sys.executable, "-m", "harness", "study", "--name", "s", "--sampler", "random"]
    argv += ["--trials", "12", "--task", "problems:NoisyBowl", "--storage", storage]
    argv += ["--cpu-workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(TESTS), "PROBLEM_DELAY": "0.5"}
    process = subprocess.Popen(
        argv, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            try:
                trials = optuna.load_study(study_name="s", storage=storage).get_trials()
            except KeyError:
                trials = []
            states = [t.state for t in trials]
            if states.count(TrialState.COMPLETE) >= 3 and TrialState.RUNNING in states:
                break
            time.sleep(0.2)
        process.kill()  # kill -9 the driver
        process.wait()
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # and Ray's processes of its session
    before = optuna.load_study(study_name="s", storage=storage).get_trials()
    kept = {t.number: (t.params, t.value) for t in before if t.state == TrialState.COMPLETE}
    stale = [t.number for t in before if t.state == TrialState.RUNNING]
    assert stale
    resumed = _harness(
        tmp_path,
        *("study", "--name", "s", "--sampler", "random", "--trials", "12"),
        *("--task", "problems:NoisyBowl", "--storage", storage, "--cpu-workers", "2"),
    )
    assert resumed.returncode == 0, resumed.stderr
    after = optuna.load_study(study_name="s", storage=storage).get_trials()
    assert sum(t.state == TrialState.COMPLETE for t in after) == 12
    for number, (params, value) in kept.items():
        assert (after[number].params, after[number].value) == (params, value)
    for number in stale:
        assert after[number].user_attrs["fail_reason"].startswith("stale")
        assert [t.params for t in after if t.user_attrs.get("retry_of") == number] == [
            after[number].params
        ]


@pytest.mark.slow
def test_compare_of_a_problem_on_ray_reports_its_primary_outcome(tmp_path):
    """`harness compare --task module:Class` on Ray: the chosen parameters re-evaluated with K
    fresh seeds (the retrain records), the report says so and has no test-split paragraph; a
    problem without a seed keeps its chosen trial's value; both in one multi-task compare."""
    done = _harness(
        tmp_path,
        *("compare", "--name", "c", "--samplers", "tpe", "random", "--repeats", "2"),
        *("--trials", "12", "--retrain-seeds", "3", "--storage", "sqlite:///c.db"),
        *("--tasks", "problems:NoisyBowl", "problems:Ridge", "--cpu-workers", "2"),
    )
    assert done.returncode == 0, done.stderr
    records = json.loads((tmp_path / "runs/c/retrain.json").read_text())["records"]
    by_task = {r["task"]: r for r in records}
    bowl, ridge = by_task["noisybowl"], by_task["ridge"]
    assert bowl["primary_source"] == "seeds" and bowl["primary_sign"] == -1.0
    assert [r["seed"] for r in bowl["results"]] == [10_000_000, 10_000_001, 10_000_002]
    assert len({r["test_value"] for r in bowl["results"]}) == 3  # three fresh noise draws
    assert ridge["primary_source"] == "trial" and ridge["primary_sign"] == 1.0
    assert [r["test_value"] for r in ridge["results"]] == [ridge["value"]]
    assert not (tmp_path / "runs/c/bench.json").exists()  # the lab's models are Adult's
    report = _harness(tmp_path, "report", "--name", "c", "--storage", "sqlite:///c.db")
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "reports/c.md").read_text()
    assert "re-evaluated with 3 seeds" in text
    assert "the chosen trial's own value" in text
    assert "Conditional on the fixed test split" not in text
