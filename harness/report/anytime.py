"""Anytime performance of samplers, as HPO benchmarks report it: numbers on plain arrays.

- Regret against a best-known value, normalised by random search's *expected* best of n
  trials (Bayesmark): 0 is the best value known, 1 is what random search finds on average
  with the same number of trials.
- The interquartile mean over repeats (CARP-S, HPOBench) with a bootstrap interval once there
  are enough repeats, and otherwise the plain range of the repeats, labelled as such.
- Win probabilities of sampler pairs at fixed budgets, and trials-to-target as a
  Kaplan-Meier ECDF where repeats that never reached the target are right-censored.

The report's sections (harness.report.anytime_sections) only format these.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from harness.errors import HarnessError
from harness.report.config import CONFIDENCE, IQM_BOOTSTRAP

MIN_REPEATS_FOR_CI = 10  # below this a bootstrap interval of 3-9 repeats is mostly [min, max]
IQM_CUT = 0.25  # scipy.stats.trim_mean cuts floor(0.25 n) values from each end


def expected_best_of_n(
    values: Sequence[float] | np.ndarray, n: int | Sequence[int] | np.ndarray, maximize: bool = True
) -> np.ndarray:
    """Expected best of ``n`` draws with replacement from ``values`` (exact, not sampled).

    With the values sorted ascending, v_(1) <= ... <= v_(N), the maximum of n draws is at
    most v_(i) with probability (i/N)^n, so E[max] = sum_i v_(i) [(i/N)^n - ((i-1)/N)^n].
    For minimisation the same formula runs on the negated values.
    """
    v = np.asarray(values, dtype=float)
    v = np.sort(v[np.isfinite(v)] if maximize else -v[np.isfinite(v)])
    if v.size == 0:
        raise HarnessError("the expected best of n draws needs at least one value, but got 0")
    counts = np.atleast_1d(np.asarray(n, dtype=float))
    if (counts < 1).any():
        raise HarnessError(f"n >= 1 must hold, but got n={counts.min():g}")
    fraction = np.arange(v.size + 1) / v.size  # 0, 1/N, ..., 1
    cdf = fraction[None, :] ** counts[:, None]  # P(max <= v_(i)) for each n
    best = (np.diff(cdf, axis=1) * v[None, :]).sum(axis=1)
    return best if maximize else -best


def normalised_regret(
    best_so_far: np.ndarray,
    best_known: float,
    reference: np.ndarray | float | None,
    maximize: bool = True,
) -> np.ndarray:
    """(best known - best so far) / (best known - reference), mirrored for minimisation.

    ``reference`` is random search's expected best of the same number of trials, so 0 means
    the best value known and 1 random search's expectation. Without a reference (None), the
    plain regret in the objective's units. A reference equal to the best known gives NaN.
    """
    sign = 1.0 if maximize else -1.0
    regret = sign * (best_known - np.asarray(best_so_far, dtype=float))
    if reference is None:
        return regret
    scale = sign * (best_known - np.asarray(reference, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, regret / np.where(scale > 0, scale, 1.0), np.nan)


def iqm(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Interquartile mean: scipy.stats.trim_mean with 25% cut from each end (with fewer than
    4 values nothing is cut, so it is the mean)."""
    return scipy_stats.trim_mean(np.asarray(values, dtype=float), IQM_CUT, axis=axis)


@dataclass(frozen=True)
class Aggregate:
    """The IQM over repeats at each point, and a band: the range of the repeats when there
    are fewer than MIN_REPEATS_FOR_CI, else a percentile-bootstrap CI of the IQM."""

    centre: np.ndarray
    low: np.ndarray
    high: np.ndarray
    repeats: int
    is_ci: bool
    confidence: float

    @property
    def band_label(self) -> str:
        return band_label(self.repeats, self.confidence)


def band_label(repeats: int, confidence: float = CONFIDENCE) -> str:
    """What the band around the IQM is, in words for a legend or a table header."""
    if repeats >= MIN_REPEATS_FOR_CI:
        return f"{100 * confidence:.0f}% bootstrap CI of the IQM ({repeats} repeats)"
    return f"range (min-max) of the {repeats} repeats, not a CI"


def aggregate(
    matrix: np.ndarray,
    *,
    confidence: float = IQM_BOOTSTRAP.confidence,
    resamples: int = IQM_BOOTSTRAP.resamples,
    seed: int = IQM_BOOTSTRAP.seed,
    min_repeats: int = MIN_REPEATS_FOR_CI,
) -> Aggregate:
    """IQM of the rows (repeats) at each column, with its band (see Aggregate).

    A column where any repeat is NaN (no value yet) is NaN throughout: an aggregate over the
    subset of repeats that already have a value would jump as repeats join it.
    """
    data = np.atleast_2d(np.asarray(matrix, dtype=float))
    repeats = data.shape[0]
    nan = np.full(data.shape[1], np.nan)
    centre, low, high = nan.copy(), nan.copy(), nan.copy()
    full = ~np.isnan(data).any(axis=0) if repeats else np.zeros(data.shape[1], bool)
    is_ci = repeats >= min_repeats
    if full.any():
        part = data[:, full]
        centre[full] = iqm(part, axis=0)
        if is_ci:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # constant columns
                result = scipy_stats.bootstrap(
                    (part,),
                    lambda x, axis: iqm(x, axis=axis),
                    axis=0,
                    vectorized=True,
                    n_resamples=resamples,
                    confidence_level=confidence,
                    method="percentile",
                    rng=np.random.default_rng(seed),
                )
            low[full], high[full] = result.confidence_interval
        else:
            low[full], high[full] = part.min(axis=0), part.max(axis=0)
    return Aggregate(centre, low, high, repeats, is_ci, confidence)


def win_probability(
    a: Sequence[float], b: Sequence[float], maximize: bool = True
) -> tuple[float, int]:
    """(fraction of pairs where a's value beats b's, ties counting 1/2; number of pairs).

    NaN is "nothing found yet": any value beats it, and two NaN tie.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise HarnessError(
            f"paired values must be two equal-length lists, but got lengths {x.size} and {y.size}"
        )
    if x.size == 0:
        return math.nan, 0
    worst = -np.inf if maximize else np.inf
    x, y = np.where(np.isnan(x), worst, x), np.where(np.isnan(y), worst, y)
    better = x > y if maximize else x < y
    return float((better.sum() + 0.5 * (x == y).sum()) / x.size), int(x.size)


@dataclass(frozen=True)
class PairedDifference:
    """Mean of a - b over pairs with a two-sided Student t interval (NaN with < 2 pairs or
    no spread)."""

    mean: float
    low: float
    high: float
    pairs: int
    confidence: float


def paired_difference(
    a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
) -> PairedDifference:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = x - y
    if d.size == 0:
        return PairedDifference(math.nan, math.nan, math.nan, 0, confidence)
    mean = float(d.mean())
    if d.size < 2 or np.ptp(d) == 0:
        return PairedDifference(mean, math.nan, math.nan, int(d.size), confidence)
    interval = scipy_stats.ttest_rel(x, y).confidence_interval(confidence)
    return PairedDifference(
        mean, float(interval.low), float(interval.high), int(d.size), confidence
    )


@dataclass(frozen=True)
class ReachCurve:
    """Kaplan-Meier ECDF of the trials a sampler needed to reach a target, over repeats."""

    trials: np.ndarray  # the step positions (1-based trial counts), ascending
    fraction: np.ndarray  # estimated fraction of repeats that reached it by then
    reached: int
    repeats: int
    censored_at: np.ndarray  # trial counts of the repeats that never reached it

    @property
    def median(self) -> float:
        """Smallest trial count by which half the repeats reached it; inf if none."""
        hits = np.flatnonzero(self.fraction >= 0.5)
        return float(self.trials[hits[0]]) if hits.size else math.inf


def reach_ecdf(needed: Sequence[int | None], budget: int | Sequence[int]) -> ReachCurve:
    """ECDF of trials-to-target over repeats: ``needed[i]`` is the trial count at which repeat
    i reached the target, None if it did not within ``budget`` (its own, or one for all),
    where it is right-censored. scipy.stats.ecdf computes the Kaplan-Meier estimate."""
    if not len(needed):
        return ReachCurve(np.empty(0), np.empty(0), 0, 0, np.empty(0))
    budgets = np.broadcast_to(np.asarray(budget, dtype=float), (len(needed),))
    hit = np.array([n for n in needed if n is not None], dtype=float)
    censored = np.array([b for n, b in zip(needed, budgets, strict=True) if n is None], float)
    result = scipy_stats.ecdf(scipy_stats.CensoredData(uncensored=hit, right=censored))
    return ReachCurve(
        np.asarray(result.cdf.quantiles, float),
        np.asarray(result.cdf.probabilities, float),
        int(hit.size),
        len(needed),
        censored,
    )
