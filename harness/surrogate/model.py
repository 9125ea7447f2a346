"""Fit a surrogate: the objective's model chosen by cross-validation, the seconds' model, the
seed-to-seed noise; and evaluate it, reproducibly for a given seed.

Two scikit-learn regressors compete for the objective, a random forest and histogram gradient
boosting, each scored by k-fold cross-validation on the trials (out-of-fold predictions:
Spearman's rho, which a sampler comparison needs, configurations ranked right, and RMSE); the
lower RMSE wins and is refitted on every trial. A surrogate's trial value is its prediction
plus normal noise of the pooled seed-to-seed sd, drawn from the trial's seed; its "true" value
is the prediction alone, so the regret of a surrogate study is exact.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.surrogate.encoding import Encoding
from harness.surrogate.flat_trees import FlatTrees, flatten

# 5-fold cross-validation holds out a fifth of the trials per fold: at 50 trials that is 10
# configurations per fold, the fewest on which a held-out rank correlation means much.
MIN_TRIALS = 50
FOLDS = 5


def check_enough(trials: int) -> None:
    if trials < MIN_TRIALS:
        raise HarnessError(
            f"{trials} complete trials are too few for a surrogate: at least {MIN_TRIALS} are "
            f"needed ({FOLDS}-fold cross-validation, 10 held-out trials a fold)"
        )


@dataclass(frozen=True)
class Scored:
    """One candidate model's held-out accuracy (k-fold, out-of-fold predictions)."""

    model: str
    rho: float  # Spearman rank correlation of the held-out predictions with the trials' values
    rmse: float  # in the objective's units


@dataclass(frozen=True)
class Noise:
    """The objective's seed-to-seed spread: one configuration trained with several seeds."""

    sd: float  # pooled over configurations (variances weighted by their degrees of freedom)
    configurations: int
    runs: int  # trainings in all
    source: str  # where the seeds' values came from

    @classmethod
    def pooled(cls, groups: Sequence[Sequence[float]], source: str) -> Noise:
        usable = [np.asarray(g, dtype=float) for g in groups if len(g) >= 2]
        if not usable:
            raise HarnessError(
                f"{source}: no configuration was trained with 2 or more seeds, so the "
                "seed-to-seed noise is unknown; give it with --noise-sd"
            )
        dof = sum(len(g) - 1 for g in usable)
        variance = sum(float(np.var(g, ddof=1)) * (len(g) - 1) for g in usable) / dof
        return cls(math.sqrt(variance), len(usable), sum(len(g) for g in usable), source)


def _candidates(seed: int) -> dict[str, Any]:
    # Both are ensembles of scikit-learn's regression trees, so flat_trees evaluates either in
    # microseconds; a few hundred trials need neither histogram binning nor more trees.
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

    return {
        "random forest": RandomForestRegressor(
            n_estimators=200, min_samples_leaf=2, random_state=seed, n_jobs=1
        ),
        "gradient boosting": GradientBoostingRegressor(
            n_estimators=300, learning_rate=0.05, max_depth=3, subsample=0.8, random_state=seed
        ),
    }


def score(model: Any, name: str, x: np.ndarray, y: np.ndarray, seed: int) -> Scored:
    from scipy.stats import spearmanr
    from sklearn.model_selection import KFold, cross_val_predict

    folds = KFold(FOLDS, shuffle=True, random_state=seed)
    held_out = cross_val_predict(model, x, y, cv=folds)
    rho = float(spearmanr(y, held_out).statistic)
    return Scored(name, rho, float(np.sqrt(np.mean((y - held_out) ** 2))))


@dataclass
class Surrogate:
    """A fitted surrogate of one task's objective (what ``store.py`` saves)."""

    encoding: Encoding
    objective: str
    direction: str  # "maximize" or "minimize"
    model: Any  # the chosen regressor of the objective
    scores: list[Scored]  # every candidate's held-out accuracy; the chosen one first
    seconds_model: Any  # a random forest of log(seconds)
    seconds_score: Scored
    noise: Noise
    trials: int
    _flat: FlatTrees = field(init=False, repr=False)
    _flat_seconds: FlatTrees = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._flat = flatten(self.model)
        self._flat_seconds = flatten(self.seconds_model)

    @property
    def chosen(self) -> Scored:
        return self.scores[0]

    def true_value(self, params: Mapping[str, Any]) -> float:
        """The model's prediction: the configuration's expected objective, without noise."""
        return self._flat.predict_row(self.encoding.row(params))

    def value(self, params: Mapping[str, Any], seed: int) -> float:
        """One noisy evaluation: the prediction plus seed-to-seed noise drawn from ``seed``."""
        noise = np.random.default_rng(seed).standard_normal() * self.noise.sd
        return self.true_value(params) + float(noise)

    def seconds(self, params: Mapping[str, Any]) -> float:
        """The predicted training seconds of a trial with these parameters."""
        return float(np.exp(self._flat_seconds.predict_row(self.encoding.row(params))))


def fit(
    encoding: Encoding,
    rows: Sequence[Mapping[str, Any]],
    values: Sequence[float],
    seconds: Sequence[float],
    *,
    objective: str,
    direction: str,
    noise: Noise,
    seed: int = 0,
) -> Surrogate:
    """Choose the objective's model by cross-validation, refit it on every trial, and fit the
    seconds' model; ``rows`` are the trials' parameters, ``values`` their objective values."""
    check_enough(len(rows))
    x, y = encoding.matrix(rows), np.asarray(values, dtype=float)
    candidates = _candidates(seed)
    scores = sorted(
        (score(model, name, x, y, seed) for name, model in candidates.items()),
        key=lambda s: s.rmse,
    )
    model = candidates[scores[0].model].fit(x, y)
    log_seconds = np.log(np.maximum(np.asarray(seconds, dtype=float), 1e-3))
    seconds_model = _candidates(seed)["random forest"]
    seconds_score = score(seconds_model, "random forest", x, log_seconds, seed)
    seconds_model.fit(x, log_seconds)
    return Surrogate(
        encoding, objective, direction, model, scores, seconds_model, seconds_score, noise, len(y)
    )
