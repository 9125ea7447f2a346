"""Surrogates: fitted from a storage's trials, evaluated fast and reproducibly, bad sources
refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from harness.errors import HarnessError
from harness.surrogate.encoding import Encoding, encoding_of
from harness.surrogate.flat_trees import flatten
from harness.surrogate.model import MIN_TRIALS, Noise, fit

SPACE = {
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "width": IntDistribution(8, 256, log=True),
    "dropout": FloatDistribution(0.0, 0.5),
    "batch": CategoricalDistribution([32, 64, 128]),
}


def _value(params: dict) -> float:
    """A smooth objective with an optimum inside the space (maximised)."""
    return (
        0.9
        - 0.02 * (np.log10(params["lr"]) + 2.5) ** 2
        - 0.01 * (np.log2(params["width"]) - 6) ** 2 / 4
        - 0.05 * params["dropout"] ** 2
        - 0.003 * (params["batch"] != 64)
    )


def _trials(count: int, seed: int = 0) -> list[dict]:
    sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(sampler=sampler)
    return [study.ask(SPACE).params for _ in range(count)]


@pytest.mark.parametrize("kind", ["forest", "boosting"])
def test_flat_trees_predict_what_scikit_learn_predicts(kind):
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

    rng = np.random.default_rng(0)
    x, test = rng.random((300, 6)), rng.random((200, 6))
    y = np.sin(4 * x[:, 0]) + x[:, 1] ** 2 + 0.1 * rng.standard_normal(300)
    model = (
        RandomForestRegressor(50, min_samples_leaf=2, random_state=0)
        if kind == "forest"
        else GradientBoostingRegressor(n_estimators=80, max_depth=3, random_state=0)
    ).fit(x, y)
    flat = flatten(model)
    ours = np.array([flat.predict_row(row) for row in test])
    # the same leaves; only the order of the final sum differs
    np.testing.assert_allclose(ours, model.predict(test), rtol=0, atol=1e-12)


def test_encoding_puts_log_parameters_on_a_log_scale_and_categories_in_columns():
    encoding = encoding_of([SPACE])
    assert encoding.columns == [
        "batch=32",
        "batch=64",
        "batch=128",
        "dropout",
        "log10(lr)",
        "log10(width)",
    ]
    row = encoding.row({"lr": 1e-3, "width": 100, "dropout": 0.25, "batch": 64})
    assert row == pytest.approx([0, 1, 0, 0.25, -3, 2])
    assert Encoding.from_json(encoding.to_json()) == encoding


def test_trials_of_different_spaces_are_refused():
    other = dict(SPACE, lr=FloatDistribution(1e-5, 1e-1, log=True))
    with pytest.raises(HarnessError, match="do not share one search space: 'lr'"):
        encoding_of([SPACE, other])
    with pytest.raises(HarnessError, match="'momentum' is searched in some"):
        encoding_of([SPACE, dict(SPACE, momentum=FloatDistribution(0, 1))])


def _fit(count: int, seed: int = 0):
    rows = _trials(count)
    noise = Noise(0.001, 3, 9, "test")
    seconds = [1 + p["width"] / 64 for p in rows]
    return fit(
        encoding_of([SPACE]),
        rows,
        [_value(p) for p in rows],
        seconds,
        objective="val_auroc",
        direction="maximize",
        noise=noise,
        seed=seed,
    )


def test_too_few_trials_are_refused_with_the_number_needed():
    with pytest.raises(HarnessError, match=f"at least {MIN_TRIALS} are needed"):
        _fit(MIN_TRIALS - 1)


def test_a_surrogate_is_accurate_on_a_smooth_objective_and_reproducible():
    surrogate = _fit(200)
    assert surrogate.chosen.rho > 0.9  # held out: a smooth function of 4 parameters
    params = {"lr": 3e-3, "width": 64, "dropout": 0.1, "batch": 64}
    assert surrogate.true_value(params) == pytest.approx(_value(params), abs=0.01)
    # the same seed, the same value; another seed, another draw of the noise
    assert surrogate.value(params, 7) == surrogate.value(params, 7)
    assert surrogate.value(params, 7) != surrogate.value(params, 8)
    draws = np.array(
        [surrogate.value(params, s) - surrogate.true_value(params) for s in range(2000)]
    )
    assert draws.std() == pytest.approx(0.001, rel=0.1)
    # fitted again with the same seed: the same model
    assert _fit(200).true_value(params) == surrogate.true_value(params)
    assert surrogate.seconds(params) == pytest.approx(2.0, rel=0.3)


def test_noise_is_pooled_over_configurations_by_their_degrees_of_freedom():
    noise = Noise.pooled([[1.0, 3.0], [0.0, 0.0, 3.0], [5.0]], "records")
    # variances 2 (1 dof) and 3 (2 dof): (2 + 6) / 3; a single seed says nothing
    assert noise.sd == pytest.approx((8 / 3) ** 0.5)
    assert (noise.configurations, noise.runs) == (2, 5)
    with pytest.raises(HarnessError, match="--noise-sd"):
        Noise.pooled([[1.0], [2.0]], "records")


def _storage(tmp_path, spaces=("a", "a"), trials=60) -> str:
    """A run 'syn' of two studies (tpe/r0, random/r0), and its retraining records."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    records = []
    for seed, (sampler, space) in enumerate(zip(("tpe", "random"), spaces, strict=True)):
        study = optuna.create_study(
            study_name=f"syn/{sampler}/r0", storage=url, direction="maximize"
        )
        study.set_user_attr("objective", "val_auroc")
        study.set_user_attr("space_sha256", space)
        for params in _trials(trials, seed):
            trial = optuna.trial.create_trial(
                params=params,
                distributions=SPACE,
                value=_value(params),
                user_attrs={"seconds": 2.0},
            )
            study.add_trial(trial)
        best = study.best_trial.params
        results = [
            {"seed": s, "status": "ok", "val_auroc": _value(best) + 1e-3 * s} for s in (0, 1, 2)
        ]
        records.append(
            {
                "study": study.study_name,
                "sampler": sampler,
                "repeat": 0,
                "trial": 0,
                "value": 0.9,
                "params": best,
                "results": results,
            }
        )
    (tmp_path / "runs" / "syn").mkdir(parents=True)
    (tmp_path / "runs" / "syn" / "retrain.json").write_text(json.dumps({"records": records}))
    return url


def _harness(tmp_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "harness", "surrogate", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )


@pytest.mark.slow
def test_surrogate_fit_from_a_run_stores_its_held_out_accuracy(tmp_path):
    url = _storage(tmp_path)
    done = _harness(tmp_path, "fit", "--name", "s", "--from", "syn", "--storage", url)
    assert done.returncode == 0, done.stderr
    meta = json.loads((tmp_path / "runs/surrogates/s/surrogate.json").read_text())
    assert meta["trials"] == 120 and meta["sources"]["studies"] == ["syn/tpe/r0", "syn/random/r0"]
    assert {s["model"] for s in meta["scores"]} == {"random forest", "gradient boosting"}
    assert meta["scores"][0]["model"] == meta["chosen"] and meta["scores"][0]["rho"] > 0.8
    assert meta["noise"]["sd"] == pytest.approx(1e-3) and meta["noise"]["configurations"] == 2
    assert "held-out Spearman rho" in done.stdout
    shown = _harness(tmp_path, "show", "--name", "s")
    assert shown.returncode == 0 and "120 trials of 2 studies" in shown.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "args", "message"),
    [
        ("unknown study", ("--from", "nope"), "--from 'nope': no study or run of that name"),
        ("too few trials", ("--from", "syn/tpe/r0"), "are too few for a surrogate: at least 50"),
        ("mixed spaces", ("--from", "syn"), "have different search spaces"),
        ("bad name", ("--from", "syn", "--name", "../x"), "surrogate name '../x'"),
        ("no such storage", ("--storage", "sqlite:///none.db"), "does not exist"),
    ],
)
def test_bad_sources_are_refused_in_one_line_with_nothing_written(tmp_path, case, args, message):
    trials = 40 if case == "too few trials" else 60
    url = _storage(tmp_path, ("a", "b") if case == "mixed spaces" else ("a", "a"), trials)
    given = dict(zip(args[::2], args[1::2], strict=True))
    options = {"--name": "s", "--from": "syn", "--storage": url, **given}
    done = _harness(tmp_path, "fit", *[x for pair in options.items() for x in pair])
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "runs" / "surrogates").exists()


def test_a_surrogate_problem_runs_as_an_optuna_objective_reproducibly():
    from harness.surrogate.problem import SurrogateProblem

    problem = SurrogateProblem.of(_fit(100))
    assert problem.search_space == dict(sorted(SPACE.items()))
    assert problem.directions == [optuna.study.StudyDirection.MAXIMIZE]

    def values(seed: int) -> list[float]:
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
        )
        study.optimize(problem, n_trials=15)
        return [t.value for t in study.trials]

    assert values(3) == values(3)  # the same sampler seed: the same trials, the same noise
    best = max(values(3))
    assert abs(best - 0.9) < 0.02  # near the objective's optimum, 0.9
