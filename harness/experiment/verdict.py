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

**Decision at a look** with ``n`` pairs at level ``a``: "A better" (or "B better") when the
two-sided ``1 - a`` t-interval of the mean difference excludes 0; "equivalent" when the TOST
at level ``a`` (statsmodels ``ttost_paired``) puts the difference within ``±margin``;
otherwise not decided. Under the null of two identical samplers each pair's difference is
symmetric about 0; ``simulate`` checks the whole procedure's error rate on such data.

Hand-written here: the spending function, the Hodges-Lehmann interval (no SciPy function gives
it; its ends are checked against ``scipy.stats.wilcoxon`` in the tests) and the vectorised
simulation (checked against the statsmodels decision).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from harness.errors import HarnessError

ALPHA = 0.05
MARGIN = 0.001  # AUROC: differences inside ±0.001 count as no practical difference
LOOKS = (5, 10, 15, 20, 30)
POWER = 0.8  # the power at which "about N more pairs" is computed
MORE_PAIRS_CAP = 1000  # beyond this, "N more pairs" is reported as "more than 1000"

Outcome = Literal["a_better", "b_better", "equivalent", "undecided"]


@dataclass(frozen=True)
class Plan:
    """The pre-declared design of a comparison: when to look and at what error rate."""

    looks: tuple[int, ...] = LOOKS  # pairs at the scheduled looks
    max_pairs: int = 30
    alpha: float = ALPHA
    margin: float = MARGIN
    spending: str = "Lan-DeMets Pocock-type alpha spending, alpha * ln(1 + (e - 1) t)"

    def __post_init__(self) -> None:
        if self.max_pairs < 1:
            raise HarnessError(f"--max-pairs >= 1 must hold, but got {self.max_pairs}")
        if not 0 < self.alpha < 1:
            raise HarnessError(f"alpha must be in (0, 1), but got {self.alpha}")
        if not self.margin > 0:
            raise HarnessError(f"--margin > 0 must hold, but got {self.margin}")
        bad = [n for n in self.looks if n < 1]
        if bad or not self.looks or list(self.looks) != sorted(set(self.looks)):
            raise HarnessError(
                f"--looks must be increasing pair counts >= 1, but got {list(self.looks)}"
            )
        # every look past max_pairs is dropped, and max_pairs is always a look
        kept = (*[n for n in self.looks if n < self.max_pairs], self.max_pairs)
        object.__setattr__(self, "looks", kept)

    def spent(self, pairs: int) -> float:
        """The error rate spent by the time ``pairs`` pairs are in (0 before any)."""
        t = min(pairs, self.max_pairs) / self.max_pairs
        return self.alpha * math.log(1 + (math.e - 1) * t)

    def level(self, pairs: int, previous: int) -> float:
        """The level of a look at ``pairs`` when the last look was at ``previous`` pairs."""
        return self.spent(pairs) - self.spent(previous)

    def next_look(self, pairs: int) -> int | None:
        """The first scheduled look after ``pairs`` pairs; None when the plan is used up."""
        return next((n for n in self.looks if n > pairs), None)

    @classmethod
    def fixed(cls, pairs: int, margin: float = MARGIN) -> Plan:
        """A fixed-size design: one look, at ``pairs`` pairs, at the full ``alpha``."""
        return cls(looks=(pairs,), max_pairs=pairs, margin=margin)

    @property
    def sequential(self) -> bool:
        return len(self.looks) > 1

    def describe(self) -> str:
        if not self.sequential:
            return (
                f"a fixed design: one look at {self.max_pairs} pair(s) at level "
                f"{self.alpha}, equivalence margin ±{self.margin:g}"
            )
        return (
            f"looks after {', '.join(map(str, self.looks))} pairs (at most "
            f"{self.max_pairs}), overall level {self.alpha} by {self.spending}, "
            f"equivalence margin ±{self.margin:g}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "looks": list(self.looks)}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Plan:
        try:
            return cls(
                tuple(int(n) for n in record["looks"]),
                int(record["max_pairs"]),
                float(record["alpha"]),
                float(record["margin"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise HarnessError(
                f"plan.json must hold looks, max_pairs, alpha and margin, but it does not ({err})"
            ) from None


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
    """The verdict at one look: ``pairs`` pairs judged at level ``level``."""

    pairs: int
    level: float
    outcome: Outcome
    mean: Interval  # at 1 - level: the interval the direction is decided on
    equivalence: Interval  # at 1 - 2 level: inside ±margin means equivalent (TOST)
    tost_p: float
    margin: float

    @property
    def decided(self) -> bool:
        return self.outcome != "undecided"


def judge(differences: Sequence[float] | np.ndarray, level: float, margin: float) -> Look:
    """The decision at one look (see the module's docstring)."""
    from statsmodels.stats.weightstats import ttost_paired

    d = _checked(differences, at_least=2)
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


def run_looks(
    differences: Sequence[float] | np.ndarray, plan: Plan, looked_at: Sequence[int]
) -> list[Look]:
    """The looks taken at ``looked_at`` pair counts (in order), each on the first n pairs,
    stopping at the first decided one."""
    d = np.asarray(differences, dtype=float)
    looks: list[Look] = []
    previous = 0
    for n in looked_at:
        if n > d.size:
            raise HarnessError(f"a look at {n} pairs needs {n} pairs, but only {d.size} exist")
        if n < 2 or n <= previous:
            continue
        look = judge(d[:n], plan.level(n, previous), plan.margin)
        looks.append(look)
        previous = n
        if look.decided:
            break
    return looks


# ---------------------------------------------------------------- how many more pairs


def pairs_to_decide(
    mean: float, sd: float, plan: Plan, last_look: int, power: float = POWER, runs: int = 4000
) -> int | None:
    """The fewest total pairs N at which one more look (at the level the plan leaves it)
    decides, one way or the other, in ``power`` of ``runs`` simulated runs whose pairs are
    normal with the observed mean and sd: the same decision rule as ``judge``, so no
    approximation of the t-test's or TOST's power enters. None when even MORE_PAIRS_CAP more
    pairs would not do (power grows with N, so a bisection finds N). When the plan's error
    rate is spent (a fixed design after its look), N is for a new fixed design judged once at
    the full ``alpha``."""
    if not sd > 0:
        return last_look + 1
    rng_seed = 12345
    spent = plan.spent(last_look) >= plan.alpha - 1e-12

    def decides(total: int) -> bool:
        if spent:
            level = plan.alpha
        elif total >= plan.max_pairs:
            level = plan.alpha - plan.spent(last_look)
        else:
            level = plan.level(total, last_look)
        rows = np.random.default_rng(rng_seed).normal(mean, sd, (runs, total))
        return float(np.mean(_judge_many(rows, level, plan.margin) != "undecided")) >= power

    low, high = max(last_look + 1, 3), last_look + MORE_PAIRS_CAP
    if not decides(high):
        return None
    while low < high:
        middle = (low + high) // 2
        if decides(middle):
            high = middle
        else:
            low = middle + 1
    return low


# ---------------------------------------------------------------- the design, simulated


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


def simulate(
    plan: Plan,
    effect: float,
    noise: np.ndarray | float,
    *,
    runs: int = 2000,
    seed: int = 0,
    looks: Sequence[int] | None = None,
) -> Simulation:
    """Run the design ``runs`` times on synthetic pairs: ``effect`` plus noise, where noise is
    normal with this standard deviation (a float) or resampled from these centred values with
    random signs (an array: the null of identical samplers, whose differences are symmetric).
    Looks are the plan's scheduled ones unless given."""
    rng = np.random.default_rng(seed)
    schedule = tuple(looks) if looks is not None else plan.looks
    n_max = max(schedule)
    if isinstance(noise, np.ndarray):
        centred = noise - noise.mean()
        draws = rng.choice(centred, size=(runs, n_max)) * rng.choice([-1.0, 1.0], (runs, n_max))
        label = f"resampled from {noise.size} centred values, random signs"
    else:
        draws = rng.normal(0.0, float(noise), size=(runs, n_max))
        label = f"normal, sd {float(noise):.3g}"
    d = effect + draws
    outcome = np.full(runs, "undecided", dtype=object)
    used = np.full(runs, schedule[-1])
    open_ = np.ones(runs, dtype=bool)
    previous = 0
    for n in schedule:
        level = plan.level(n, previous)
        previous = n
        decided = _judge_many(d[:, :n], level, plan.margin)
        new = open_ & (decided != "undecided")
        outcome[new] = decided[new]
        used[new] = n
        open_ &= ~new
    share = {
        k: float(np.mean(outcome == k)) for k in ("a_better", "b_better", "equivalent", "undecided")
    }
    return Simulation(
        runs,
        share["a_better"],
        share["b_better"],
        share["equivalent"],
        share["undecided"],
        float(used.mean()),
        seed,
        label,
        schedule,
    )


def _judge_many(d: np.ndarray, level: float, margin: float) -> np.ndarray:
    """``judge`` on each row at once (the same intervals, in numpy)."""
    from scipy import stats

    n = d.shape[1]
    mean = d.mean(axis=1)
    se = d.std(axis=1, ddof=1) / math.sqrt(n)
    two_sided = stats.t.ppf(1 - level / 2, n - 1) * se
    one_sided = stats.t.ppf(1 - level, n - 1) * se
    out = np.full(d.shape[0], "undecided", dtype=object)
    equivalent = (mean - one_sided > -margin) & (mean + one_sided < margin)
    out[equivalent] = "equivalent"
    out[mean - two_sided > 0] = "a_better"
    out[mean + two_sided < 0] = "b_better"
    return out


def _checked(values: Sequence[float] | np.ndarray, at_least: int) -> np.ndarray:
    d = np.asarray(values, dtype=float)
    if d.ndim != 1 or d.size < at_least:
        raise HarnessError(
            f"a verdict needs at least {at_least} paired differences, but got {d.size}"
        )
    if not np.isfinite(d).all():
        raise HarnessError("paired differences must be finite numbers, but some are not")
    return d
