"""``--simulate-workers K`` (issue 22, item 3): a surrogate task's studies run as if K workers
trained their trials at once, on a simulated clock, told in the order the trials would have
finished; reproducible, and refused in one line where there is no runtime model."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from harness.errors import HarnessError
from harness.search.config import StudyConfig
from harness.search.driver import Driver
from harness.search.study import run_study

TESTS = Path(__file__).parent
SPACE = {
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "width": IntDistribution(8, 256, log=True),
    "batch": CategoricalDistribution([32, 64, 128]),
}


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory) -> Path:
    """A small surrogate 'toy' saved where ``--task surrogate:toy`` finds it: its value peaks
    inside the space, and a trial takes 1 to 5 simulated seconds (wider nets longer)."""
    from sklearn.ensemble import RandomForestRegressor

    from harness.surrogate.encoding import encoding_of
    from harness.surrogate.model import Noise, Scored, Surrogate
    from harness.surrogate.store import save, surrogate_dir

    sampled = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    rows = [sampled.ask(SPACE).params for _ in range(80)]
    encoding = encoding_of([SPACE])
    x = encoding.matrix(rows)
    values = [0.9 - 0.02 * (np.log10(p["lr"]) + 2.5) ** 2 for p in rows]
    seconds = [np.log(1 + p["width"] / 64) for p in rows]

    def forest(y: list[float]) -> RandomForestRegressor:
        return RandomForestRegressor(20, min_samples_leaf=2, random_state=0).fit(x, y)

    scored = Scored("random forest", 1.0, 0.0)
    surrogate = Surrogate(
        encoding,
        "val_auroc",
        "maximize",
        forest(values),
        [scored],
        forest(seconds),
        scored,
        Noise(0.001, 2, 4, "test"),
        len(rows),
    )
    root = tmp_path_factory.mktemp("runs")
    save(surrogate, surrogate_dir("toy", root), {"studies": []}, seed=0)
    return root


def _config(root: Path, workers: int | None, **changes) -> StudyConfig:
    base = {
        "name": "sim",
        "sampler": "tpe",
        "trials": 12,
        "task": "surrogate:toy",
        "storage": f"sqlite:///{root / 'sim.db'}",
        "executor": "local",
        "show_progress": False,
        "runs_root": root,
        "simulate_workers": workers,
    }
    return StudyConfig(**{**base, **changes})


def _told(monkeypatch) -> list[int]:
    """The trial numbers in the order the driver tells them."""
    told: list[int] = []
    tell = Driver.tell

    def spy(self, outcome):
        told.append(outcome.job.number)
        return tell(self, outcome)

    monkeypatch.setattr(Driver, "tell", spy)
    return told


def _times(study: optuna.Study) -> dict[int, tuple[float, float]]:
    return {t.number: (t.user_attrs["sim_start"], t.user_attrs["sim_end"]) for t in study.trials}


def test_k_workers_tell_trials_in_the_order_of_simulated_time(runs_root, monkeypatch):
    told = _told(monkeypatch)
    study = run_study(_config(runs_root, 4, name="k4"))
    times = _times(study)
    assert len(told) == 12 and study.user_attrs["simulate_workers"] == 4
    ends = [times[n][1] for n in told]
    assert ends == sorted(ends)  # told when it would have finished
    assert told != sorted(told)  # a short trial overtook a long one
    for start, end in times.values():  # each ran its surrogate's seconds
        assert 1.0 <= end - start <= 5.0
    durations = [t.user_attrs["simulated_seconds"] for t in study.trials]
    assert [end - start for start, end in times.values()] == pytest.approx(durations)
    # 4 started at 0; each later one when a worker came free (a trial ended then), and never
    # more than 4 ran at once, and 4 at the start
    starts = sorted(start for start, _ in times.values())
    assert starts[:4] == [0.0] * 4 and starts[4] > 0
    assert {start for start, _ in times.values()} <= {0.0} | {end for _, end in times.values()}
    running = [sum(s <= start < e for s, e in times.values()) for start, _ in times.values()]
    assert max(running) == 4
    assert max(ends) < sum(durations)  # in parallel: sooner than one after another


def test_one_worker_runs_each_trial_when_the_one_before_ended(runs_root, monkeypatch):
    told = _told(monkeypatch)
    study = run_study(_config(runs_root, 1, name="k1"))
    times = _times(study)
    assert told == sorted(told) == list(range(12))
    assert times[0][0] == 0.0
    for number in range(1, 12):
        assert times[number][0] == times[number - 1][1]


def _trials(study: optuna.Study) -> list[tuple]:
    return [
        (t.params, t.value, t.user_attrs["sim_start"], t.user_attrs["sim_end"])
        for t in study.trials
    ]


def test_a_seeded_simulated_study_is_reproducible(runs_root, tmp_path):
    def trials(folder: str) -> list[tuple]:
        (tmp_path / folder).mkdir()
        url = f"sqlite:///{tmp_path / folder / 'sim.db'}"
        return _trials(run_study(_config(runs_root, 3, storage=url, seed=5)))

    assert trials("a") == trials("b")


def test_a_resumed_study_keeps_its_k_and_its_clock(runs_root):
    first = run_study(_config(runs_root, 2, name="resume", trials=6))
    ended = max(end for _, end in _times(first).values())
    with pytest.raises(HarnessError, match="exists with --simulate-workers 2, but this run"):
        run_study(_config(runs_root, 3, name="resume", trials=8))
    more = run_study(_config(runs_root, 2, name="resume", trials=9))
    later = [start for number, (start, _) in _times(more).items() if number >= 6]
    assert len(later) == 3 and min(later) == pytest.approx(ended)


def test_each_study_of_a_compare_has_its_own_clock(runs_root, tmp_path):
    from harness.experiment.compare import run_compare
    from harness.experiment.config import STUDY_TEMPLATE, CompareConfig
    from harness.experiment.runs import load_run_study

    url = f"sqlite:///{tmp_path / 'c.db'}"
    template = replace(_config(runs_root, 3, trials=8, storage=url), concurrency=1)
    template = replace(template, name=STUDY_TEMPLATE.name)
    config = CompareConfig(
        run="c",
        study=template,
        repeats=2,
        retrain_seeds=2,
        bench_seeds=0,
        reference_seeds=0,
        runs_root=runs_root,
    )
    run_compare(config, log=lambda text: None)
    storage = optuna.storages.get_storage(url)
    for name in ("c/tpe/r0", "c/tpe/r1", "c/random/r0", "c/random/r1"):
        study = load_run_study(storage, "c", name).study
        times = _times(study)
        starts = sorted(start for start, _ in times.values())
        assert starts[:3] == [0.0] * 3 and starts[3] > 0, name  # K = 3 each, from 0 each
    # no study waited on another's workers: each is what it is when run alone
    tpe = load_run_study(storage, "c", "c/tpe/r1").study
    alone = run_study(_config(runs_root, 3, name="alone", trials=8, seed=tpe.user_attrs["seed"]))
    assert tpe.user_attrs["seed"] == 1 and _trials(alone) == _trials(tpe)


def test_simulated_workers_need_the_in_process_executor():
    with pytest.raises(HarnessError, match="executor must be 'local'"):
        StudyConfig(name="s", sampler="tpe", simulate_workers=2)


def _harness(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}
    return subprocess.run(
        [sys.executable, "-m", "harness", *argv],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.mark.parametrize(
    ("workers", "task", "message"),
    [
        ("0", "surrogate:toy", "--simulate-workers K must be >= 1, but got 0"),
        ("2", "problems:NoisyBowl", "--simulate-workers needs a surrogate task"),
        ("2", "iris", "the task 'iris' has none"),
    ],
)
def test_bad_simulated_workers_are_refused_in_one_line(runs_root, tmp_path, workers, task, message):
    done = _harness(
        tmp_path,
        *("study", "--name", "s", "--sampler", "tpe", "--task", task),
        *("--simulate-workers", workers, "--runs-dir", str(runs_root)),
        *("--storage", "sqlite:///s.db"),
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "s.db").exists()
