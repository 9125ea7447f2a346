"""Aggregates over tasks of normalised regret (harness.report.across_tasks): the interquartile
mean and the probability of improvement with stratified-bootstrap intervals (Agarwal et al.
2021, rliable's definitions), and kurobako's per-task ranks (Borda counts and firsts).

rliable itself is not used: its bootstrap (``rliable.library``) imports ``arch`` < 8, which
fails to import under pandas 3 (it calls a private pandas decorator whose signature changed).
Its stratified bootstrap is the same thing as ``scipy.stats.bootstrap`` given one sample per
task, since SciPy resamples each sample on its own: the samples here are each task's repeat
indices, so repeats are drawn with replacement within each task, the tasks are held fixed,
and all samplers share the drawn repeats (repeat r runs every sampler with seed r), as
rliable's ``StratifiedBootstrap`` shares them. The tests across tasks are in
``across_tasks_tests``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats as scipy_stats

from harness.report.across_tasks import ScoreTable
from harness.report.anytime import IQM_CUT, MIN_REPEATS_FOR_CI
from harness.report.config import ACROSS_TASKS_BOOTSTRAP, ALPHA, Bootstrap

MIN_REPEATS_PER_TASK = 2  # a stratum of one repeat has nothing to resample (SciPy refuses it)
# No direction is read from a probability-of-improvement interval unless every task has at
# least this many repeats: a percentile bootstrap of n values spreads as (n - 1) / n of their
# variance and has normal, not t, tails, so it covers less than its level when n is small. For
# the mean of n normal values a nominal 95% percentile interval covers about 75% at n = 3, 84%
# at n = 5 and 90% at n = 10 (4,000 simulated samples, 1,000 resamples each); 10 is also where
# the anytime sections start drawing bootstrap bands (anytime.MIN_REPEATS_FOR_CI).
MIN_REPEATS_FOR_DIRECTION = MIN_REPEATS_FOR_CI


@dataclass(frozen=True)
class Interval:
    """An estimate with its percentile-bootstrap interval (NaN ends: no interval)."""

    estimate: float
    low: float
    high: float

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)


@dataclass(frozen=True)
class Aggregates:
    """Each sampler's IQM of normalised regret over every (task, repeat), and each ordered pair
    (a, b) of the first before the second in ``samplers``: P(a's regret < b's), ties counting
    1/2, averaged over tasks. ``no_interval`` says why the intervals are NaN, if they are.

    The IQM intervals are each at ``confidence``; the pairs' intervals are simultaneous over
    the pairs (Bonferroni): each at ``improvement_confidence`` = 1 - (1 - confidence) / pairs.
    ``fewest_repeats`` is the fewest repeats of any task: below MIN_REPEATS_FOR_DIRECTION the
    intervals are descriptive and ``direction`` states none."""

    iqm: dict[str, Interval]
    improvement: dict[tuple[str, str], Interval]
    confidence: float
    resamples: int
    no_interval: str | None
    improvement_confidence: float = math.nan
    fewest_repeats: int = 0

    @property
    def pairs(self) -> int:
        return len(self.improvement)

    @property
    def descriptive(self) -> bool:
        """Too few repeats on some task for a percentile bootstrap interval to be trusted."""
        return self.fewest_repeats < MIN_REPEATS_FOR_DIRECTION

    def direction(self, a: str, b: str) -> tuple[str, str] | None:
        """(better, worse) where pair (a, b)'s simultaneous interval excludes 0.5 and every
        task has enough repeats to trust it; else None."""
        value = self.improvement[(a, b)]
        if not value.has_interval or self.descriptive:
            return None
        if value.low > 0.5:
            return a, b
        if value.high < 0.5:
            return b, a
        return None


def simultaneous_confidence(pairs: int, confidence: float) -> float:
    """Each of ``pairs`` intervals' level for all to hold together at ``confidence``
    (Bonferroni: the family-wise error 1 - confidence split evenly over the pairs)."""
    return 1 - (1 - confidence) / max(1, pairs)


def _statistic(
    regrets: list[np.ndarray], pairs: list[tuple[int, int]]
) -> Callable[..., np.ndarray]:
    """The vectorised statistic: index arrays (one per task, batch first) -> the samplers'
    IQMs then the pairs' PIs, with the batch as the last axis (as scipy.stats.bootstrap
    concatenates batches)."""

    def statistic(*indices: np.ndarray, axis: int = -1) -> np.ndarray:
        drawn = [r[np.asarray(i)] for r, i in zip(regrets, indices, strict=True)]  # (.., n, k)
        pooled = np.concatenate(drawn, axis=-2)
        iqm = scipy_stats.trim_mean(pooled, IQM_CUT, axis=-2)  # (.., k)
        pis = [
            np.mean([_improvement(d[..., a], d[..., b]) for d in drawn], axis=0) for a, b in pairs
        ]
        out = np.concatenate([iqm, np.stack(pis, axis=-1)], axis=-1) if pis else iqm
        return np.moveaxis(out, -1, 0)

    return statistic


def _improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X < Y) + P(X = Y)/2 over every pair of repeats (Mann-Whitney's U / (n m)): the
    probability that a draw of x has lower regret than a draw of y."""
    xs, ys = x[..., :, None], y[..., None, :]
    return ((xs < ys).mean(axis=(-2, -1))) + 0.5 * ((xs == ys).mean(axis=(-2, -1)))


def _bootstrap_ends(
    indices: list[np.ndarray],
    statistic: Callable[..., np.ndarray],
    bootstrap: Bootstrap,
    k: int,
    pair_confidence: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The intervals' ends: the first ``k`` (the IQMs) at ``bootstrap.confidence``, SciPy's
    own; the rest (the pairs) at ``pair_confidence``, percentiles of the same resamples."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a constant statistic
        result = scipy_stats.bootstrap(
            tuple(indices),
            statistic,
            vectorized=True,
            n_resamples=bootstrap.resamples,
            confidence_level=bootstrap.confidence,
            method="percentile",
            rng=np.random.default_rng(bootstrap.seed),
        )
    low, high = (np.array(end, dtype=float) for end in result.confidence_interval)
    tail = 100 * (1 - pair_confidence) / 2
    distribution = np.asarray(result.bootstrap_distribution)[k:]
    if distribution.size:
        low[k:], high[k:] = np.percentile(distribution, [tail, 100 - tail], axis=-1)
    return low, high


def aggregates(scores: ScoreTable, bootstrap: Bootstrap = ACROSS_TASKS_BOOTSTRAP) -> Aggregates:
    """IQMs and probabilities of improvement with their stratified-bootstrap intervals (the
    pairs' simultaneous over the pairs)."""
    samplers, k = scores.samplers, len(scores.samplers)
    pairs = list(combinations(range(k), 2))
    pair_confidence = simultaneous_confidence(len(pairs), bootstrap.confidence)
    regrets = [t.regret for t in scores.tasks]
    statistic = _statistic(regrets, pairs)
    indices = [np.arange(r.shape[0]) for r in regrets]
    estimate = statistic(*indices)
    low = high = np.full(estimate.shape, np.nan)
    thin = [t.info.name for t in scores.tasks if len(t.repeats) < MIN_REPEATS_PER_TASK]
    reason = None
    if thin:
        reason = (
            f"the stratified bootstrap resamples repeats within each task and needs at least "
            f"{MIN_REPEATS_PER_TASK} per task, but {', '.join(thin)} "
            f"{'has' if len(thin) == 1 else 'have'} fewer"
        )
    else:
        low, high = _bootstrap_ends(indices, statistic, bootstrap, k, pair_confidence)
    ends = zip(estimate, low, high, strict=True)
    values = [Interval(float(e), float(lo), float(hi)) for e, lo, hi in ends]
    iqm = dict(zip(samplers, values[:k], strict=True))
    improvement = {
        (samplers[a], samplers[b]): v for (a, b), v in zip(pairs, values[k:], strict=True)
    }
    fewest = min((len(t.repeats) for t in scores.tasks), default=0)
    return Aggregates(
        iqm, improvement, bootstrap.confidence, bootstrap.resamples, reason, pair_confidence, fewest
    )


@dataclass(frozen=True)
class Borda:
    """kurobako's ranking: on each task each pair is compared by a two-sided Mann-Whitney U
    test over repeats at the Šidák level ``level`` (the family-wise error over the pairs at
    ALPHA); a sampler's rank on a task is 1 + the samplers that beat it there, its Borda count
    the samplers it beats summed over tasks, its firsts the tasks where none beats it.
    ``floor`` is the smallest p-value the test can give with the fewest repeats of any task."""

    ranks: np.ndarray  # tasks x samplers
    borda: np.ndarray
    firsts: np.ndarray
    level: float
    floor: float


def sidak_level(samplers: int, alpha: float = ALPHA) -> float:
    """The per-pair level that holds the family-wise error over every pair at ``alpha``
    (kurobako rounds it down to a list of candidates; this is the exact value)."""
    pairs = max(1, math.comb(samplers, 2))
    return 1 - (1 - alpha) ** (1 / pairs)


def borda(scores: ScoreTable, alpha: float = ALPHA) -> Borda:
    k = len(scores.samplers)
    level = sidak_level(k, alpha)
    beats = np.zeros((len(scores.tasks), k, k), dtype=bool)  # [task, a, b]: a beats b
    for t, task in enumerate(scores.tasks):
        for a, b in combinations(range(k), 2):
            x, y = task.regret[:, a], task.regret[:, b]
            if np.array_equal(np.sort(x), np.sort(y)):
                continue  # the same values: SciPy's p is 1, or NaN when all are equal
            p = scipy_stats.mannwhitneyu(x, y, alternative="two-sided").pvalue
            if p < level:
                better = _improvement(x, y) > 0.5
                beats[t, a, b], beats[t, b, a] = better, not better
    ranks = 1 + beats.sum(axis=1)  # how many beat each sampler, plus one
    fewest = min((len(t.repeats) for t in scores.tasks), default=0)
    floor = 2 / math.comb(2 * fewest, fewest) if fewest else math.nan
    return Borda(ranks, beats.sum(axis=(0, 2)), (ranks == 1).sum(axis=0), level, min(1.0, floor))
