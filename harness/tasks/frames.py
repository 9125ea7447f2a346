"""A task's table: scikit-learn's bundled sets or a user's CSV/Parquet file, read as a pandas
frame and checked before any study exists.

A file is refused, in one line naming the file and what is wrong, when a column it names does
not exist, a value is missing, a column is constant, the target holds one class only, or a
regression's target is not numeric. The kind is inferred when not given: two distinct target
values are binary, a non-numeric target or an integer one with at most ``MAX_CLASSES`` values
multiclass, any other numeric target regression. Categorical columns, when not given, are the
ones whose values are not numbers (strings, booleans, categories). A bundled set's constant columns
(digits' border pixels) are dropped rather than refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from harness.choices import TaskKind
from harness.errors import HarnessError
from harness.tasks.spec import ADULT, DataSpec

# An integer target with more distinct values than this is a count or an amount to regress,
# not a class label (digits has 10 classes; say kind = "multiclass" for more).
MAX_CLASSES = 20
BUNDLED_TARGET = "target"  # the target column of scikit-learn's bundled frames


def _bundled(loader: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import sklearn.datasets

        return getattr(sklearn.datasets, loader)(as_frame=True).frame

    return load


# scikit-learn's bundled data sets (shipped inside its wheel: nothing is downloaded)
BUNDLED: dict[str, tuple[TaskKind, Callable[[], pd.DataFrame]]] = {
    "breast-cancer": ("binary", _bundled("load_breast_cancer")),
    "wine": ("multiclass", _bundled("load_wine")),
    "digits": ("multiclass", _bundled("load_digits")),
    "diabetes": ("regression", _bundled("load_diabetes")),
    "iris": ("multiclass", _bundled("load_iris")),
}


@dataclass(frozen=True)
class Table:
    """A task's rows: the features and the target column, checked."""

    features: pd.DataFrame
    target: pd.Series
    source: str


def read_table(data: DataSpec) -> Table:
    """The frame of ``data.source`` (a bundled set or a file) split into features and target,
    every refusal of the module's text checked."""
    if data.source in BUNDLED:
        if data.target not in (None, BUNDLED_TARGET):
            raise HarnessError(
                f"data.target: the bundled set {data.source!r} has its own target, so target "
                f"must be left out, but got {data.target!r}"
            )
        frame, target, where = BUNDLED[data.source][1](), BUNDLED_TARGET, data.source
        # digits' border pixels are 0 in every image: dropped here (a user's file is refused)
        frame = frame.loc[:, (frame.nunique() > 1) | (frame.columns == target)]
    else:
        frame, where = _read_file(Path(data.source)), data.source
        if data.target is None:
            raise HarnessError(f"{where}: data.target must name the column to predict")
        target = data.target
    _check_columns(where, frame, [target, *(data.categorical or ())])
    _check_values(where, frame, target)
    return Table(frame.drop(columns=target), frame[target], where)


def _read_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise HarnessError(f"data.source: no such file {str(path)!r}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".csv", ".gz"):
            return pd.read_csv(path)
    except ImportError as err:  # pandas reads Parquet through pyarrow or fastparquet
        raise HarnessError(f"{path}: reading Parquet needs pyarrow ({err})") from None
    except (ValueError, OSError) as err:
        raise HarnessError(f"{path}: cannot be read as a table ({err})") from None
    raise HarnessError(
        f"data.source must be a .csv or .parquet file, or one of {[ADULT, *BUNDLED]}, "
        f"but got {str(path)!r}"
    )


def _check_columns(where: str, frame: pd.DataFrame, named: list[str]) -> None:
    for name in named:
        if name not in frame.columns:
            raise HarnessError(
                f"{where}: unknown column {name!r}; the columns are {list(map(str, frame.columns))}"
            )


def _check_values(where: str, frame: pd.DataFrame, target: str) -> None:
    if len(frame) < 10:
        raise HarnessError(f"{where}: at least 10 rows are needed to split, but got {len(frame)}")
    missing = frame.isna().sum()
    if missing.any():
        column = str(missing[missing > 0].index[0])
        row = int(frame[column].isna().to_numpy().argmax()) + 1
        raise HarnessError(
            f"{where}: column {column!r} has {int(missing[column])} missing value(s) (first at "
            f"data row {row}); fill or drop them before using the file"
        )
    for column in frame.columns:
        if frame[column].nunique() == 1:
            what = "the target holds one class only" if column == target else "a constant column"
            raise HarnessError(
                f"{where}: column {str(column)!r} is {what} "
                f"(every row is {_plain(frame[column].iloc[0])!r}); it carries no information"
            )


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (``0.0``, not ``np.float64(0.0)``)."""
    return value.item() if hasattr(value, "item") else value


def infer_kind(target: pd.Series) -> TaskKind:
    """The kind of a target column (module's text)."""
    if target.nunique() == 2:
        return "binary"
    if not is_numeric_dtype(target) or is_bool_dtype(target):
        return "multiclass"
    integral = bool((target == target.round()).all())
    return "multiclass" if integral and target.nunique() <= MAX_CLASSES else "regression"


def categorical_columns(features: pd.DataFrame) -> tuple[str, ...]:
    """The columns whose values are not numbers (booleans count as categories)."""
    return tuple(
        str(c)
        for c in features.columns
        if not is_numeric_dtype(features[c]) or is_bool_dtype(features[c])
    )


def resolve_data(data: DataSpec) -> DataSpec:
    """``data`` with its kind and categorical columns known, after every check of the module's
    text passed; the lab's Adult needs none (binary, its own columns)."""
    if data.source == ADULT:
        if data.kind not in (None, "binary") or data.target or data.categorical:
            raise HarnessError(
                "data: the adult source is the lab's binary task with its own target and "
                "columns; leave kind, target and categorical out"
            )
        return replace(data, kind="binary")
    table = read_table(data)
    kind = data.kind or _bundled_kind(data.source) or infer_kind(table.target)
    if kind == "regression" and not _numeric(table.target):
        example = _plain(table.target.iloc[0])
        raise HarnessError(
            f"{table.source}: kind 'regression' needs a numeric target, but column "
            f"{table.target.name!r} holds {example!r}"
        )
    if kind == "binary" and table.target.nunique() != 2:
        raise HarnessError(
            f"{table.source}: kind 'binary' needs a target with 2 classes, but "
            f"{table.target.name!r} has {table.target.nunique()}"
        )
    categorical = data.categorical
    if categorical is None:
        categorical = categorical_columns(table.features)
    return replace(data, kind=kind, categorical=tuple(categorical))


def _bundled_kind(source: str) -> TaskKind | None:
    return BUNDLED[source][0] if source in BUNDLED else None


def _numeric(series: pd.Series) -> Any:
    return is_numeric_dtype(series) and not is_bool_dtype(series)
