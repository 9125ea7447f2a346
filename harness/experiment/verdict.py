"""The comparison's pre-declared verdict: one primary outcome, looks with alpha spending.

**Primary outcome** (declared before any data, stored in ``runs/RUN/plan.json``): per pair
(repeat r runs every sampler with seed r), the difference A - B in the test AUROC of each
study's chosen configuration retrained with K seeds (the mean over seeds).

**Looks.** Pairs are added in batches; after each batch the verdict is computed at that
look's share of the error rate, and the run stops at the first look where it is decided.
The share comes from a Lan-DeMets alpha-spending function of the information fraction
``pairs / max_pairs`` (Pocock type, ``alpha * ln(1 + (e - 1) t)``), and each look uses its
increment as its own level. By the union bound the chance of any false claim over all looks
is at most ``alpha``, whatever the correlation between looks (conservative: exact
group-sequential boundaries would spend a little less). A look may come at any number of
pairs (a time budget can end a run between scheduled looks): Lan-DeMets spending only needs
the look times not to depend on the data.

**One budget per run.** A design changed after ``L`` pairs were looked at, with ``S`` of
``alpha`` spent, continues from there (``Plan.continued``): its spending function is scaled
onto what is left, ``S + (alpha - S) (f(n) - f(L)) / (alpha - f(L))``, so the levels of all
looks ever taken on the run still add up to at most ``alpha``.

**Decision at a look** with ``n`` pairs at level ``a``: "A better" (or "B better") when the
two-sided ``1 - a`` t-interval of the mean difference excludes 0; "equivalent" when the TOST
at level ``a`` (statsmodels ``ttost_paired``) puts the difference within ``±margin``, i.e.
the ``1 - 2a`` interval lies inside it; otherwise not decided. Under the null of two
identical samplers each pair's difference is symmetric about 0 (the labels of a pair could be
swapped), and there the t-based look keeps each direction's error at most ``a / 2`` even with
exact zeros and heavy tails (``harness.experiment.simulation`` checks it; docs/verdict.md
gives the rates, and where a skewed difference with mean 0 breaks it).

Hand-written here: the spending function and the Hodges-Lehmann interval (no SciPy function
gives it; its ends are checked against ``scipy.stats.wilcoxon`` in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np

from harness.errors import HarnessError

ALPHA = 0.05
MARGIN = 0.001  # AUROC: differences inside ±0.001 count as no practical difference
LOOKS = (5, 10, 15, 20, 30)
MIN_PAIRS = 2  # a t-interval needs two pairs: a look below this could never decide
TEST = (
    "paired t-interval (statsmodels DescrStatsW.tconfint_mean) for a direction; "
    "TOST (statsmodels ttost_paired) for equivalence"
)

Outcome = Literal["a_better", "b_better", "equivalent", "undecided"]


@dataclass(frozen=True)
class Plan:
    """The pre-declared design of a comparison: when to look and at what error rate.

    ``start_pairs`` and ``start_spent``: a design that replaced another one after that many
    pairs were looked at, with that much of ``alpha`` spent (0 and 0 for a first design)."""

    looks: tuple[int, ...] = LOOKS  # pairs at the scheduled looks
    max_pairs: int = 30
    alpha: float = ALPHA
    margin: float = MARGIN
    spending: str = "Lan-DeMets Pocock-type alpha spending, alpha * ln(1 + (e - 1) t)"
    start_pairs: int = 0
    start_spent: float = 0.0

    def __post_init__(self) -> None:
        if self.max_pairs < MIN_PAIRS:
            raise HarnessError(
                f"--max-pairs >= {MIN_PAIRS} must hold (a verdict needs {MIN_PAIRS} pairs), "
                f"but got {self.max_pairs}"
            )
        if not 0 < self.alpha < 1:
            raise HarnessError(f"alpha must be in (0, 1), but got {self.alpha}")
        if not self.margin > 0:
            raise HarnessError(f"--margin > 0 must hold, but got {self.margin}")
        if not self.looks or list(self.looks) != sorted(set(self.looks)):
            raise HarnessError(
                f"--looks must be increasing pair counts, but got {list(self.looks)}"
            )
        if min(self.looks) < MIN_PAIRS:
            raise HarnessError(
                f"--looks must be pair counts >= {MIN_PAIRS} (a look needs {MIN_PAIRS} pairs "
                f"to judge anything), but got {list(self.looks)}"
            )
        if not 0 <= self.start_pairs < self.max_pairs:
            raise HarnessError(
                f"--max-pairs must exceed the {self.start_pairs} pairs already looked at, "
                f"but got {self.max_pairs}"
            )
        # every look past max_pairs is dropped, and max_pairs is always a look
        kept = (*[n for n in self.looks if n < self.max_pairs], self.max_pairs)
        object.__setattr__(self, "looks", kept)

    def _spending(self, pairs: int) -> float:
        t = min(pairs, self.max_pairs) / self.max_pairs
        return self.alpha * math.log(1 + (math.e - 1) * t)

    def spent(self, pairs: int) -> float:
        """The error rate spent on the run by the time ``pairs`` pairs are in (0 before any):
        the spending function, scaled onto what was left when this design took over."""
        if self.start_pairs == 0:
            return self._spending(pairs)
        if pairs <= self.start_pairs:
            return self.start_spent
        base = self._spending(self.start_pairs)
        share = (self._spending(pairs) - base) / (self.alpha - base)
        return self.start_spent + (self.alpha - self.start_spent) * share

    def level(self, pairs: int, previous: int) -> float:
        """The level of a look at ``pairs`` when the last look was at ``previous`` pairs."""
        return self.spent(pairs) - self.spent(previous)

    def next_look(self, pairs: int) -> int | None:
        """The first scheduled look after ``pairs`` pairs; None when the plan is used up."""
        return next((n for n in self.looks if n > pairs), None)

    def schedule(self, after: int = 0) -> list[tuple[int, float]]:
        """(pairs, level) of each scheduled look after ``after`` pairs, in order."""
        out, previous = [], max(after, self.start_pairs)
        for n in self.looks:
            if n > previous:
                out.append((n, self.level(n, previous)))
                previous = n
        return out

    def continued(self, pairs: int, spent: float) -> Plan:
        """This design taking over a run after ``pairs`` pairs were looked at with ``spent``
        of alpha used: it shares only what is left."""
        return replace(self, start_pairs=pairs, start_spent=spent)

    def same_design(self, other: Plan) -> bool:
        """Whether ``other`` asks for the same looks, size, level and margin."""
        keys = ("looks", "max_pairs", "alpha", "margin")
        return all(getattr(self, key) == getattr(other, key) for key in keys)

    @classmethod
    def fixed(cls, pairs: int, margin: float = MARGIN) -> Plan:
        """A fixed-size design: one look, at ``pairs`` pairs, at the full ``alpha``."""
        return cls(looks=(pairs,), max_pairs=pairs, margin=margin)

    @property
    def sequential(self) -> bool:
        return len(self.looks) > 1

    def describe(self) -> str:
        if not self.sequential:
            text = (
                f"a fixed design: one look at {self.max_pairs} pairs at level "
                f"{self.alpha}, equivalence margin ±{self.margin:g}"
            )
        else:
            text = (
                f"looks after {', '.join(map(str, self.looks))} pairs (at most "
                f"{self.max_pairs}), overall level {self.alpha} by {self.spending}, "
                f"equivalence margin ±{self.margin:g}"
            )
        if self.start_pairs:
            text += (
                f"; taken over after {self.start_pairs} pairs with {self.start_spent:.4f} "
                f"spent, so its looks share the {self.alpha - self.start_spent:.4f} left"
            )
        return text

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "looks": list(self.looks)}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Plan:
        return cls(
            tuple(int(n) for n in record["looks"]),
            int(record["max_pairs"]),
            float(record["alpha"]),
            float(record["margin"]),
            start_pairs=int(record.get("start_pairs", 0)),
            start_spent=float(record.get("start_spent", 0.0)),
        )


# ---------------------------------------------------------------- one look


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    level: float  # confidence level of [low, high], e.g. 0.95

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def mean_interval(differences: Sequence[float] | np.ndarray, confidence: float) -> Interval:
    """The mean difference and its two-sided t-interval (statsmodels ``DescrStatsW``)."""
    from statsmodels.stats.weightstats import DescrStatsW

    d = _checked(differences, at_least=2)
    if np.ptp(d) == 0:  # no spread: the interval is the point
        return Interval(float(d[0]), float(d[0]), float(d[0]), confidence)
    low, high = DescrStatsW(d).tconfint_mean(alpha=1 - confidence)
    return Interval(float(d.mean()), float(low), float(high), confidence)


def hodges_lehmann(differences: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Interval:
    """The Hodges-Lehmann estimate (median of the Walsh averages) and its exact interval, the
    inversion of the Wilcoxon signed-rank test: ``[w_(k), w_(M+1-k)]`` of the M sorted Walsh
    averages, with the largest k whose coverage ``1 - 2 P(T+ <= k - 1)`` is still at least
    ``confidence``. With too few pairs for that coverage, the interval is unbounded."""
    d = _checked(differences, at_least=1)
    n = d.size
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2)
    cdf = np.cumsum(_signed_rank_counts(n)) / 2.0**n  # P(T+ <= t), t = 0 .. n(n+1)/2
    alpha = 1 - confidence
    fits = np.flatnonzero(2 * cdf <= alpha + 1e-12)  # k - 1 values with enough coverage
    if fits.size == 0:
        return Interval(float(np.median(walsh)), -math.inf, math.inf, confidence)
    k = int(fits[-1]) + 1
    return Interval(
        float(np.median(walsh)), float(walsh[k - 1]), float(walsh[walsh.size - k]), confidence
    )


def _signed_rank_counts(n: int) -> np.ndarray:
    """How many of the 2**n sign patterns give each value of the signed-rank sum T+."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return counts


@dataclass(frozen=True)
class Look:
    """The verdict at one look: ``pairs`` pairs judged at level ``level``, as taken (and as
    ``plan.json`` records it: the report shows it, never judges it again)."""

    pairs: int
    level: float
    outcome: Outcome
    mean: Interval  # at 1 - level: the interval the direction is decided on
    equivalence: Interval  # at 1 - 2 level: inside ±margin means equivalent (TOST)
    tost_p: float
    margin: float
    test: str = TEST
    at: str = ""  # when it was taken (UTC), once recorded

    @property
    def decided(self) -> bool:
        return self.outcome != "undecided"


def judge(differences: Sequence[float] | np.ndarray, level: float, margin: float) -> Look:
    """The decision at one look (see the module's docstring)."""
    from statsmodels.stats.weightstats import ttost_paired

    d = _checked(differences, at_least=MIN_PAIRS)
    mean = mean_interval(d, 1 - level)
    equivalence = mean_interval(d, 1 - 2 * level)
    if np.ptp(d) == 0:  # every pair differs by the same amount: no spread, no t-interval
        return Look(int(d.size), level, "undecided", mean, equivalence, math.nan, margin)
    tost = float(ttost_paired(d, np.zeros_like(d), -margin, margin)[0])
    outcome: Outcome = "undecided"
    if mean.low > 0:
        outcome = "a_better"
    elif mean.high < 0:
        outcome = "b_better"
    elif tost < level:
        outcome = "equivalent"
    return Look(int(d.size), level, outcome, mean, equivalence, tost, margin)


def _checked(values: Sequence[float] | np.ndarray, at_least: int) -> np.ndarray:
    d = np.asarray(values, dtype=float)
    if d.ndim != 1 or d.size < at_least:
        raise HarnessError(
            f"a verdict needs at least {at_least} paired differences, but got {d.size}"
        )
    if not np.isfinite(d).all():
        raise HarnessError("paired differences must be finite numbers, but some are not")
    return d
