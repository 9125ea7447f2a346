"""The report's ranks section for runs of three or more samplers, on the primary outcome
(retrained test AUROC): average ranks over repeats, a Friedman test, Nemenyi and
Holm-corrected pairwise Wilcoxon tests, a critical-difference diagram; and, as a secondary
view, average ranks by the search's own objective at several trial budgets.

A pairwise test per pair (the verdict) multiplies comparisons as samplers are added; the
Friedman test asks once whether the samplers' ranks differ at all, and the Nemenyi post-hoc
test (scikit-posthocs) and Holm's correction of pairwise Wilcoxon tests (statsmodels) say
which pairs do, with the family-wise error held at ALPHA (Demšar 2006, as HPO benchmarks
report it).
"""

from __future__ import annotations

import warnings
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as scipy_stats

from harness.experiment.retrain import primary_score
from harness.report import ranks_text as text
from harness.report.config import ALPHA, CONFIDENCE, budgets
from harness.report.markdown import ci_text, md_table, signed_difference
from harness.report.stats import paired_wilcoxon, trial_curve

if TYPE_CHECKING:
    import pandas as pd

    from harness.report.context import ReportContext
    from harness.report.load import RunData
    from harness.report.markdown import Figures

MIN_SAMPLERS = 3  # with two, the verdict's paired test already says everything
LEVEL = f"{100 * CONFIDENCE:.0f}%"


def common_repeats(data: RunData) -> list[int]:
    """The repeats in which every sampler has a study (only these can be ranked together)."""
    sets = [{st.repeat for st in data.of(s)} for s in data.samplers]
    return sorted(set.intersection(*sets)) if sets else []


def rank_matrix(data: RunData, repeats: list[int], budget: int) -> np.ndarray:
    """Ranks (repeats x samplers) of each repeat's best-so-far objective after ``budget``
    finished trials: 1 is the best, ties share their average rank, a study with no value yet
    ranks last."""
    studies = {(st.sampler, st.repeat): st for st in data.studies}
    values = np.full((len(repeats), len(data.samplers)), np.nan)
    for i, repeat in enumerate(repeats):
        for j, sampler in enumerate(data.samplers):
            curve = trial_curve(studies[(sampler, repeat)].trials, data.maximize)[:budget]
            if curve.size:
                values[i, j] = curve[-1]
    worse_first = np.where(np.isnan(values), np.inf, -values if data.maximize else values)
    return scipy_stats.rankdata(worse_first, axis=1, method="average")


def retrained_values(data: RunData) -> tuple[list[int], np.ndarray]:
    """(repeats, repeats x samplers of retrained test AUROC): the primary outcome's metric, in
    the repeats where every sampler's chosen configuration was retrained."""
    means = {
        (r.get("sampler"), r.get("repeat")): primary_score(r)
        for r in (data.retrain or {"records": []})["records"]
    }
    repeats = [
        repeat
        for repeat in common_repeats(data)
        if all(means.get((s, repeat)) is not None for s in data.samplers)
    ]
    values = np.array([[means[(s, r)] for s in data.samplers] for r in repeats], dtype=float)
    return repeats, values.reshape(len(repeats), len(data.samplers))


def section_ranks(report: ReportContext) -> list[str]:
    """On the primary outcome (retrained test AUROC): average ranks, Friedman, Nemenyi and
    Holm-corrected pairwise Wilcoxon tests, the CD diagram; then, as a secondary view, average
    ranks by the search's own objective at several trial budgets."""
    data, figures = report.data, report.figures
    if len(data.samplers) < MIN_SAMPLERS:
        return []
    lines = ["## Ranks of the samplers", ""]
    repeats = common_repeats(data)
    if not repeats:
        return [*lines, text.NO_COMMON_REPEAT, ""]
    tested, values = retrained_values(data)
    if len(tested) >= 2:
        lines += _primary(data, tested, values, figures)
    else:
        lines += [
            text.TOO_FEW_RETRAINED.format(repeats=len(tested), primary=data.primary_title),
            "",
        ]
    return lines + _secondary(data, repeats)


def _primary(data: RunData, repeats: list[int], values: np.ndarray, figures: Figures) -> list[str]:
    ranks = scipy_stats.rankdata(-values, axis=1, method="average")  # 1 = highest AUROC
    rows = [
        [data.title(s), f"{ranks[:, j].mean():.2f}", f"{values[:, j].mean():.4f}"]
        for j, s in enumerate(data.samplers)
    ]
    return [
        text.PRIMARY.format(repeats=len(repeats), primary=data.primary_title),
        "",
        md_table(["sampler", "average rank", f"mean {data.primary_title}"], rows),
        "",
        *_tests(data, ranks, values, len(repeats), figures),
    ]


def _secondary(data: RunData, repeats: list[int]) -> list[str]:
    steps = budgets(data.target)
    matrices = {b: rank_matrix(data, repeats, b) for b in steps}
    rows = [
        [data.title(s), *(f"{matrices[b][:, j].mean():.2f}" for b in steps)]
        for j, s in enumerate(data.samplers)
    ]
    header = ["sampler", *(f"after {b} trials" for b in steps)]
    return [
        text.SECONDARY.format(metric=data.metric, repeats=len(repeats)),
        "",
        md_table(header, rows),
        "",
    ]


def _tests(
    data: RunData, ranks: np.ndarray, values: np.ndarray, n: int, figures: Figures
) -> list[str]:
    import scikit_posthocs

    from harness.report.outcome_plots import plot_critical_difference

    titles = [data.title(s) for s in data.samplers]
    with warnings.catch_warnings():  # identical ranks in every repeat: a NaN statistic
        warnings.simplefilter("ignore", RuntimeWarning)
        friedman = scipy_stats.friedmanchisquare(*ranks.T)
    # Nemenyi ranks within each repeat again, so the ranks give the same p-values as the
    # values would, and a study with no value stays last.
    nemenyi = scikit_posthocs.posthoc_nemenyi_friedman(ranks)
    nemenyi.index = nemenyi.columns = titles
    k = len(titles)
    critical = (
        scipy_stats.studentized_range.isf(ALPHA, k, np.inf)
        / np.sqrt(2)
        * np.sqrt(k * (k + 1) / (6 * n))
    )  # Nemenyi's critical difference of average ranks (Demšar 2006, eq. 5)
    p = float(friedman.pvalue)
    outcome = (text.FRIEDMAN_DIFFER if p < ALPHA else text.FRIEDMAN_SAME).format(alpha=ALPHA)
    primary = data.primary_title
    friedman_line = text.FRIEDMAN.format(
        n=n, k=k, statistic=friedman.statistic, p=p, outcome=outcome, primary=primary
    )
    if np.isnan(p):  # every repeat ties every sampler: SciPy's statistic is 0 / 0
        friedman_line = text.FRIEDMAN_TIED.format(n=n, primary=primary)
    lines = [friedman_line, ""]
    means = dict(zip(titles, ranks.mean(axis=0), strict=True))
    lines += _nemenyi_words(nemenyi, titles, means, n)
    lines += _holm_wilcoxon(data, values)
    png = plot_critical_difference(
        figures.path("critical_difference.png"),
        means,
        nemenyi,
        float(critical),
        dict(zip(titles, data.samplers, strict=True)),
        title=text.CD_TITLE.format(n=n, alpha=ALPHA, primary=primary),
        alpha=ALPHA,
    )
    lines += [
        text.CD.format(alpha=ALPHA, critical=critical, primary=primary),
        "",
        figures.image(png, "critical-difference diagram of the samplers' average ranks"),
        "",
    ]
    return lines


def _nemenyi_words(
    nemenyi: pd.DataFrame, titles: list[str], means: dict[str, float], n: int
) -> list[str]:
    different = [
        (a, b, float(nemenyi.loc[a, b]))
        for i, a in enumerate(titles)
        for b in titles[i + 1 :]
        if nemenyi.loc[a, b] < ALPHA
    ]
    if different:
        pairs = "; ".join(f"{_better(a, b, means)} (p = {q:.3g})" for a, b, q in different)
        return [text.NEMENYI_DIFFER.format(alpha=ALPHA, n=n, pairs=pairs), ""]
    return [text.NEMENYI_SAME.format(alpha=ALPHA, n=n), ""]


def _holm_wilcoxon(data: RunData, values: np.ndarray) -> list[str]:
    """Every sampler pair: the paired difference in retrained test AUROC with its CONFIDENCE
    t-interval, the two-sided Wilcoxon signed-rank p-value and its Holm-adjusted value
    (statsmodels ``multipletests``), which holds the family-wise error at ALPHA."""
    from statsmodels.stats.multitest import multipletests

    from harness.experiment.verdict import mean_interval

    pairs = list(combinations(range(len(data.samplers)), 2))
    tests = [paired_wilcoxon(values[:, i], values[:, j]) for i, j in pairs]
    adjusted = multipletests([t.p_value for t in tests], alpha=ALPHA, method="holm")[1]
    rows = []
    for (i, j), test, holm in zip(pairs, tests, adjusted, strict=True):
        d = values[:, i] - values[:, j]
        ci = mean_interval(d, CONFIDENCE) if np.ptp(d) > 0 else None
        interval = ci_text(ci) if ci is not None else signed_difference(float(d.mean()))
        rows.append(
            [
                f"{data.title(data.samplers[i])} - {data.title(data.samplers[j])}",
                interval,
                f"{test.p_value:.3g} ({test.method})",
                f"{holm:.3g}" + (" *" if holm < ALPHA else ""),
            ]
        )
    n = values.shape[0]
    floor = 2 / 2**n  # the smallest two-sided exact p-value with n pairs and no ties
    header = ["pair", f"mean difference [{LEVEL} t-CI]", "Wilcoxon p", "Holm-adjusted p"]
    return [
        text.HOLM.format(
            pairs=len(pairs), alpha=ALPHA, n=n, floor=floor, primary=data.primary_title
        ),
        "",
        md_table(header, rows),
        "",
    ]


def _better(a: str, b: str, means: dict[str, float]) -> str:
    first, second = (a, b) if means[a] < means[b] else (b, a)
    return f"{first} ranks better than {second} ({means[first]:.2f} vs {means[second]:.2f})"
