"""harness.engine.metrics against scikit-learn and brute force on small hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from harness.engine.metrics import auroc, epoch_auroc, f1_optimal_threshold, score

# (id, labels, positive-class probabilities)
CASES = [
    ("separable", [0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9]),
    ("one swap", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
    ("reversed", [1, 1, 0, 0], [0.1, 0.2, 0.7, 0.9]),
    ("ties", [0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.2, 0.9, 0.3, 0.3]),
    (
        "imbalanced",
        [0, 0, 0, 0, 0, 0, 0, 1, 0, 1],
        [0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.55, 0.6, 0.9],
    ),
    ("hand-worked", [0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.6, 0.9]),
    ("all equal", [0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]),
]
IDS = [c[0] for c in CASES]
PAIRS = [c[1:] for c in CASES]


def _sklearn_at(labels, probabilities, threshold):
    predicted = (np.asarray(probabilities) >= threshold).astype(int)
    return (
        f1_score(labels, predicted, zero_division=0),
        precision_score(labels, predicted, zero_division=0),
        recall_score(labels, predicted, zero_division=0),
    )


def _brute_force_best_f1(labels, probabilities):
    """Best F1 over every candidate threshold (each distinct probability), with its threshold."""
    return max((_sklearn_at(labels, probabilities, t)[0], t) for t in sorted(set(probabilities)))


@pytest.mark.parametrize(("labels", "probabilities"), PAIRS, ids=IDS)
def test_auroc_matches_sklearn(labels, probabilities):
    assert auroc(np.array(labels), np.array(probabilities)) == pytest.approx(
        roc_auc_score(labels, probabilities), abs=1e-12
    )


@pytest.mark.parametrize(("labels", "probabilities"), PAIRS, ids=IDS)
@pytest.mark.parametrize("threshold", [0.0, 0.25, 0.3, 0.5, 0.65, 0.95])
def test_f1_precision_recall_at_a_threshold_match_sklearn(labels, probabilities, threshold):
    got = score(np.array(labels), np.array(probabilities), loss=0.0, threshold=threshold)
    f1, precision, recall = _sklearn_at(labels, probabilities, threshold)
    assert got.threshold == threshold
    assert got.f1 == pytest.approx(f1, abs=1e-12)
    assert got.precision == pytest.approx(precision, abs=1e-12)
    assert got.recall == pytest.approx(recall, abs=1e-12)


@pytest.mark.parametrize(("labels", "probabilities"), PAIRS, ids=IDS)
def test_f1_optimal_threshold_reaches_the_brute_force_best_f1(labels, probabilities):
    best_f1, _ = _brute_force_best_f1(labels, probabilities)
    threshold = f1_optimal_threshold(np.array(labels), np.array(probabilities))
    assert threshold in set(probabilities)
    assert _sklearn_at(labels, probabilities, threshold)[0] == pytest.approx(best_f1, abs=1e-12)
    chosen = score(np.array(labels), np.array(probabilities), loss=0.0)
    assert chosen.threshold == threshold
    assert chosen.f1 == pytest.approx(best_f1, abs=1e-12)


def test_f1_optimal_threshold_worked_by_hand():
    # labels 0 0 1 0 1 1 at probabilities .1 .2 .3 .4 .6 .9; predicting p >= t:
    #   t=.1: P 3/6 R 1 F1 .667   t=.2: P 3/5 R 1 F1 .75    t=.3: P 3/4 R 1 F1 6/7 (best)
    #   t=.4: P 2/3 R 2/3 F1 .667 t=.6: P 1 R 2/3 F1 .8     t=.9: P 1 R 1/3 F1 .5
    labels = np.array([0, 0, 1, 0, 1, 1])
    probabilities = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.9])
    assert _brute_force_best_f1(labels, probabilities) == (pytest.approx(6 / 7), 0.3)
    got = score(labels, probabilities, loss=0.25)
    assert got.threshold == 0.3
    assert got.f1 == pytest.approx(6 / 7)
    assert got.precision == pytest.approx(3 / 4)
    assert got.recall == 1.0
    assert got.loss == 0.25


def test_a_passed_threshold_is_used_as_is():
    labels = np.array([0, 0, 1, 0, 1, 1])
    probabilities = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.9])
    got = score(labels, probabilities, loss=0.0, threshold=0.6)  # optimum would be 0.3
    assert got.threshold == 0.6
    assert got.f1 == pytest.approx(0.8)
    assert got.precision == 1.0
    assert got.recall == pytest.approx(2 / 3)
    # a threshold between two probabilities is kept as given, not snapped to a candidate
    between = score(labels, probabilities, loss=0.0, threshold=0.5)
    assert between.threshold == 0.5
    assert between.f1 == pytest.approx(0.8)


def test_labels_and_probabilities_may_be_column_vectors():
    labels = np.array([[0.0], [1.0], [0.0], [1.0]], dtype=np.float32)
    probabilities = np.array([[0.2], [0.8], [0.4], [0.3]], dtype=np.float32)
    got = score(labels, probabilities, loss=0.0)
    assert got.auroc == pytest.approx(roc_auc_score(labels.ravel(), probabilities.ravel()))


@pytest.mark.filterwarnings("ignore:No positive class found:UserWarning")
@pytest.mark.parametrize("label", [0, 1])
def test_single_class_auroc_is_nan(label):
    labels = np.full(4, label)
    probabilities = np.array([0.1, 0.2, 0.3, 0.4])
    assert math.isnan(auroc(labels, probabilities))
    assert math.isnan(score(labels, probabilities, loss=0.0).auroc)
    assert math.isnan(score(labels, probabilities, loss=0.0, threshold=0.5).auroc)


def test_scores_as_dict():
    got = score(np.array([0, 1]), np.array([0.2, 0.8]), loss=0.1)
    assert got.as_dict() == {
        "loss": 0.1,
        "auroc": 1.0,
        "threshold": 0.8,
        "f1": 1.0,
        "precision": 1.0,
        "recall": 1.0,
    }


@pytest.mark.parametrize("ties", [False, True])
def test_epoch_auroc_matches_sklearn(ties):
    rng = np.random.default_rng(0)
    labels = (rng.random(5210) < 0.24).astype(np.float32)
    scores = rng.normal(size=5210) + labels
    if ties:
        scores = np.round(scores, 1)  # many equal scores across both classes
    probabilities = 1 / (1 + np.exp(-scores))
    expected = auroc(labels, probabilities)
    got = epoch_auroc(torch.from_numpy(labels).long(), torch.from_numpy(probabilities).float())
    assert got == pytest.approx(expected, abs=1e-6)
