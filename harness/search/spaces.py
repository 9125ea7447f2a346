"""Load and validate ``search_spaces/*.toml`` into Optuna distributions.

A space file has a ``[params]`` table with one entry per searched hyperparameter (a table with
``type`` = int | float | categorical, or a plain value to fix it), an optional ``[fixed]``
table of training settings the search does not vary, and an optional ``[data]`` table (a
training subset for quick studies, the feature variant). Everything is checked before a study
is created; each broken rule is one message naming the file, the key and the rule.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from harness.choices import OPTIMIZERS, VARIANTS
from harness.errors import HarnessError
from harness.lab.data import PACKAGED_TRAIN_ROWS
from harness.numbers import is_number
from harness.paths import DEFAULT_SPACE, read_text
from harness.search.config import MAX_EPOCHS_MAX, DataSettings, FixedSettings
from harness.search.task import PARAM_KEYS, validate_params

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
SECTIONS = ("params", "fixed", "data")
DISTRIBUTION_KEYS = {
    "int": {"type", "low", "high", "log", "step"},
    "float": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices"},
}


def _toml_types(settings: type) -> dict[str, type]:
    """A settings dataclass's fields and the TOML type of each: a Literal of strings is a
    string, ``int | None`` an integer (None is the field's default, not a TOML value)."""
    hints = get_type_hints(settings)
    types = {}
    for item in fields(settings):
        hint = hints[item.name]
        if get_origin(hint) is Literal:
            types[item.name] = type(get_args(hint)[0])
        else:
            types[item.name] = next((a for a in get_args(hint) if a is not type(None)), hint)
    return types


FIXED_KEYS = _toml_types(FixedSettings)
DATA_KEYS = _toml_types(DataSettings)


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space; ``text`` is the file's content, stored with each study."""

    source: str
    text: str
    distributions: dict[str, BaseDistribution]
    fixed_params: dict[str, Any]
    fixed: FixedSettings = field(default_factory=FixedSettings)
    data: DataSettings = field(default_factory=DataSettings)

    @property
    def train_rows(self) -> int | None:
        return self.data.train_rows

    @property
    def variant(self) -> str:
        return self.data.variant

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def full_params(self, sampled: dict[str, Any]) -> dict[str, Any]:
        """A trial's sampled values completed with the fixed ones, ready for ``run_trial``."""
        return {**self.fixed_params, **sampled}


def _fail(source: str, key: str, message: str) -> HarnessError:
    return HarnessError(f"{source}: {key}: {message}")


def _distribution(source: str, name: str, table: dict[str, Any]) -> BaseDistribution:
    key = f"params.{name}"
    kind = table.get("type")
    if kind not in DISTRIBUTION_KEYS:
        raise _fail(
            source, f"{key}.type", f"must be one of {sorted(DISTRIBUTION_KEYS)}, but got {kind!r}"
        )
    unknown = sorted(set(table) - DISTRIBUTION_KEYS[kind])
    if unknown:
        raise _fail(
            source,
            f"{key}.{unknown[0]}",
            f"unknown key for a {kind} parameter; allowed: {sorted(DISTRIBUTION_KEYS[kind])}",
        )
    expected = PARAM_TYPES[name]
    build: Callable[[], BaseDistribution]
    if kind == "categorical":
        choices = table.get("choices")
        if not isinstance(choices, list):
            raise _fail(source, f"{key}.choices", f"must be a list, but got {choices!r}")
        bad = [c for c in choices if not _fits(c, expected)]
        if bad:
            raise _fail(
                source,
                f"{key}.choices",
                f"{name} takes {expected.__name__} values, but got {bad[0]!r}",
            )
        build = lambda: CategoricalDistribution(choices)  # noqa: E731
    else:
        if kind == "int" and expected is float:
            raise _fail(source, f"{key}.type", f"{name} is a float parameter, not int")
        if kind == "float" and expected is int:
            raise _fail(source, f"{key}.type", f"{name} is an integer parameter, not float")
        for bound in ("low", "high"):
            value = table.get(bound)
            if bound not in table:
                raise _fail(source, f"{key}.{bound}", "is required")
            if not is_number(value) or (kind == "int" and not isinstance(value, int)):
                raise _fail(
                    source,
                    f"{key}.{bound}",
                    f"must be {'an integer' if kind == 'int' else 'a number'}, but got {value!r}",
                )
        log = table.get("log", False)
        if not isinstance(log, bool):
            raise _fail(source, f"{key}.log", f"must be true or false, but got {log!r}")
        step = table.get("step")
        # an int step of 0 was read as 1 (`step or 1`): a typo must not pass silently
        if step is not None and not _fits(step, expected if kind == "int" else float):
            what = "an integer" if kind == "int" else "a number"
            raise _fail(source, f"{key}.step", f"must be {what} > 0, but got {step!r}")
        if kind == "int" and step is not None and step < 1:
            raise _fail(source, f"{key}.step", f"step >= 1 must hold, but got {step!r}")
        low, high = table["low"], table["high"]
        if step is not None and step > 0 and high > low:
            _check_step_divides(source, f"{key}.step", low, high, step)
        if kind == "int":
            int_step = 1 if step is None else step
            build = lambda: IntDistribution(low, high, log=log, step=int_step)  # noqa: E731
        else:
            build = lambda: FloatDistribution(low, high, log=log, step=step)  # noqa: E731
    try:
        distribution = build()
    except (ValueError, TypeError) as err:  # Optuna states the rule and the values found
        raise _fail(source, key, str(err)) from None
    _check_values_valid(source, key, name, distribution)
    return distribution


def _check_step_divides(source: str, key: str, low: float, high: float, step: float) -> None:
    """Optuna moves ``high`` down to the last multiple of ``step`` above ``low`` with only a
    warning: ``step = 1000`` over [16, 256] silently became [16, 16], every trial the same."""
    steps = (high - low) / step
    if abs(steps - round(steps)) <= 1e-9 * max(1.0, abs(steps)):
        return
    searched = low + math.floor(steps) * step
    raise _fail(
        source,
        key,
        f"high - low must be a multiple of step, but {high:g} - {low:g} = {high - low:g} is "
        f"not a multiple of {step:g} (Optuna would search [{low:g}, {searched:g}] instead)",
    )


def _fits(value: Any, expected: type) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return is_number(value)


def _check_values_valid(source: str, key: str, name: str, dist: BaseDistribution) -> None:
    """Every value the distribution can produce must be a valid training parameter."""
    extremes: list[Any]
    if isinstance(dist, CategoricalDistribution):
        extremes = list(dist.choices)
    else:
        assert isinstance(dist, IntDistribution | FloatDistribution), dist  # _distribution's
        extremes = [dist.low, dist.high]
    for value in extremes:
        try:
            validate_params({**DEFAULT_PARAMS, name: value})
        except HarnessError as err:
            rule = str(err).removeprefix("params: ")
            raise _fail(source, key, f"range allows an invalid value: {rule}") from None


def load_space(path: str | Path = DEFAULT_SPACE) -> SearchSpace:
    """Read and validate one space file; raise HarnessError on the first broken rule."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise HarnessError(f"search space file not found: {source}")
    return parse_space(read_text(path), source)


def parse_space(text: str, source: str) -> SearchSpace:
    """Validate a space given as TOML text (a file's content, or one stored with a study)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise HarnessError(f"{source}: not valid TOML ({err})") from None
    unknown = sorted(set(document) - set(SECTIONS))
    if unknown:
        raise _fail(source, unknown[0], f"unknown section; known sections: {list(SECTIONS)}")
    params = document.get("params")
    if not isinstance(params, dict) or not params:
        raise _fail(source, "params", "a non-empty [params] table is required")

    distributions: dict[str, BaseDistribution] = {}
    fixed_params = dict(DEFAULT_PARAMS)
    for name, spec in params.items():
        if name not in PARAM_KEYS:
            raise _fail(
                source, f"params.{name}", f"unknown parameter; known parameters: {list(PARAM_KEYS)}"
            )
        if isinstance(spec, dict):
            distributions[name] = _distribution(source, name, spec)
            fixed_params.pop(name)
        else:
            if not _fits(spec, PARAM_TYPES[name]):
                raise _fail(
                    source,
                    f"params.{name}",
                    f"a fixed value must be {PARAM_TYPES[name].__name__}, but got {spec!r}",
                )
            fixed_params[name] = spec
    try:
        validate_params({**DEFAULT_PARAMS, **fixed_params})
    except HarnessError as err:
        raise _fail(source, "params", str(err).removeprefix("params: ")) from None

    fixed = _typed_table(source, "fixed", document.get("fixed", {}), FIXED_KEYS)
    if "optimizer" in fixed and fixed["optimizer"] not in OPTIMIZERS:
        raise _fail(
            source,
            "fixed.optimizer",
            f"must be one of {list(OPTIMIZERS)}, but got {fixed['optimizer']!r}",
        )
    for key in ("max_epochs", "patience"):
        if key in fixed and fixed[key] < 1:
            raise _fail(source, f"fixed.{key}", f"{key} >= 1 must hold, but got {fixed[key]}")
    if fixed.get("max_epochs", 0) > MAX_EPOCHS_MAX:
        raise _fail(
            source,
            "fixed.max_epochs",
            f"max_epochs <= {MAX_EPOCHS_MAX} must hold "
            f"(a trial's ceiling; the lab uses 300), but got "
            f"{fixed['max_epochs']}",
        )
    data = _typed_table(source, "data", document.get("data", {}), DATA_KEYS)
    if "train_rows" in data and data["train_rows"] < 2:
        raise _fail(source, "data.train_rows", f"must be >= 2, but got {data['train_rows']}")
    if data.get("train_rows", 0) > PACKAGED_TRAIN_ROWS:  # the rest would be silently all rows
        raise _fail(
            source,
            "data.train_rows",
            f"must be <= {PACKAGED_TRAIN_ROWS} (the packaged "
            f"training rows), but got {data['train_rows']}",
        )
    _check_batch_fits(source, distributions, fixed_params, data.get("train_rows"))
    if "variant" in data and data["variant"] not in VARIANTS:
        raise _fail(
            source, "data.variant", f"must be one of {list(VARIANTS)}, but got {data['variant']!r}"
        )
    return SearchSpace(
        source=source,
        text=text,
        distributions=distributions,
        fixed_params=fixed_params,
        fixed=FixedSettings(**fixed),
        data=DataSettings(**data),
    )


def _check_batch_fits(
    source: str,
    distributions: dict[str, BaseDistribution],
    fixed_params: dict[str, Any],
    train_rows: int | None,
) -> None:
    """A batch larger than the training rows is silently the whole set: refuse it."""
    dist = distributions.get("batch_size")
    if dist is None:
        largest = fixed_params["batch_size"]
    elif isinstance(dist, CategoricalDistribution):
        largest = max(c for c in dist.choices if isinstance(c, int))  # all are: checked
    else:
        assert isinstance(dist, IntDistribution), dist  # batch_size is an integer parameter
        largest = dist.high
    rows, name = (
        (train_rows, f"data.train_rows ({train_rows})")
        if train_rows
        else (PACKAGED_TRAIN_ROWS, f"the training rows ({PACKAGED_TRAIN_ROWS})")
    )
    if largest > rows:
        raise _fail(
            source,
            "params.batch_size",
            f"batch_size <= {name} must hold, but the space allows {largest}",
        )


def _typed_table(source: str, section: str, table: Any, keys: dict[str, type]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _fail(source, section, f"must be a table, but got {table!r}")
    for key, value in table.items():
        if key not in keys:
            raise _fail(source, f"{section}.{key}", f"unknown key; known keys: {sorted(keys)}")
        if not _fits(value, keys[key]) if keys[key] is int else not isinstance(value, keys[key]):
            # (ints are checked without accepting booleans)
            raise _fail(
                source, f"{section}.{key}", f"must be {keys[key].__name__}, but got {value!r}"
            )
    return dict(table)
