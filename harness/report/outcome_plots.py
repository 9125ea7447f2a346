"""Figures on the primary outcome (retrained test AUROC): the verdict's paired differences, and
the ranks' critical-difference diagram for three or more samplers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.experiment.verdict import MARGIN
from harness.report.plots import colour, plt, save_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from harness.report.verdict_analysis import PrimaryAnalysis


def plot_paired_differences(
    path: Path,
    analysis: PrimaryAnalysis,
    names: tuple[str, str],
    *,
    seed_sd: float | None,
    seeds: int | None,
    outcome: str = "test AUROC",
) -> Path:
    """Pairs a look judged as filled dots, pairs beyond the last look as open circles (not yet
    judged); the last look's interval is the one its outcome rests on, labelled with its level
    and purpose, as in the headline and the looks table. Beside them: the ±margin band and,
    for scale, the noise a difference of two K-seed means has from training seeds alone."""
    d = analysis.differences
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    x = np.arange(1, d.size + 1)
    design = analysis.design
    m = design.plan.margin if design is not None else MARGIN
    _bands(ax, m, seed_sd, seeds)
    pair = f"{names[0]} - {names[1]}"
    _pairs(ax, analysis, x, d, pair)
    ends = _final(ax, analysis)
    # Symmetric limits around 0 that show the margin whole: a 1e-4 gap is not blown up to
    # fill the axis, and a large one still fits.
    extent = max(2 * m, float(np.abs(d).max(initial=0)) * 1.15, *ends)
    ax.set_ylim(-extent, extent)
    ax.set_xlim(0.3, d.size + 0.9)
    if d.size <= 30:
        ax.set_xticks(x)
    else:  # every pair's number would overlap its neighbours'
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    ax.set_xlabel("pair (repeat r runs both samplers with seed r, counted from 1)")
    ax.set_ylabel(f"difference in retrained {outcome}")
    ax.set_title(f"{pair}: paired differences in {outcome}", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return save_figure(fig, path)


def _bands(ax: Axes, margin: float, seed_sd: float | None, seeds: int | None) -> None:
    ax.axhspan(
        -margin, margin, color="#2ca02c", alpha=0.12, label=f"±{margin:g}: no practical difference"
    )
    if seed_sd is not None and seeds:
        noise = seed_sd * math.sqrt(2 / seeds)
        ax.axhspan(
            -noise,
            noise,
            color="grey",
            alpha=0.18,
            label=f"±1 sd of a difference from training seeds alone ({seeds} seeds each)",
        )
    ax.axhline(0, color="black", lw=0.8)


def _pairs(ax: Axes, analysis: PrimaryAnalysis, x: np.ndarray, d: np.ndarray, pair: str) -> None:
    """Each pair's difference with its test-row sampling error (DeLong), where stored."""
    judged = analysis.design.last_look if analysis.design is not None else 0
    split = analysis.split.pair_se if analysis.split is not None else {}
    se = np.array([split.get(repeat, np.nan) for repeat, _, _ in analysis.pairs])
    if np.isfinite(se).any():
        ax.errorbar(
            x,
            d,
            yerr=np.where(np.isfinite(se), se, 0.0),
            fmt="none",
            ecolor="#1f77b4",
            elinewidth=0.9,
            capsize=2,
            alpha=0.6,
            label="±1 test-row sampling SE of a pair (DeLong)",
        )
    if judged:
        ax.plot(x[:judged], d[:judged], "o", color="#1f77b4", ms=5, label=f"a pair: {pair}")
    if judged < d.size:
        ax.plot(
            x[judged:],
            d[judged:],
            "o",
            mfc="none",
            color="#1f77b4",
            ms=6,
            label="a pair no look has judged yet",
        )


def _final(ax: Axes, analysis: PrimaryAnalysis) -> list[float]:
    """The last look's interval, the one its outcome rests on; returns how far it reaches."""
    final = analysis.final
    if final is None:
        return [0.0]
    equivalent = final.outcome == "equivalent"
    interval = final.equivalence if equivalent else final.mean
    purpose = "equivalence (1 - 2 x level)" if equivalent else "direction (1 - level)"
    ax.errorbar(
        [final.pairs + 0.5],
        [interval.estimate],
        yerr=[[interval.estimate - interval.low], [interval.high - interval.estimate]],
        fmt="s",
        color="black",
        capsize=4,
        label=f"look at {final.pairs} pairs: mean, {100 * interval.level:.1f}% "
        f"{purpose} interval, level {final.level:.4f}",
    )
    return [abs(interval.low) * 1.1, abs(interval.high) * 1.1]


def plot_critical_difference(
    path: Path,
    means: dict[str, float],
    nemenyi: pd.DataFrame,
    critical: float,
    labels: dict[str, str],
    *,
    title: str,
    alpha: float,
) -> Path:
    """The CD diagram of ``means`` (title -> average rank); ``labels`` maps a title to its
    sampler label, which fixes its colour as in the other figures."""
    import scikit_posthocs

    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * len(means)))
    palette = {t: colour(labels[t], i) for i, t in enumerate(means)}
    # The library's own CD bar (cd=...) is drawn over its rank axis' labels: the critical
    # difference goes in the title instead, and the axis spans every possible rank.
    drawn = scikit_posthocs.critical_difference_diagram(
        means, nemenyi, ax=ax, alpha=alpha, color_palette=palette
    )
    # Each bar is a line through its samplers' ranks in the iteration order of a set of their
    # names, which follows PYTHONHASHSEED: the same bar, drawn in another order, anti-aliases
    # into other PNG bytes. Sorted, the figure is the same in every process.
    for bar in drawn["crossbars"]:
        for line in bar:
            line.set_xdata(np.sort(np.asarray(line.get_xdata(), dtype=float)))
    ax.set_xlim(1, len(means))
    fig.suptitle(
        f"{title}\naxis: average rank, 1 = best; critical difference {critical:.2f}",
        fontsize=9,
        y=1.12,
    )
    return save_figure(fig, path)
