"""Statistics for comparing samplers: best-so-far curves by trial and by time, a paired test.

Everything here works on plain numbers (or Optuna ``FrozenTrial`` lists) so that it can be
checked on known inputs: a curve is a 1-D array over finished trials or over a time grid, a
set of repeats is a 2-D array (one row per repeat).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial, TrialState
from scipy import stats as scipy_stats

from harness.errors import HarnessError

IDLE_GAP = 60.0  # seconds with no trial running that count as an interruption, not as work


def best_so_far(values: Sequence[float] | np.ndarray, maximize: bool = True) -> np.ndarray:
    """Running best of ``values`` (NaN entries do not count; NaN until the first number)."""
    array = np.asarray(values, dtype=float)
    filled = np.where(np.isnan(array), -np.inf if maximize else np.inf, array)
    running = np.maximum.accumulate(filled) if maximize else np.minimum.accumulate(filled)
    running[np.isinf(running)] = np.nan
    return running


def completed(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """COMPLETE trials with a value, in trial-number order."""
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    return sorted(done, key=lambda t: t.number)


def finished(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that spent the budget: COMPLETE ones with a value and PRUNED ones (which
    found nothing to keep), in trial-number order. FAIL trials are retried, so not counted."""
    done = [
        t
        for t in trials
        if (t.state == TrialState.COMPLETE and t.value is not None) or t.state == TrialState.PRUNED
    ]
    return sorted(done, key=lambda t: t.number)


def _value(trial: FrozenTrial) -> float:
    value = trial.value if trial.state == TrialState.COMPLETE else None
    return float("nan") if value is None else float(value)


def trial_curve(trials: Sequence[FrozenTrial], maximize: bool = True) -> np.ndarray:
    """Best-so-far objective after the 1st, 2nd, ... finished trial (index 0 = trial 1); a
    pruned trial counts as a trial and leaves the best unchanged."""
    return best_so_far([_value(t) for t in finished(trials)], maximize)


def completion_seconds(
    trials: Sequence[FrozenTrial], limit: int | None = None, max_idle: float | None = IDLE_GAP
) -> tuple[np.ndarray, np.ndarray]:
    """(seconds since the study's first trial started, value) of each finished trial (NaN for
    a pruned one).

    Only the first ``limit`` finished trials (by number) count when it is given. Sorted by
    completion time: with parallel workers, trial numbers and finishing order differ. A
    stretch longer than ``max_idle`` seconds with no trial running (the study was stopped and
    resumed later) is cut out of the clock, so resumed studies compare with uninterrupted ones.
    """
    spans = sorted(
        (t.datetime_start, t.datetime_complete or t.datetime_start)
        for t in trials
        if t.datetime_start is not None
    )
    done = [t for t in finished(trials)[:limit] if t.datetime_complete is not None]
    if not spans or not done:
        return np.empty(0), np.empty(0)
    origin, busy_until = spans[0][0], spans[0][0]
    cuts = [(origin, 0.0)]  # (from this moment on, this many idle seconds are cut)
    for start, end in spans:
        idle = (start - busy_until).total_seconds()
        if max_idle is not None and idle > max_idle:
            cuts.append((start, cuts[-1][1] + idle))
        busy_until = max(busy_until, end)

    def clock(moment: datetime) -> float:
        cut = max(c for at, c in cuts if at <= moment)
        return (moment - origin).total_seconds() - cut

    pairs = sorted(
        (clock(t.datetime_complete), _value(t)) for t in done if t.datetime_complete is not None
    )
    seconds, values = zip(*pairs, strict=True)
    return np.asarray(seconds), np.asarray(values)


def compute_seconds(
    trials: Sequence[FrozenTrial], limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(the study's own compute by the end of each finished trial, value) in trial order: the
    running sum of its trials' training seconds (the ``seconds`` a trial records, evaluation
    included; a surrogate trial's ``simulated_seconds``; its start-to-end time where it
    recorded none). Queueing on a shared pool and
    idle stretches are not in it: a run's studies share one pool, so a wall clock would charge
    one study for the time its trials waited behind another's. Only the first ``limit``
    finished trials count when it is given; NaN value for a pruned trial."""
    done = finished(trials)[:limit]
    if not done:
        return np.empty(0), np.empty(0)

    def own(trial: FrozenTrial) -> float:
        # a surrogate's trial: the training seconds its runtime model predicts for a real one
        seconds = trial.user_attrs.get("simulated_seconds", trial.user_attrs.get("seconds"))
        if isinstance(seconds, int | float) and math.isfinite(seconds) and seconds >= 0:
            return float(seconds)
        if trial.datetime_start and trial.datetime_complete:
            return (trial.datetime_complete - trial.datetime_start).total_seconds()
        return 0.0

    return np.cumsum([own(t) for t in done]), np.array([_value(t) for t in done])


def time_curve(
    seconds: np.ndarray, values: np.ndarray, grid: np.ndarray, maximize: bool = True
) -> np.ndarray:
    """Best-so-far value at each time of ``grid`` (NaN before the first completion)."""
    running = best_so_far(values, maximize)
    index = np.searchsorted(np.asarray(seconds), np.asarray(grid), side="right") - 1
    out = np.full(len(grid), np.nan)
    out[index >= 0] = running[index[index >= 0]]
    return out


def stack(curves: Sequence[np.ndarray], length: int | None = None) -> np.ndarray:
    """Repeats as rows of equal length: shorter curves are padded with NaN, longer cut."""
    length = max((len(c) for c in curves), default=0) if length is None else length
    out = np.full((len(curves), length), np.nan)
    for row, curve in enumerate(curves):
        n = min(len(curve), length)
        out[row, :n] = curve[:n]
    return out


def trials_to_reach(curve: np.ndarray, level: float, maximize: bool = True) -> int | None:
    """1-based number of finished trials until the best-so-far reaches ``level``; None if never."""
    curve = np.asarray(curve, dtype=float)
    with np.errstate(invalid="ignore"):
        reached = curve >= level if maximize else curve <= level
    hits = np.flatnonzero(reached)
    return int(hits[0]) + 1 if hits.size else None


@dataclass(frozen=True)
class PairedTest:
    """A paired Wilcoxon signed-rank test of ``a - b`` (pairs with a zero difference dropped)."""

    n_pairs: int
    n_nonzero: int
    statistic: float  # SciPy's: the smaller of the two rank sums (two-sided)
    p_value: float
    rank_biserial: float  # (R+ - R-) / (R+ + R-), in [-1, 1]; > 0 means a tends to be larger
    median_difference: float
    mean_difference: float
    method: str


def rank_biserial(differences: Sequence[float]) -> float:
    """Matched-pairs rank-biserial correlation: (sum of positive ranks - negative) / total."""
    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return 0.0
    ranks = scipy_stats.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def paired_wilcoxon(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> PairedTest:
    """Two-sided Wilcoxon signed-rank test on pairs ``(a[i], b[i])`` with its effect size."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise HarnessError(
            f"paired samples must be two equal-length lists, but got lengths {x.size} and {y.size}"
        )
    if np.isnan(x).any() or np.isnan(y).any():
        raise HarnessError("paired samples must not contain NaN, but they do")
    d = x - y
    nonzero = int(np.count_nonzero(d))
    mean = float(d.mean()) if d.size else math.nan
    median = float(np.median(d)) if d.size else math.nan
    if nonzero == 0:
        return PairedTest(int(d.size), 0, math.nan, 1.0, 0.0, median, mean, "none")
    # The method is chosen here, not by SciPy's method="auto" (whose rule changed between
    # versions), and named in the report: exact without ties or zeros (n <= 50), else an
    # exhaustive permutation test up to 13 pairs (2**13 sign patterns fit in its 9,999
    # resamples, so the p-value is deterministic), else the normal approximation.
    ties = np.unique(np.abs(d[d != 0])).size < nonzero
    scipy_method: Any
    if d.size <= 50 and not ties and nonzero == d.size:
        method, scipy_method = "exact", "exact"
    elif d.size <= 13:
        method = "exact permutation, ties or zeros present"
        scipy_method = scipy_stats.PermutationMethod()
    else:
        method, scipy_method = "normal approximation", "asymptotic"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a single pair: SciPy warns
        result = scipy_stats.wilcoxon(
            x, y, zero_method="wilcox", alternative="two-sided", method=scipy_method
        )
    return PairedTest(
        int(d.size),
        nonzero,
        float(result.statistic),
        float(result.pvalue),
        rank_biserial(d),
        median,
        mean,
        method,
    )
