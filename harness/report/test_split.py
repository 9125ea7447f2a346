"""The test split's own sampling error: DeLong's standard errors over test rows.

The verdict's pairs vary by training seed and by search; all of them are scored on one fixed
test split of 6,513 rows. A new sample of test rows would move every AUROC, and DeLong's
variance (DeLong, DeLong and Clarke-Pearson 1988, with Sun and Xu's 2014 midrank placements)
says by how much: an AUROC is a mean of per-row placement values, so its variance (and that
of any linear combination of AUROCs on the same rows, such as a pair's difference of K-seed
means) follows from the placements' variances over positive and negative rows.

Hand-written: neither SciPy, statsmodels nor scikit-learn gives DeLong's variance; the
midranks are ``scipy.stats.rankdata``'s, and the tests check the AUROC against scikit-learn
and the standard error against a paired bootstrap over rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from harness.experiment.predictions import read_predictions


def placements(labels: np.ndarray, scores: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(AUROC, placement of each positive row, placement of each negative row): a positive's
    placement is the fraction of negatives it outranks (ties count one half), a negative's
    the fraction of positives that outrank it; the AUROC is the mean of either."""
    y = np.asarray(labels).ravel().astype(bool)
    s = np.asarray(scores, dtype=float).ravel()
    positive, negative = s[y], s[~y]
    m, n = positive.size, negative.size
    if m == 0 or n == 0:
        return math.nan, np.empty(0), np.empty(0)
    both = scipy_stats.rankdata(np.concatenate([positive, negative]))
    of_positive = (both[:m] - scipy_stats.rankdata(positive)) / n
    of_negative = 1.0 - (both[m:] - scipy_stats.rankdata(negative)) / m
    return float(of_positive.mean()), of_positive, of_negative


def delong_se(labels: np.ndarray, first: np.ndarray, second: np.ndarray | None = None) -> float:
    """DeLong's standard error of ``mean AUROC(first rows)`` (rows: one model per seed), or of
    ``mean AUROC(first) - mean AUROC(second)`` when ``second`` is given, both scored on the
    same test rows ``labels`` (the pairing that makes the difference's error small)."""

    def averaged(models: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [placements(labels, row)[1:] for row in np.atleast_2d(models)]
        return np.mean([p for p, _ in parts], axis=0), np.mean([q for _, q in parts], axis=0)

    pos, neg = averaged(first)
    if second is not None:
        pos_b, neg_b = averaged(second)
        pos, neg = pos - pos_b, neg - neg_b
    if pos.size < 2 or neg.size < 2:
        return math.nan
    return math.sqrt(np.var(pos, ddof=1) / pos.size + np.var(neg, ddof=1) / neg.size)


@dataclass(frozen=True)
class SplitError:
    """The test split's sampling error over a run's pairs."""

    pair_se: dict[int, float]  # repeat -> the SE of its pair's difference (where stored)
    model_se: list[float]  # per study with stored predictions: the SE of its K-seed mean
    mean_se: float | None  # the SE of the mean difference over the pairs in pair_se
    pairs: int  # pairs in the verdict
    rows: int  # test rows

    @property
    def covered(self) -> int:
        return len(self.pair_se)


def split_error(
    run_folder: Path, retrain: dict[str, Any] | None, pair: tuple[str, str], repeats: list[int]
) -> SplitError | None:
    """DeLong's SE of each pair's difference and of each study's mean, from the test-row
    probabilities stored beside the retrain records; None when no record has them."""
    records = {
        (r.get("sampler"), r.get("repeat")): r
        for r in (retrain or {"records": []})["records"]
        if r.get("predictions")
    }
    loaded = {
        key: read_predictions(run_folder / str(r["predictions"])) for key, r in records.items()
    }
    found = {key: value for key, value in loaded.items() if value is not None}
    if not found:
        return None
    labels = next(iter(found.values())).labels
    rows = labels.size
    model_se = [delong_se(p.labels, p.probabilities) for p in found.values()]
    pair_se, firsts, seconds = {}, [], []
    for repeat in repeats:
        a, b = found.get((pair[0], repeat)), found.get((pair[1], repeat))
        if a is not None and b is not None and np.array_equal(a.labels, b.labels):
            pair_se[repeat] = delong_se(a.labels, a.probabilities, b.probabilities)
            firsts.append(a.probabilities)
            seconds.append(b.probabilities)
    # The mean over pairs of (mean of A's K seeds - mean of B's) is the mean of all A models
    # less the mean of all B models when every study has K seeds: one DeLong variance.
    same_k = len({f.shape[0] for f in firsts + seconds}) == 1
    mean_se = (
        delong_se(labels, np.vstack(firsts), np.vstack(seconds)) if firsts and same_k else None
    )
    return SplitError(pair_se, model_se, mean_se, len(repeats), rows)
