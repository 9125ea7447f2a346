"""A fitted surrogate in the shape of an OptunaHub ``BaseProblem``: ``search_space``,
``directions`` and ``evaluate(params, seed)``, so that it runs wherever a user's own problem
runs (``--task surrogate:NAME``), and ``true_value`` for the primary outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from harness.paths import DEFAULT_RUNS_ROOT
from harness.surrogate.model import Surrogate


class SurrogateProblem:
    """Surrogate NAME, loaded from ``runs_root/surrogates/NAME/``."""

    def __init__(self, name: str, runs_root: str | Path = DEFAULT_RUNS_ROOT) -> None:
        from harness.surrogate.store import load, surrogate_dir

        self.name = name
        self.surrogate, self.meta = load(surrogate_dir(name, runs_root))

    @classmethod
    def of(cls, surrogate: Surrogate, name: str = "surrogate") -> SurrogateProblem:
        """A problem of a surrogate in memory (tests, and a fit's own check)."""
        problem = cls.__new__(cls)
        problem.name, problem.surrogate, problem.meta = name, surrogate, {}
        return problem

    @property
    def search_space(self) -> dict[str, BaseDistribution]:
        return dict(self.surrogate.encoding.distributions)

    @property
    def directions(self) -> list[optuna.study.StudyDirection]:
        maximize = self.surrogate.direction == "maximize"
        return [
            optuna.study.StudyDirection.MAXIMIZE
            if maximize
            else optuna.study.StudyDirection.MINIMIZE
        ]

    def evaluate(self, params: Mapping[str, Any], seed: int = 0) -> float:
        """One noisy evaluation, reproducible for ``seed`` (as one training run would be)."""
        return self.surrogate.value(params, seed)

    def true_value(self, params: Mapping[str, Any]) -> float:
        """The configuration's expected value without noise: the primary outcome."""
        return self.surrogate.true_value(params)

    def seconds(self, params: Mapping[str, Any]) -> float:
        """The training seconds a real trial with these parameters is predicted to take."""
        return self.surrogate.seconds(params)

    def __call__(self, trial: optuna.Trial) -> float:
        """An Optuna objective: the trial's parameters suggested from the space, evaluated with
        the trial's number as the seed."""
        params = {name: suggest(trial, name, d) for name, d in self.search_space.items()}
        return self.evaluate(params, seed=trial.number)


def suggest(trial: optuna.Trial, name: str, distribution: BaseDistribution) -> Any:
    """``trial.suggest_*`` for one of Optuna's distributions (its public API)."""
    if isinstance(distribution, FloatDistribution):
        low, high, step = distribution.low, distribution.high, distribution.step
        return trial.suggest_float(name, low, high, step=step, log=distribution.log)
    if isinstance(distribution, IntDistribution):
        low, high, step = distribution.low, distribution.high, distribution.step
        return trial.suggest_int(name, low, high, step=step, log=distribution.log)
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    raise TypeError(f"{name!r}: no suggest for {type(distribution).__name__}")
