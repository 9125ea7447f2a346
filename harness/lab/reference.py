"""A gradient-boosting reference: how far a strong non-neural model gets on the same data.

scikit-learn's ``HistGradientBoostingClassifier`` on exactly the MLPs' split and features
(``Splits`` of the same variant and training subset), scored like them: AUROC on test, and
F1 / precision / recall on test at the F1-optimal threshold chosen on validation.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from harness.engine.metrics import score
from harness.lab.data import Splits

MODEL = "HistGradientBoostingClassifier"
# Defaults of scikit-learn except: more iterations allowed, with early stopping always on
# (it holds out 10% of train, drawn with random_state=seed: that is what the seed varies).
SETTINGS: dict[str, Any] = {
    "learning_rate": 0.1,
    "max_iter": 1000,
    "max_leaf_nodes": 31,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
}
DEFAULT_SEEDS = (0, 1, 2)


def reference_record(splits: Splits, seed: int) -> dict[str, Any]:
    """Fit once with ``random_state=seed``; a flat record like the MLPs' retrain records."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(random_state=seed, **SETTINGS)
    started = time.perf_counter()
    model.fit(splits.x_train, splits.y_train.ravel().astype(int))
    seconds = time.perf_counter() - started
    val_probs = model.predict_proba(splits.x_valid)[:, 1]
    test_probs = model.predict_proba(splits.x_test)[:, 1]
    valid = score(splits.y_valid, val_probs, loss=_log_loss(splits.y_valid, val_probs))
    test = score(
        splits.y_test,
        test_probs,
        loss=_log_loss(splits.y_test, test_probs),
        threshold=valid.threshold,
    )
    return {
        "model": MODEL,
        "seed": seed,
        "status": "ok",
        "iterations": int(model.n_iter_),
        "seconds": seconds,
        "val_auroc": valid.auroc,
        "threshold": valid.threshold,
        "test_auroc": test.auroc,
        "test_f1": test.f1,
        "test_precision": test.precision,
        "test_recall": test.recall,
    }


def _log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    y = labels.ravel()
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def reference_records(
    splits: Splits, seeds: tuple[int, ...] | list[int] = DEFAULT_SEEDS
) -> list[dict[str, Any]]:
    """One record per seed, in order."""
    return [reference_record(splits, seed) for seed in seeds]
