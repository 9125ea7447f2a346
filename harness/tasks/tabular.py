"""A task's splits: its table split and encoded as the lab encodes Adult.

The rows are split twice with ``train_test_split`` (``test_fraction`` of all rows for test,
then ``valid_fraction`` of the rest for validation; stratified by class for binary and
multiclass tasks; ``random_state=split_seed``); a ``ColumnTransformer`` fitted on the training
rows only standardises the numeric columns and one-hot encodes the categorical ones
(``handle_unknown="ignore"``: a category seen only in validation or test is all zeros).
Labels: 0/1 for binary (the larger of the two sorted values is 1), class indices 0..C-1 for
multiclass, and for regression the target standardised with the training rows' mean and
standard deviation (the net trains on that scale; RMSE is reported in the target's units).
The lab's Adult is ``harness.lab.data``'s, unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from harness.engine.splits import Splits
from harness.errors import HarnessError
from harness.tasks.frames import read_table
from harness.tasks.spec import ADULT, DataSpec


def load_task_splits(data: DataSpec) -> Splits:
    """The splits of a resolved task's data (kind known); cached per process, so a worker
    that trains trial after trial reads and encodes its table once."""
    if data.kind is None:
        raise HarnessError(f"the data of {data.source!r} must be resolved (kind known) first")
    splits = _cached(replace(data, train_rows=None))
    return splits if data.train_rows is None else splits.subset(data.train_rows)


@cache
def _cached(data: DataSpec) -> Splits:
    if data.source == ADULT:
        from harness.lab.data import load_splits

        return load_splits(variant=data.variant)
    table = read_table(data)
    labels, classes = _labels(data, table.target)
    stratify = labels if data.kind != "regression" else None
    try:
        x_rest, x_test, y_rest, y_test = train_test_split(
            table.features,
            labels,
            test_size=data.test_fraction,
            random_state=data.split_seed,
            stratify=stratify,
        )
        x_train, x_valid, y_train, y_valid = train_test_split(
            x_rest,
            y_rest,
            test_size=data.valid_fraction,
            random_state=data.split_seed,
            stratify=y_rest if stratify is not None else None,
        )
    except ValueError as err:  # a class too small to stratify, too few rows for a split
        raise HarnessError(f"{table.source}: cannot be split ({err})") from None
    encoder = _encoder(table.features, data.categorical or ())
    encoder.fit(x_train)
    scale, y_train, y_valid, y_test = _scaled(data, y_train, y_valid, y_test)
    return Splits(
        encoder.transform(x_train).astype(np.float32),
        y_train,
        encoder.transform(x_valid).astype(np.float32),
        y_valid,
        encoder.transform(x_test).astype(np.float32),
        y_test,
        [str(name) for name in encoder.get_feature_names_out()],
        variant="-",
        source=table.source,
        kind=data.kind or "binary",
        classes=classes,
        target_scale=scale,
    )


def _encoder(features: pd.DataFrame, categorical: tuple[str, ...]) -> ColumnTransformer:
    numeric = [str(c) for c in features.columns if str(c) not in categorical]
    return ColumnTransformer(
        [
            ("numeric", StandardScaler(), numeric),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(categorical),
            ),
        ],
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )


def _labels(data: DataSpec, target: pd.Series) -> tuple[np.ndarray, int]:
    """The target as the kind's labels (module's text), and the net's class count."""
    if data.kind == "regression":
        return target.to_numpy(dtype=np.float64), 1
    values = sorted(target.unique().tolist())
    codes = target.map({value: index for index, value in enumerate(values)}).to_numpy()
    if data.kind == "binary":
        return codes.astype(np.float32), 2
    return codes.astype(np.int64), len(values)


def _scaled(
    data: DataSpec, y_train: np.ndarray, y_valid: np.ndarray, y_test: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Labels in the shapes the losses expect: (n, 1) float32 for binary and regression (the
    latter standardised on train), (n,) int64 for multiclass; and the regression's scale."""
    if data.kind == "multiclass":
        return 1.0, y_train, y_valid, y_test
    if data.kind == "binary":
        return 1.0, y_train.reshape(-1, 1), y_valid.reshape(-1, 1), y_test.reshape(-1, 1)
    mean, std = float(y_train.mean()), float(y_train.std()) or 1.0

    def standardised(y: np.ndarray) -> np.ndarray:
        return ((y - mean) / std).astype(np.float32).reshape(-1, 1)

    return std, standardised(y_train), standardised(y_valid), standardised(y_test)
