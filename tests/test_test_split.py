"""DeLong's standard errors over test rows (harness.report.test_split) against scikit-learn's
AUROC, the kernel definition of the placements, and a paired bootstrap over rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from harness.report.test_split import delong_se, placements


def _scores(rows: int, seed: int, shift: float = 1.0, ties: bool = False):
    rng = np.random.default_rng(seed)
    labels = (rng.random(rows) < 0.25).astype(int)
    scores = rng.normal(labels * shift, 1.0)
    if ties:
        scores = np.round(scores, 1)  # many tied scores, as float32 probabilities can have
    return labels, scores


@pytest.mark.parametrize("ties", [False, True])
def test_placements_give_scikit_learns_auroc_and_the_kernel_definition(ties):
    labels, scores = _scores(300, 0, ties=ties)
    auc, of_positive, of_negative = placements(labels, scores)
    assert auc == pytest.approx(roc_auc_score(labels, scores), rel=1e-12)
    positive, negative = scores[labels == 1], scores[labels == 0]
    kernel = (positive[:, None] > negative[None, :]) + 0.5 * (positive[:, None] == negative)
    assert of_positive == pytest.approx(kernel.mean(axis=1))
    assert of_negative == pytest.approx(kernel.mean(axis=0))
    assert of_negative.mean() == pytest.approx(auc)


def _bootstrap_se(labels, statistic, resamples: int = 1500, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        rows = rng.integers(0, labels.size, labels.size)
        if labels[rows].min() == labels[rows].max():
            continue
        values.append(statistic(rows))
    return float(np.std(values, ddof=1))


def test_delong_se_of_one_auroc_matches_a_bootstrap_over_rows():
    labels, scores = _scores(600, 2)
    se = delong_se(labels, scores)
    boot = _bootstrap_se(labels, lambda rows: roc_auc_score(labels[rows], scores[rows]))
    assert se == pytest.approx(boot, rel=0.1)


def test_delong_se_of_a_paired_difference_of_seed_means_matches_a_paired_bootstrap():
    """Two studies, three seeds each, scored on the same rows: the models share most of their
    signal, so the paired difference's error is far below either AUROC's."""
    rng = np.random.default_rng(3)
    labels = (rng.random(600) < 0.25).astype(int)
    signal = rng.normal(labels, 1.0)
    first = np.stack([signal + rng.normal(0, 0.3, 600) for _ in range(3)])
    second = np.stack([signal + 0.1 * labels + rng.normal(0, 0.3, 600) for _ in range(3)])

    def difference(rows):
        y = labels[rows]
        a = np.mean([roc_auc_score(y, row[rows]) for row in first])
        return a - np.mean([roc_auc_score(y, row[rows]) for row in second])

    se = delong_se(labels, first, second)
    assert se == pytest.approx(_bootstrap_se(labels, difference, resamples=500), rel=0.12)
    assert se < 0.5 * delong_se(labels, first), "pairing on the same rows cancels most error"
    assert delong_se(labels, first, first) == 0.0


def test_the_mean_differences_se_is_delongs_over_all_models(tmp_path):
    """split_error: per pair, and for the mean over pairs (all A models less all B models),
    from the stored predictions."""
    from harness.experiment.predictions import TestPredictions, write_predictions
    from harness.report.test_split import split_error

    rng = np.random.default_rng(5)
    labels = (rng.random(500) < 0.25).astype(int)
    signal = rng.normal(labels, 1.0)
    records, models = [], {}
    for repeat in range(3):
        for sampler in ("tpe", "random"):
            rows = np.stack([signal + rng.normal(0, 0.4, 500) for _ in range(2)])
            models[(sampler, repeat)] = rows
            name = f"predictions/{sampler}-r{repeat}.npz"
            write_predictions(tmp_path / name, TestPredictions(rows, labels, np.arange(2)))
            records.append({"sampler": sampler, "repeat": repeat, "predictions": name})
    error = split_error(tmp_path, {"records": records}, ("tpe", "random"), [0, 1, 2])
    assert error.covered == 3 and error.rows == 500 and len(error.model_se) == 6
    for repeat in range(3):
        expected = delong_se(labels, models[("tpe", repeat)], models[("random", repeat)])
        assert error.pair_se[repeat] == pytest.approx(expected, rel=1e-5)  # float32 on disk
    every = [np.vstack([models[(s, r)] for r in range(3)]) for s in ("tpe", "random")]
    assert error.mean_se == pytest.approx(delong_se(labels, *every), rel=1e-5)
    assert error.mean_se < max(error.pair_se.values())
