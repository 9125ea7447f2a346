"""One searched hyperparameter of a space file: its ``[params]`` table checked and made into an
Optuna distribution whose every value is a valid training parameter.

Each broken rule is one message naming the file, the key and the rule (``space_error``);
Optuna's own rules (``low <= high``, a log range above 0) are checked as it builds the
distribution, with its message.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from harness.errors import HarnessError
from harness.numbers import is_number
from harness.search.task import validate_params

# Values for parameters a space leaves out (a subset search): the lab's RegularizedMLP choices.
DEFAULT_PARAMS: dict[str, Any] = {
    "hidden_size": 256,
    "lr": 1e-3,
    "batch_size": 128,
    "weight_decay": 1e-4,
    "dropout": 0.5,
}
PARAM_TYPES = {
    "hidden_size": int,
    "lr": float,
    "batch_size": int,
    "weight_decay": float,
    "dropout": float,
}
DISTRIBUTION_KEYS = {
    "int": {"type", "low", "high", "log", "step"},
    "float": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices"},
}


def space_error(source: str, key: str, message: str) -> HarnessError:
    """A broken rule of space file ``source``, at ``key``."""
    return HarnessError(f"{source}: {key}: {message}")


def param_distribution(source: str, name: str, table: dict[str, Any]) -> BaseDistribution:
    """The distribution of parameter ``name`` from its ``[params.NAME]`` table."""
    key = f"params.{name}"
    kind = table.get("type")
    if kind not in DISTRIBUTION_KEYS:
        raise space_error(
            source, f"{key}.type", f"must be one of {sorted(DISTRIBUTION_KEYS)}, but got {kind!r}"
        )
    unknown = sorted(set(table) - DISTRIBUTION_KEYS[kind])
    if unknown:
        raise space_error(
            source,
            f"{key}.{unknown[0]}",
            f"unknown key for a {kind} parameter; allowed: {sorted(DISTRIBUTION_KEYS[kind])}",
        )
    build = (
        _categorical(source, key, name, table)
        if kind == "categorical"
        else _numeric(source, key, name, kind, table)
    )
    try:
        distribution = build()
    except (ValueError, TypeError) as err:  # Optuna states the rule and the values found
        raise space_error(source, key, str(err)) from None
    _check_values_valid(source, key, name, distribution)
    return distribution


def _categorical(
    source: str, key: str, name: str, table: dict[str, Any]
) -> Callable[[], BaseDistribution]:
    """A categorical parameter's checked choices, as the distribution to build."""
    expected = PARAM_TYPES[name]
    choices = table.get("choices")
    if not isinstance(choices, list):
        raise space_error(source, f"{key}.choices", f"must be a list, but got {choices!r}")
    bad = [c for c in choices if not fits(c, expected)]
    if bad:
        raise space_error(
            source,
            f"{key}.choices",
            f"{name} takes {expected.__name__} values, but got {bad[0]!r}",
        )
    return lambda: CategoricalDistribution(choices)


def _numeric(
    source: str, key: str, name: str, kind: str, table: dict[str, Any]
) -> Callable[[], BaseDistribution]:
    """An int or float parameter's checked bounds, log and step, as the distribution to
    build (Optuna's own rules are checked when it is built)."""
    expected = PARAM_TYPES[name]
    if kind == "int" and expected is float:
        raise space_error(source, f"{key}.type", f"{name} is a float parameter, not int")
    if kind == "float" and expected is int:
        raise space_error(source, f"{key}.type", f"{name} is an integer parameter, not float")
    for bound in ("low", "high"):
        value = table.get(bound)
        if bound not in table:
            raise space_error(source, f"{key}.{bound}", "is required")
        if not is_number(value) or (kind == "int" and not isinstance(value, int)):
            raise space_error(
                source,
                f"{key}.{bound}",
                f"must be {'an integer' if kind == 'int' else 'a number'}, but got {value!r}",
            )
    log = table.get("log", False)
    if not isinstance(log, bool):
        raise space_error(source, f"{key}.log", f"must be true or false, but got {log!r}")
    step = table.get("step")
    # an int step of 0 was read as 1 (`step or 1`): a typo must not pass silently
    if step is not None and not fits(step, expected if kind == "int" else float):
        what = "an integer" if kind == "int" else "a number"
        raise space_error(source, f"{key}.step", f"must be {what} > 0, but got {step!r}")
    if kind == "int" and step is not None and step < 1:
        raise space_error(source, f"{key}.step", f"step >= 1 must hold, but got {step!r}")
    low, high = table["low"], table["high"]
    if step is not None and step > 0 and high > low:
        _check_step_divides(source, f"{key}.step", low, high, step)
    if kind == "int":
        int_step = 1 if step is None else step
        return lambda: IntDistribution(low, high, log=log, step=int_step)
    return lambda: FloatDistribution(low, high, log=log, step=step)


def _check_step_divides(source: str, key: str, low: float, high: float, step: float) -> None:
    """Optuna moves ``high`` down to the last multiple of ``step`` above ``low`` with only a
    warning: ``step = 1000`` over [16, 256] silently became [16, 16], every trial the same."""
    steps = (high - low) / step
    if abs(steps - round(steps)) <= 1e-9 * max(1.0, abs(steps)):
        return
    searched = low + math.floor(steps) * step
    raise space_error(
        source,
        key,
        f"high - low must be a multiple of step, but {high:g} - {low:g} = {high - low:g} is "
        f"not a multiple of {step:g} (Optuna would search [{low:g}, {searched:g}] instead)",
    )


def fits(value: Any, expected: type) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return is_number(value)


def _check_values_valid(source: str, key: str, name: str, dist: BaseDistribution) -> None:
    """Every value the distribution can produce must be a valid training parameter."""
    extremes: list[Any]
    if isinstance(dist, CategoricalDistribution):
        extremes = list(dist.choices)
    else:
        assert isinstance(dist, IntDistribution | FloatDistribution), dist  # param_distribution's
        extremes = [dist.low, dist.high]
    for value in extremes:
        try:
            validate_params({**DEFAULT_PARAMS, name: value})
        except HarnessError as err:
            rule = str(err).removeprefix("params: ")
            raise space_error(source, key, f"range allows an invalid value: {rule}") from None
