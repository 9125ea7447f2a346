"""A trial's parameters as a row of model features, from the study's own distributions.

Float and int parameters are one column each, on a log10 scale where the distribution is log
(the scale the sampler searched, and the one on which a tree's splits are even); categorical
parameters are one 0/1 column per choice. The distributions are stored with the surrogate
(Optuna's JSON form), so a loaded model encodes exactly as it was fitted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)

from harness.errors import HarnessError


@dataclass(frozen=True)
class Encoding:
    """The searched parameters, by name in a fixed order, with their distributions."""

    distributions: dict[str, BaseDistribution]

    @property
    def columns(self) -> list[str]:
        names = []
        for name, distribution in self.distributions.items():
            if isinstance(distribution, CategoricalDistribution):
                names += [f"{name}={choice}" for choice in distribution.choices]
            else:
                log = getattr(distribution, "log", False)
                names.append(f"log10({name})" if log else name)
        return names

    def row(self, params: Mapping[str, Any]) -> list[float]:
        values: list[float] = []
        for name, distribution in self.distributions.items():
            if name not in params:
                raise HarnessError(f"parameters {dict(params)} have no {name!r}")
            value = params[name]
            if isinstance(distribution, CategoricalDistribution):
                values += [float(value == choice) for choice in distribution.choices]
            elif getattr(distribution, "log", False):
                values.append(math.log10(float(value)))
            else:
                values.append(float(value))
        return values

    def matrix(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return np.array([self.row(params) for params in rows], dtype=np.float64)

    def to_json(self) -> dict[str, str]:
        return {name: distribution_to_json(d) for name, d in self.distributions.items()}

    @classmethod
    def from_json(cls, stored: Mapping[str, str]) -> Encoding:
        return cls({name: json_to_distribution(text) for name, text in stored.items()})


def encoding_of(distributions: Sequence[Mapping[str, BaseDistribution]]) -> Encoding:
    """One encoding for trials that must share their distributions (sorted by name); trials of
    different spaces are refused in one line naming the parameter that differs."""
    first = dict(sorted(distributions[0].items()))
    for other in distributions[1:]:
        if other.keys() != first.keys():
            extra = sorted(set(other) ^ set(first))
            raise HarnessError(
                f"the trials do not share one search space: parameter {extra[0]!r} is searched "
                "in some and not in others"
            )
        for name, distribution in other.items():
            if distribution != first[name]:
                raise HarnessError(
                    f"the trials do not share one search space: {name!r} is {first[name]} in "
                    f"some and {distribution} in others"
                )
    if not first:
        raise HarnessError("the trials search no parameter: nothing for a surrogate to model")
    kinds = (FloatDistribution, IntDistribution, CategoricalDistribution)
    for name, distribution in first.items():
        if not isinstance(distribution, kinds):
            raise HarnessError(f"{name!r}: a {type(distribution).__name__} cannot be encoded")
    return Encoding(first)
