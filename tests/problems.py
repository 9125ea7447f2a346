"""Small problems of a user's own, for ``--task problems:Class`` (this folder on PYTHONPATH)."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optunahub.benchmarks import BaseProblem


class NoisyBowl(BaseProblem):
    """An OptunaHub problem: a bowl with a categorical offset and seeded noise, minimised.
    $PROBLEM_DELAY seconds per evaluation let a test kill a run mid-way."""

    @property
    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return {
            "x": FloatDistribution(-5.0, 5.0),
            "k": IntDistribution(-3, 3),
            "shape": CategoricalDistribution(["round", "flat"]),
        }

    @property
    def directions(self) -> list[optuna.study.StudyDirection]:
        return [optuna.study.StudyDirection.MINIMIZE]

    def evaluate(self, params: dict[str, Any], seed: int = 0) -> float:
        time.sleep(float(os.environ.get("PROBLEM_DELAY", "0")))
        offset = 0.5 if params["shape"] == "flat" else 0.0
        noise = np.random.default_rng(seed).normal(0.0, 0.05)
        return (params["x"] - 1.0) ** 2 + params["k"] ** 2 + offset + noise


class Ridge:
    """Duck-typed (no base class), maximised, and without a seed: deterministic."""

    def __init__(self) -> None:
        self.search_space = {
            "a": FloatDistribution(1e-3, 1.0, log=True),
            "b": FloatDistribution(0, 1),
        }
        self.directions = ["maximize"]

    def evaluate(self, params: dict[str, Any]) -> list[float]:
        return [-abs(np.log10(params["a"]) + 1.5) - (params["b"] - 0.25) ** 2]


class Raises(NoisyBowl):
    """Fails for x > 3: those trials FAIL with the exception's line, the study goes on."""

    def evaluate(self, params: dict[str, Any], seed: int = 0) -> float:
        if params["x"] > 3:
            raise ValueError(f"x = {params['x']:.3f} is out of this problem's domain")
        return super().evaluate(params, seed)


class TwoObjectives(NoisyBowl):
    @property
    def directions(self) -> list[optuna.study.StudyDirection]:
        return [optuna.study.StudyDirection.MINIMIZE] * 2


class NotASpace(NoisyBowl):
    @property
    def search_space(self) -> dict[str, Any]:
        return {"x": (0, 1)}
