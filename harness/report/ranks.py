"""The report's ranks section for runs of three or more samplers: average ranks over repeats
at several trial budgets, a Friedman test and a critical-difference diagram.

A pairwise test per pair (the verdict) multiplies comparisons as samplers are added; the
Friedman test asks once whether the samplers' ranks differ at all, and the Nemenyi post-hoc
test (scikit-posthocs) says which pairs do, with the family-wise error held at ALPHA (Demšar
2006, as HPO benchmarks report it).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as scipy_stats

from harness.experiment.verdict import ALPHA
from harness.report.anytime_inputs import BUDGETS  # early budgets ranked besides the target
from harness.report.stats import trial_curve
from harness.report.tables import md_table

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from harness.report.load import RunData
    from harness.report.write import Figures

MIN_SAMPLERS = 3  # with two, the verdict's paired test already says everything


def common_repeats(data: RunData) -> list[int]:
    """The repeats in which every sampler has a study (only these can be ranked together)."""
    sets = [{st.repeat for st in data.of(s)} for s in data.samplers]
    return sorted(set.intersection(*sets)) if sets else []


def budgets(target: int) -> list[int]:
    return [b for b in BUDGETS if b < target] + [target]


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


def section_ranks(data: RunData, figures: Figures) -> list[str]:
    """Average ranks per budget, Friedman and Nemenyi at the full budget, the CD diagram."""
    if len(data.samplers) < MIN_SAMPLERS:
        return []
    lines = ["## Ranks of the samplers", ""]
    repeats = common_repeats(data)
    if not repeats:
        return [*lines, "No repeat has a study of every sampler: nothing to rank.", ""]
    steps = budgets(data.target)
    matrices = {b: rank_matrix(data, repeats, b) for b in steps}
    lines += [
        f"Per repeat, the samplers are ranked by their best {data.metric} after *n* finished "
        f"trials (rank 1 = best; ties share their average rank); the table gives the average "
        f"rank over the {len(repeats)} repeat(s) in which every sampler has a study.",
        "",
    ]
    rows = [
        [data.title(s), *(f"{matrices[b][:, j].mean():.2f}" for b in steps)]
        for j, s in enumerate(data.samplers)
    ]
    header = ["sampler", *(f"after {b} trials" for b in steps)]
    lines += [md_table(header, rows), ""]
    if len(repeats) < 2:
        return [
            *lines,
            f"Only {len(repeats)} repeat: the Friedman test needs at least 2, so "
            "these ranks show no difference between the samplers.",
            "",
        ]
    return lines + _tests(data, matrices[data.target], len(repeats), figures)


def _tests(data: RunData, ranks: np.ndarray, n: int, figures: Figures) -> list[str]:
    import scikit_posthocs

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
    lines = [
        f"**Friedman test** after {data.target} trials over {n} repeats and {k} samplers: "
        f"χ² = {friedman.statistic:.3f}, p = {p:.4g} (SciPy's friedmanchisquare). "
        + (
            f"The ranks differ by more than chance would make them at the {ALPHA} level."
            if p < ALPHA
            else f"At the {ALPHA} level the ranks do not differ by more than chance would "
            "make them."
        ),
        "",
    ]
    different = [
        (a, b, float(nemenyi.loc[a, b]))
        for i, a in enumerate(titles)
        for b in titles[i + 1 :]
        if nemenyi.loc[a, b] < ALPHA
    ]
    means = dict(zip(titles, ranks.mean(axis=0), strict=True))
    if different:
        pairs = "; ".join(f"{_better(a, b, means)} (p = {q:.3g})" for a, b, q in different)
        lines += [
            f"**Nemenyi post-hoc test** (scikit-posthocs) at {ALPHA}, with {n} repeats: "
            f"{pairs}. No other pair differs at that level.",
            "",
        ]
    else:
        lines += [
            f"**Nemenyi post-hoc test** (scikit-posthocs): no pair of samplers differs at "
            f"the {ALPHA} level with {n} repeats, so these ranks do not show that any "
            "sampler is better than another; more repeats give the test more power.",
            "",
        ]
    png = _plot(
        figures.path("critical_difference.png"),
        means,
        nemenyi,
        float(critical),
        dict(zip(titles, data.samplers, strict=True)),
        f"Average rank after {data.target} trials over {n} repeats (bars join samplers "
        f"the Nemenyi test cannot tell apart at {ALPHA})",
    )
    lines += [
        f"Critical-difference diagram: each sampler at its average rank (1 = best); a bar joins "
        f"samplers whose difference the Nemenyi test does not find at {ALPHA}; the critical "
        f"difference of average ranks is {critical:.2f}.",
        "",
        figures.image(png, "critical-difference diagram of the samplers' average ranks"),
        "",
    ]
    return lines


def _better(a: str, b: str, means: dict[str, float]) -> str:
    first, second = (a, b) if means[a] < means[b] else (b, a)
    return f"{first} ranks better than {second} ({means[first]:.2f} vs {means[second]:.2f})"


def _plot(
    path: Path,
    means: dict[str, float],
    nemenyi: pd.DataFrame,
    critical: float,
    labels: dict[str, str],
    title: str,
) -> Path:
    """The CD diagram of ``means`` (title -> average rank); ``labels`` maps a title to its
    sampler label, which fixes its colour as in the other figures."""
    import scikit_posthocs

    from harness.report.plots import DPI, colour  # (plots sets matplotlib's Agg backend)

    import matplotlib.pyplot as plt  # isort: skip

    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * len(means)))
    palette = {t: colour(labels[t], i) for i, t in enumerate(means)}
    # The library's own CD bar (cd=...) is drawn over its rank axis' labels: the critical
    # difference goes in the title instead, and the axis spans every possible rank.
    scikit_posthocs.critical_difference_diagram(
        means, nemenyi, ax=ax, alpha=ALPHA, color_palette=palette
    )
    ax.set_xlim(1, len(means))
    fig.suptitle(
        f"{title}\naxis: average rank, 1 = best; critical difference {critical:.2f}",
        fontsize=9,
        y=1.12,
    )
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path
