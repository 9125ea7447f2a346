"""Load and validate ``search_spaces/*.toml`` into Optuna distributions.

A space file has a ``[params]`` table with one entry per searched hyperparameter (a table with
``type`` = int | float | categorical, or a plain value to fix it), an optional ``[fixed]``
table of training settings the search does not vary, and an optional ``[data]`` table: the
task's data (``harness.tasks.toml_data``: its source, target, kind, split; a training subset
for quick studies; Adult's feature variant). Everything is checked before a study is created;
each broken rule is one message naming the file, the key and the rule. A searched parameter's
table becomes its distribution in ``harness.search.distributions``.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    IntDistribution,
)

from harness.choices import OPTIMIZERS
from harness.errors import HarnessError
from harness.lab.data import PACKAGED_TRAIN_ROWS
from harness.paths import DEFAULT_SPACE, read_text
from harness.search.config import MAX_EPOCHS_MAX, FixedSettings
from harness.search.distributions import (
    DEFAULT_PARAMS,
    PARAM_TYPES,
    fits,
    param_distribution,
    space_error,
)
from harness.search.task import PARAM_KEYS, validate_params
from harness.tasks.spec import ADULT, DataSpec, Task
from harness.tasks.toml_data import data_spec

SECTIONS = ("params", "fixed", "data")


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


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space; ``text`` is the file's content, stored with each study."""

    source: str
    text: str
    distributions: dict[str, BaseDistribution]
    fixed_params: dict[str, Any]
    fixed: FixedSettings = field(default_factory=FixedSettings)
    data: DataSpec = field(default_factory=DataSpec)
    declares_source: bool = False  # its [data] table names a source: the file is a task
    task: Task | None = None  # the task it searches, once resolved (search/task_space.py)

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
        raise space_error(source, unknown[0], f"unknown section; known sections: {list(SECTIONS)}")
    params = document.get("params")
    if not isinstance(params, dict) or not params:
        raise space_error(source, "params", "a non-empty [params] table is required")
    distributions, fixed_params = _params(source, params)
    fixed = _fixed_table(source, document.get("fixed", {}))
    table = document.get("data", {})
    data = data_spec(source, table)
    if data.source == ADULT:  # other tasks' rows are known once their data is read
        _check_adult_rows(source, data.train_rows)
        _check_batchfits(source, distributions, fixed_params, data.train_rows)
    return SearchSpace(
        source=source,
        text=text,
        distributions=distributions,
        fixed_params=fixed_params,
        fixed=FixedSettings(**fixed),
        data=data,
        declares_source=isinstance(table, dict) and "source" in table,
    )


def _params(
    source: str, params: dict[str, Any]
) -> tuple[dict[str, BaseDistribution], dict[str, Any]]:
    """The ``[params]`` table: a distribution for each searched parameter, and every other
    parameter's fixed value (the space's, else the default)."""
    distributions: dict[str, BaseDistribution] = {}
    fixed_params = dict(DEFAULT_PARAMS)
    for name, spec in params.items():
        if name not in PARAM_KEYS:
            raise space_error(
                source, f"params.{name}", f"unknown parameter; known parameters: {list(PARAM_KEYS)}"
            )
        if isinstance(spec, dict):
            distributions[name] = param_distribution(source, name, spec)
            fixed_params.pop(name)
        else:
            if not fits(spec, PARAM_TYPES[name]):
                raise space_error(
                    source,
                    f"params.{name}",
                    f"a fixed value must be {PARAM_TYPES[name].__name__}, but got {spec!r}",
                )
            fixed_params[name] = spec
    try:
        validate_params({**DEFAULT_PARAMS, **fixed_params})
    except HarnessError as err:
        raise space_error(source, "params", str(err).removeprefix("params: ")) from None
    return distributions, fixed_params


def _fixed_table(source: str, table: Any) -> dict[str, Any]:
    """The ``[fixed]`` training settings, checked (``FixedSettings``' fields)."""
    fixed = _typed_table(source, "fixed", table, FIXED_KEYS)
    if "optimizer" in fixed and fixed["optimizer"] not in OPTIMIZERS:
        raise space_error(
            source,
            "fixed.optimizer",
            f"must be one of {list(OPTIMIZERS)}, but got {fixed['optimizer']!r}",
        )
    for key in ("max_epochs", "patience"):
        if key in fixed and fixed[key] < 1:
            raise space_error(source, f"fixed.{key}", f"{key} >= 1 must hold, but got {fixed[key]}")
    if fixed.get("max_epochs", 0) > MAX_EPOCHS_MAX:
        raise space_error(
            source,
            "fixed.max_epochs",
            f"max_epochs <= {MAX_EPOCHS_MAX} must hold "
            f"(a trial's ceiling; the lab uses 300), but got "
            f"{fixed['max_epochs']}",
        )
    return fixed


def _check_adult_rows(source: str, train_rows: int | None) -> None:
    """A training subset of Adult within its packaged training rows."""
    if (train_rows or 0) > PACKAGED_TRAIN_ROWS:  # the rest would be silently all rows
        raise space_error(
            source,
            "data.train_rows",
            f"must be <= {PACKAGED_TRAIN_ROWS} (the packaged training rows), but got {train_rows}",
        )


def largest_batch(distributions: dict[str, BaseDistribution], fixed_params: dict[str, Any]) -> int:
    """The largest batch size a space allows."""
    dist = distributions.get("batch_size")
    if dist is None:
        return int(fixed_params["batch_size"])
    if isinstance(dist, CategoricalDistribution):
        return max(c for c in dist.choices if isinstance(c, int))  # all are: checked
    assert isinstance(dist, IntDistribution), dist  # batch_size is an integer parameter
    return dist.high


def _check_batchfits(
    source: str,
    distributions: dict[str, BaseDistribution],
    fixed_params: dict[str, Any],
    train_rows: int | None,
) -> None:
    """A batch larger than the training rows is silently the whole set: refuse it."""
    largest = largest_batch(distributions, fixed_params)
    rows, name = (
        (train_rows, f"data.train_rows ({train_rows})")
        if train_rows
        else (PACKAGED_TRAIN_ROWS, f"the training rows ({PACKAGED_TRAIN_ROWS})")
    )
    if largest > rows:
        raise space_error(
            source,
            "params.batch_size",
            f"batch_size <= {name} must hold, but the space allows {largest}",
        )


def _typed_table(source: str, section: str, table: Any, keys: dict[str, type]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise space_error(source, section, f"must be a table, but got {table!r}")
    for key, value in table.items():
        if key not in keys:
            raise space_error(
                source, f"{section}.{key}", f"unknown key; known keys: {sorted(keys)}"
            )
        if not fits(value, keys[key]) if keys[key] is int else not isinstance(value, keys[key]):
            # (ints are checked without accepting booleans)
            raise space_error(
                source, f"{section}.{key}", f"must be {keys[key].__name__}, but got {value!r}"
            )
    return dict(table)
