"""The retrained models' test-row probabilities, kept for the test split's sampling error.

One compressed NumPy file per study, ``runs/RUN/predictions/<sampler>-r<repeat>.npz``: the
positive-class probability of every test row for each retraining seed (float32, seeds x rows)
and the rows' labels (int8). About 100 kB a study; JSON would hold the same numbers in ten
times the space and lose float32's exactness. Written atomically (harness.files.replacing),
before the retrain record that names it, so a record never names a file that is not whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.files import replacing

FOLDER = "predictions"


@dataclass(frozen=True)
class TestPredictions:
    """One study's retrained models on the test split."""

    probabilities: np.ndarray  # (seeds, rows), float32
    labels: np.ndarray  # (rows,), 0 or 1
    seeds: np.ndarray  # (seeds,)


def predictions_name(sampler: str, repeat: int, task: str | None = None) -> str:
    """The file's path relative to the run folder (what a retrain record stores); a run of
    several tasks names the task too."""
    return (
        f"{FOLDER}/{sampler}-r{repeat}.npz"
        if task is None
        else f"{FOLDER}/{task}-{sampler}-r{repeat}.npz"
    )


def write_predictions(path: Path, predictions: TestPredictions) -> None:
    with replacing(path) as temporary, temporary.open("wb") as handle:
        np.savez_compressed(
            handle,
            probabilities=predictions.probabilities.astype(np.float32),
            labels=predictions.labels.astype(np.int8),
            seeds=predictions.seeds.astype(np.int64),
        )


def read_predictions(path: Path) -> TestPredictions | None:
    """The file's arrays; None when it is absent (a run retrained before they were kept)."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            found = TestPredictions(
                np.asarray(data["probabilities"], dtype=np.float64),
                np.asarray(data["labels"]).astype(int),
                np.asarray(data["seeds"]),
            )
    except (OSError, ValueError, KeyError) as err:
        raise HarnessError(
            f"{path}: must be the test predictions 'harness compare' wrote, but it cannot be "
            f"read ({err})"
        ) from None
    rows = found.labels.shape[0]
    if found.probabilities.ndim != 2 or found.probabilities.shape[1] != rows:
        raise HarnessError(
            f"{path}: probabilities must be seeds x {rows} rows, but they are "
            f"{found.probabilities.shape}"
        )
    return found
