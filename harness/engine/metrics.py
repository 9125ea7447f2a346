"""The lab's ``evaluate_model``: AUROC, the F1-optimal threshold, and F1/precision/recall at it.

The threshold is chosen on validation and passed in for test (the lab's own loop re-optimised
it on test through a misspelt key: leakage this harness does not repeat).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from sklearn.metrics import (
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)
from torchmetrics.functional.classification import binary_auroc


@dataclass(frozen=True)
class Scores:
    loss: float
    auroc: float
    threshold: float
    f1: float
    precision: float
    recall: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def auroc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present (undefined)."""
    labels = np.asarray(labels).ravel()
    if labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, np.asarray(probabilities).ravel()))


def epoch_auroc(labels: torch.Tensor, probabilities: torch.Tensor) -> float:
    """AUROC of tensors where they are (torchmetrics, exact): the per-epoch validation
    AUROC without a device-to-host copy, about 6x cheaper than ``auroc`` (0.35 against
    2.2 ms for the 5,210 validation rows on CPU). Float32 sums: within 1e-6 of ``auroc``.
    ``labels`` are 0/1 integers and must hold both classes (the caller checks once)."""
    value = binary_auroc(probabilities.ravel(), labels.ravel(), validate_args=False)
    return float(value)


def f1_optimal_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The threshold that maximises F1 along the precision-recall curve (predict ``p >= t``)."""
    precision, recall, thresholds = precision_recall_curve(
        np.asarray(labels).ravel(), np.asarray(probabilities).ravel()
    )
    # The curve's last point (precision 1, recall 0) has no threshold; 0/0 counts as F1 = 0.
    denominator = precision[:-1] + recall[:-1]
    f1 = np.divide(
        2 * precision[:-1] * recall[:-1],
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(thresholds[int(np.argmax(f1))])


def score(
    labels: np.ndarray,
    probabilities: np.ndarray,
    loss: float,
    threshold: float | None = None,
) -> Scores:
    """All of the lab's metrics for one split; ``threshold=None`` picks the F1-optimal one."""
    labels = np.asarray(labels).ravel().astype(int)
    probabilities = np.asarray(probabilities, dtype=np.float64).ravel()
    if threshold is None:
        threshold = f1_optimal_threshold(labels, probabilities)
    predicted = (probabilities >= threshold).astype(int)
    return Scores(
        loss=float(loss),
        auroc=auroc(labels, probabilities),
        threshold=float(threshold),
        f1=float(f1_score(labels, predicted, zero_division=0)),
        precision=float(precision_score(labels, predicted, zero_division=0)),
        recall=float(recall_score(labels, predicted, zero_division=0)),
    )


def batched_auroc(labels: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """AUROC of each row of ``scores`` ``(K, n)`` against the same 0/1 ``labels`` ``(n,)``, in
    one batched pass where the tensors are (population training scores K members an epoch).

    The algorithm of scikit-learn's and torchmetrics' curves: sort by score, cumulative true
    and false positives at each distinct threshold (a run of tied scores counts once: its
    last point), trapezoids. torchmetrics takes one row at a time; this takes K in ~15
    launches. ``labels`` must hold both classes."""
    order = torch.argsort(scores, dim=1, descending=True)
    sorted_scores = torch.gather(scores, 1, order)
    hits = labels.to(scores.dtype)[order]
    true_pos, false_pos = hits.cumsum(1), (1 - hits).cumsum(1)
    run_end = torch.ones_like(sorted_scores, dtype=torch.bool)
    run_end[:, :-1] = sorted_scores[:, :-1] != sorted_scores[:, 1:]

    def at_run_ends(counts: torch.Tensor) -> torch.Tensor:
        # inside a run of ties, take the run's last count: a zero-width trapezoid
        counts = torch.where(run_end, counts, torch.full_like(counts, math.inf))
        return counts.flip(1).cummin(1).values.flip(1)

    true_pos, false_pos = at_run_ends(true_pos), at_run_ends(false_pos)
    zero = torch.zeros_like(true_pos[:, :1])
    tpr = torch.cat([zero, true_pos / true_pos[:, -1:]], dim=1)
    fpr = torch.cat([zero, false_pos / false_pos[:, -1:]], dim=1)
    return torch.trapezoid(tpr, fpr, dim=1)
