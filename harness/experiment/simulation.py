"""The verdict's design, simulated: its error rates and power, the chance that the looks still
to come decide it (continuing from the pairs in hand), and the size a new run would need.

Every simulation applies the decision rule of ``harness.experiment.verdict.judge`` to many
synthetic runs at once (``judge_many``, checked against ``judge`` in the tests), so no
approximate power formula enters. Hand-written because neither SciPy nor statsmodels
simulates a sequential design with an equivalence outcome.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

POWER = 0.8  # the power at which a new run's size is computed
MORE_PAIRS_CAP = 1000  # beyond this many pairs, a size is reported as "more than 1000"
SD_CONFIDENCE = 0.95  # the interval of the pairs' sd whose ends bound "p_low - p_high"

Schedule = Sequence[tuple[int, float]]  # (pairs, level) of each look, in order
Noise = float | np.ndarray | Callable[[np.random.Generator, tuple[int, int]], np.ndarray]


def judge_many(d: np.ndarray, level: float, margin: float) -> np.ndarray:
    """``judge`` on each row at once (the same intervals, in numpy)."""
    from scipy import stats

    n = d.shape[1]
    mean = d.mean(axis=1)
    se = d.std(axis=1, ddof=1) / math.sqrt(n)
    two_sided = stats.t.ppf(1 - level / 2, n - 1) * se
    one_sided = stats.t.ppf(1 - level, n - 1) * se
    out = np.full(d.shape[0], "undecided", dtype=object)
    spread = se > 0  # no spread: judge leaves it undecided
    equivalent = spread & (mean - one_sided > -margin) & (mean + one_sided < margin)
    out[equivalent] = "equivalent"
    out[spread & (mean - two_sided > 0)] = "a_better"
    out[spread & (mean + two_sided < 0)] = "b_better"
    return out


def _run_schedule(d: np.ndarray, schedule: Schedule, margin: float) -> tuple[np.ndarray, ...]:
    """(outcome, pairs used, look index) of each row of ``d`` run through the looks."""
    runs = d.shape[0]
    outcome = np.full(runs, "undecided", dtype=object)
    used = np.full(runs, schedule[-1][0] if schedule else 0)
    index = np.full(runs, len(schedule))
    open_ = np.ones(runs, dtype=bool)
    for i, (n, level) in enumerate(schedule):
        decided = judge_many(d[:, :n], level, margin)
        new = open_ & (decided != "undecided")
        outcome[new], used[new], index[new] = decided[new], n, i
        open_ &= ~new
    return outcome, used, index


@dataclass(frozen=True)
class Simulation:
    """What the design does over many simulated runs."""

    runs: int
    a_better: float  # fraction of runs ending "A better"
    b_better: float
    equivalent: float
    undecided: float
    mean_pairs: float  # pairs used, averaged over runs
    seed: int
    noise: str
    looks: tuple[int, ...] = field(default=())

    @property
    def direction(self) -> float:
        return self.a_better + self.b_better


def _draws(rng: np.random.Generator, noise: Noise, shape: tuple[int, int]) -> tuple:
    if callable(noise):
        return noise(rng, shape), getattr(noise, "__doc__", None) or "a custom generator"
    if isinstance(noise, np.ndarray):
        centred = noise - noise.mean()
        draws = rng.choice(centred, size=shape) * rng.choice([-1.0, 1.0], shape)
        return draws, f"resampled from {noise.size} centred values, random signs"
    return rng.normal(0.0, float(noise), size=shape), f"normal, sd {float(noise):.3g}"


def simulate(
    schedule: Schedule,
    margin: float,
    effect: float,
    noise: Noise,
    *,
    runs: int = 2000,
    seed: int = 0,
) -> Simulation:
    """Run the looks of ``schedule`` ``runs`` times on synthetic pairs: ``effect`` plus
    noise, where noise is normal with this standard deviation (a float), resampled from these
    centred values with random signs (an array: the null of identical samplers, whose
    differences are symmetric), or drawn by ``noise(rng, shape)`` (a callable)."""
    rng = np.random.default_rng(seed)
    draws, label = _draws(rng, noise, (runs, max(n for n, _ in schedule)))
    outcome, used, _ = _run_schedule(effect + draws, schedule, margin)
    share = {k: float(np.mean(outcome == k)) for k in ("a_better", "b_better", "equivalent")}
    return Simulation(
        runs,
        share["a_better"],
        share["b_better"],
        share["equivalent"],
        1.0 - sum(share.values()),
        float(used.mean()),
        seed,
        label,
        tuple(n for n, _ in schedule),
    )


# ---------------------------------------------------------------- what would decide it


def sd_interval(sd: float, n: int, confidence: float = SD_CONFIDENCE) -> tuple[float, float]:
    """The chi-square interval of a normal sample's standard deviation from ``n`` values."""
    from scipy import stats

    tail = (1 - confidence) / 2
    return (
        sd * math.sqrt((n - 1) / stats.chi2.ppf(1 - tail, n - 1)),
        sd * math.sqrt((n - 1) / stats.chi2.ppf(tail, n - 1)),
    )


def _sds(sd: float, n: int, points: int = 5) -> np.ndarray:
    """``sd`` and ``points`` values spread geometrically over its 95% interval (the chance to
    decide need not be monotone in the sd: both ends and the inside are tried)."""
    low, high = sd_interval(sd, n)
    return np.unique(np.r_[sd, np.geomspace(low, high, points)])


@dataclass(frozen=True)
class Outlook:
    """The chance that the looks still to come decide the verdict, continuing from the pairs
    in hand, at the observed mean and sd and across the sd's 95% interval."""

    next_pairs: int
    next_p: float
    next_range: tuple[float, float]
    last_pairs: int
    last_p: float  # decided at any look up to and including the last one
    last_range: tuple[float, float]
    sd_range: tuple[float, float]
    runs: int


def outlook(
    differences: Sequence[float] | np.ndarray, future: Schedule, margin: float, *, runs: int = 4000
) -> Outlook | None:
    """Conditional simulation: the observed pairs stay, the pairs up to each future look are
    drawn normal with the observed mean and sd, and every look of ``future`` is judged in
    turn (the design's own looks, at their own levels). None without a future look or
    without spread."""
    d = np.asarray(differences, dtype=float)
    sd = float(np.std(d, ddof=1)) if d.size >= 2 else 0.0
    if not future or not sd > 0:
        return None
    rows = []
    for value in _sds(sd, d.size):
        rng = np.random.default_rng(12345)
        new = rng.normal(d.mean(), value, (runs, future[-1][0] - d.size))
        _, _, index = _run_schedule(np.hstack([np.tile(d, (runs, 1)), new]), future, margin)
        rows.append((value, np.mean(index == 0), np.mean(index < len(future))))
    at_sd = next(r for r in rows if r[0] == sd)
    return Outlook(
        future[0][0],
        float(at_sd[1]),
        (float(min(r[1] for r in rows)), float(max(r[1] for r in rows))),
        future[-1][0],
        float(at_sd[2]),
        (float(min(r[2] for r in rows)), float(max(r[2] for r in rows))),
        sd_interval(sd, d.size),
        runs,
    )


def new_run_pairs(
    mean: float, sd: float, alpha: float, margin: float, power: float = POWER, runs: int = 4000
) -> int | None:
    """The fewest pairs at which a new run judged once at ``alpha`` decides, one way or the
    other, in ``power`` of ``runs`` simulated runs with this mean and sd (the same decision
    rule as ``judge``). None when even MORE_PAIRS_CAP pairs would not do; power grows with
    the pairs, so a bisection finds the size."""
    if not sd > 0:
        return 2

    def decides(total: int) -> bool:
        rows = np.random.default_rng(12345).normal(mean, sd, (runs, total))
        return float(np.mean(judge_many(rows, alpha, margin) != "undecided")) >= power

    low, high = 2, MORE_PAIRS_CAP
    if not decides(high):
        return None
    while low < high:
        middle = (low + high) // 2
        if decides(middle):
            high = middle
        else:
            low = middle + 1
    return low


def new_run_range(
    differences: Sequence[float] | np.ndarray, alpha: float, margin: float
) -> tuple[int | None, int | None, int | None]:
    """A new run's size at the observed mean for the sd's 95% interval: (at its low end, at
    the observed sd, at its high end); None where more than MORE_PAIRS_CAP."""
    d = np.asarray(differences, dtype=float)
    sd = float(np.std(d, ddof=1))
    low, high = sd_interval(sd, d.size)
    return tuple(new_run_pairs(float(d.mean()), s, alpha, margin) for s in (low, sd, high))  # type: ignore[return-value]
