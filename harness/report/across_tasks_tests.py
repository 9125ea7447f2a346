"""Tests across tasks, with the task as the block (Demšar 2006, as CARP-S reports them): each
task's mean normalised regret per sampler, ranked within the task; the average rank; the
Friedman test and Nemenyi's post-hoc test (the critical-difference diagram); and
Holm-corrected pairwise Wilcoxon signed-rank tests over the tasks, with effect estimates.

Unlike the bootstrap intervals of ``across_tasks_stats`` (the tasks held fixed), these treat
the tasks as a sample of tasks like them. With too few tasks a test cannot reject at ALPHA
whatever the data; it is then refused with the reason instead of printing a p-value that
means nothing.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as scipy_stats

from harness.report.across_tasks import ScoreTable
from harness.report.config import ALPHA
from harness.report.markdown import plural
from harness.report.stats import paired_wilcoxon

if TYPE_CHECKING:
    import pandas as pd

TIE_DECIMALS = 12  # regrets are O(1): closer task means than 1e-12 are rounding, not a rank
MIN_SAMPLERS_FRIEDMAN = 3  # SciPy's friedmanchisquare; with 2 the Wilcoxon test says it


@dataclass(frozen=True)
class Friedman:
    """The Friedman test over tasks (blocks) and its Nemenyi post-hoc; ``refused`` says why
    there is no test, and then the other fields are None."""

    statistic: float | None
    p_value: float | None
    nemenyi: pd.DataFrame | None
    critical: float | None  # Nemenyi's critical difference of average ranks
    refused: str | None


@dataclass(frozen=True)
class PairTest:
    """Sampler a against b over tasks, on each task's mean normalised regret (a - b)."""

    a: str
    b: str
    median_difference: float
    rank_biserial: float  # > 0: a has the larger regret (is worse) on more of the weight
    a_better: int  # tasks where a's regret is lower
    b_better: int
    p_value: float
    holm: float
    method: str


@dataclass(frozen=True)
class TaskTests:
    ranks: np.ndarray  # tasks x samplers, 1 = lowest mean regret, ties share their average
    average_rank: dict[str, float]
    friedman: Friedman
    pairs: list[PairTest]
    wilcoxon_refused: str | None  # why the pairs carry no p-values
    holm_floor: float  # the smallest Holm-adjusted p-value this many tasks and pairs allow


def friedman_floor(tasks: int, samplers: int) -> float:
    """SciPy's Friedman p-value when every task ranks the samplers alike (chi-square N(k-1),
    k-1 degrees of freedom): no data can give a smaller one."""
    return float(scipy_stats.chi2.sf(tasks * (samplers - 1), samplers - 1))


def wilcoxon_floor(tasks: int) -> float:
    """The smallest exact two-sided Wilcoxon signed-rank p-value with ``tasks`` pairs: 2 / 2^N."""
    return 2 / 2**tasks if tasks else 1.0


def friedman(ranks: np.ndarray, samplers: list[str], alpha: float = ALPHA) -> Friedman:
    n, k = ranks.shape
    if k < MIN_SAMPLERS_FRIEDMAN:
        refusal = (
            f"the Friedman test needs at least {MIN_SAMPLERS_FRIEDMAN} samplers, but there "
            f"{'is' if k == 1 else 'are'} {k}; the pairwise Wilcoxon test below is the test for two"
        )
        return Friedman(None, None, None, None, refusal)
    floor = friedman_floor(n, k) if n else 1.0
    if floor >= alpha:
        refusal = (
            f"with {plural(n, 'task')} and {k} samplers the Friedman test cannot reject at "
            f"{alpha}: even if every task ranked the samplers alike, its p-value would be "
            f"{floor:.3g}"
        )
        return Friedman(None, None, None, None, refusal)
    if n and (np.ptp(ranks, axis=1) == 0).all():
        return Friedman(None, None, None, None, "every task ties every sampler: nothing to rank")
    import scikit_posthocs

    with warnings.catch_warnings():  # identical ranks in every task: a NaN statistic
        warnings.simplefilter("ignore", RuntimeWarning)
        result = scipy_stats.friedmanchisquare(*ranks.T)
    nemenyi = scikit_posthocs.posthoc_nemenyi_friedman(ranks)
    nemenyi.index = nemenyi.columns = samplers
    critical = (
        scipy_stats.studentized_range.isf(alpha, k, np.inf)
        / np.sqrt(2)
        * np.sqrt(k * (k + 1) / (6 * n))
    )  # Nemenyi's critical difference of average ranks (Demšar 2006, eq. 5)
    return Friedman(float(result.statistic), float(result.pvalue), nemenyi, float(critical), None)


def pair_tests(means: np.ndarray, samplers: list[str]) -> list[PairTest]:
    """Every pair's Wilcoxon test over tasks, Holm-adjusted (statsmodels ``multipletests``)."""
    from statsmodels.stats.multitest import multipletests

    pairs = list(combinations(range(len(samplers)), 2))
    if not pairs or means.shape[0] == 0:
        return []
    tests = [paired_wilcoxon(means[:, a], means[:, b]) for a, b in pairs]
    adjusted = multipletests([t.p_value for t in tests], alpha=ALPHA, method="holm")[1]
    return [
        PairTest(
            samplers[a],
            samplers[b],
            test.median_difference,
            test.rank_biserial,
            int((means[:, a] < means[:, b]).sum()),
            int((means[:, a] > means[:, b]).sum()),
            test.p_value,
            float(holm),
            test.method,
        )
        for (a, b), test, holm in zip(pairs, tests, adjusted, strict=True)
    ]


def task_tests(scores: ScoreTable, alpha: float = ALPHA) -> TaskTests:
    """Ranks within tasks, Friedman and Nemenyi, and the pairwise Wilcoxon tests over tasks."""
    # Means equal but for the order of summation are a tie, not a rank apart.
    means = np.round(scores.task_means, TIE_DECIMALS)
    n, k = means.shape
    ranks = scipy_stats.rankdata(means, axis=1, method="average") if n else means
    average = {
        s: float(ranks[:, j].mean()) if n else math.nan for j, s in enumerate(scores.samplers)
    }
    floor = wilcoxon_floor(n)
    refused = None
    if floor >= alpha:
        refused = (
            f"with {plural(n, 'task')} no two-sided Wilcoxon signed-rank p-value can be below "
            f"{floor:.3g} (2 / 2^{n}), so none can reach {alpha}; the effects are shown alone"
        )
    return TaskTests(
        ranks,
        average,
        friedman(ranks, scores.samplers, alpha),
        pair_tests(means, scores.samplers),
        refused,
        min(1.0, floor * math.comb(k, 2)) if k >= 2 else math.nan,
    )
