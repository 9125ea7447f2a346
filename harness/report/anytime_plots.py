"""Figures of the anytime sections: every repeat drawn thinly under the aggregate (IQM) and its
band, so a reader sees how few repeats a band rests on; y axes that do not blow up tiny gaps."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from matplotlib.ticker import MaxNLocator

from harness.report.anytime import Aggregate, ReachCurve
from harness.report.plots import colour, legend_below, line_style, plt, save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MAX_REGRET_AXIS = 3.0  # normalised regret above 3x random's shortfall: off the top, said so


def _draw(
    ax: Axes,
    x: np.ndarray,
    matrices: Mapping[str, np.ndarray],
    aggs: Mapping[str, Aggregate],
    titles: Mapping[str, str],
    where: Literal["mid", "post"],
) -> None:
    """Per sampler, in its colour and line style: thin single repeats, the IQM on top and its
    band, as steps: ``where="mid"`` centres the value after n trials on n (the last trial gets
    its own step), "post" holds a value from the moment it was found (time)."""
    for index, (sampler, matrix) in enumerate(matrices.items()):
        c, title, agg = colour(sampler, index), titles[sampler], aggs[sampler]
        band = "bootstrap CI of the IQM" if agg.is_ci else f"range of {agg.repeats} repeats"
        # many repeats: a haze, not a thicket (100 repeats at 0.35 hid the IQM lines)
        alpha = 0.6 if len(matrix) <= 5 else 0.35 if len(matrix) <= 30 else 0.05
        for row_index, row in enumerate(matrix):
            label = f"{title}: single repeats" if row_index == 0 else None
            ax.step(x, row, where=where, color=c, lw=0.8, alpha=alpha, label=label)
        ax.step(
            x,
            agg.centre,
            where=where,
            color=c,
            lw=2.2,
            ls=line_style(index),
            label=f"{title}: IQM",
        )
        ax.fill_between(
            x, agg.low, agg.high, step=where, color=c, alpha=0.12, lw=0, label=f"{title}: {band}"
        )


def _seed_band(ax: Axes, x: np.ndarray, band: np.ndarray) -> None:
    ax.fill_between(  # hatched: the grey fill is the shared start-up's
        x,
        0,
        band,
        step="mid",
        facecolor="none",
        edgecolor="0.45",
        hatch="////",
        lw=0,
        label="within one seed-to-seed sd of the best known",
    )


def plot_regret(
    path: Path,
    x: np.ndarray,
    matrices: Mapping[str, np.ndarray],
    aggs: Mapping[str, Aggregate],
    titles: Mapping[str, str],
    *,
    normalised: bool,
    shared: int,
    title: str,
    ylabel: str,
    seed_band: np.ndarray | float | None = None,
) -> Path:
    """Regret by trial. Normalised: the axis runs from 0 (best known) past 1 (random search's
    expectation) and stops at MAX_REGRET_AXIS at most, with a note when lines run off it.
    ``seed_band``: one seed-to-seed sd of the objective in the axis' units (per trial count
    when normalised), drawn from 0 up: regret inside it is within one training run's noise."""
    fig, ax = plt.subplots(figsize=(8, 5.2))
    if seed_band is not None:
        _seed_band(ax, x, np.broadcast_to(np.asarray(seed_band, dtype=float), x.shape))
    _draw(ax, x, matrices, aggs, titles, where="mid")
    values = np.concatenate([m.ravel() for m in matrices.values()] or [np.empty(0)])
    values = values[np.isfinite(values)]
    centres = np.concatenate([a.high[1:] for a in aggs.values()] or [np.empty(0)])
    centres = centres[np.isfinite(centres)]
    if normalised:
        ax.axhline(1, color="black", ls=":", lw=1.2, label="random search's expected best (1)")
        ax.axhline(0, color="black", lw=0.8, label="best value known (0)")
        top = min(MAX_REGRET_AXIS, max(1.25, 1.1 * centres.max() if centres.size else 1.25))
    else:
        ax.axhline(0, color="black", lw=0.8, label="best value known (0)")
        top = 1.1 * (centres.max() if centres.size else 1.0) or 1.0
    above = int(np.sum(values > top))
    ax.set_ylim(-0.03 * top, top)
    if shared:
        ax.axvspan(
            x[0] - 0.5,
            shared + 0.5,
            color="grey",
            alpha=0.12,
            lw=0,
            label=f"trials 1-{shared}: shared by paired repeats of the first two samplers",
        )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    note = f"\n({above} repeat-trial values above {top:.2g} run off the top)" if above else ""
    ax.set_title(title + note, fontsize=10)
    ax.set_xlabel("trial number (finished trials, count)")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(alpha=0.3)
    legend_below(ax)
    return save_figure(fig, path)


def plot_by_time(
    path: Path,
    x: np.ndarray,
    matrices: Mapping[str, np.ndarray],
    aggs: Mapping[str, Aggregate],
    titles: Mapping[str, str],
    *,
    best_known: float,
    level: float | None,
    level_label: str,
    maximize: bool,
    title: str,
    xlabel: str,
    ylabel: str,
    seed_sd: float | None = None,
) -> Path:
    """Best so far by time in the objective's units. The window: from the 10th percentile of
    the drawn values (for maximisation; the first poor trials would flatten all else) to the
    best known value; its width goes into the title, so a narrow window is never a secret."""
    fig, ax = plt.subplots(figsize=(8, 5.2))
    if seed_sd:
        sign = -1.0 if maximize else 1.0
        ax.axhspan(  # hatched, as in the regret figure
            best_known,
            best_known + sign * seed_sd,
            facecolor="none",
            edgecolor="0.45",
            hatch="////",
            lw=0,
            label=f"within one seed-to-seed sd ({seed_sd:.1e}) of the best known",
        )
    _draw(ax, x, matrices, aggs, titles, where="post")
    ax.axhline(best_known, color="black", lw=0.8, label=f"best value known, {best_known:.4f}")
    if level is not None:
        ax.axhline(level, color="black", ls=":", lw=1.2, label=f"{level_label}, {level:.4f}")
    values = np.concatenate([m.ravel() for m in matrices.values()] or [np.empty(0)])
    values = values[np.isfinite(values)]
    refs = [best_known] + ([level] if level is not None else [])
    if values.size:
        edge = np.quantile(values, 0.1 if maximize else 0.9)
        low, high = (min(edge, *refs), max(refs)) if maximize else (min(refs), max(edge, *refs))
        pad = max(0.06 * (high - low), 1e-4)
        ax.set_ylim(low - pad, high + pad)
        width = high - low + 2 * pad
        cut = bool(np.any(values < low - pad) if maximize else np.any(values > high + pad))
        side = "below" if maximize else "above"
        title += f"\ny axis: a window {width:.3g} wide" + (
            f"; lines leaving it continue {side} (early, poor trials)" if cut else ""
        )
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    legend_below(ax)
    return save_figure(fig, path)


def plot_reach(
    path: Path,
    curves: Mapping[str, Mapping[str, ReachCurve]],
    titles: Mapping[str, str],
    *,
    budget: int,
    shared: int,
    title: str,
) -> Path:
    """One panel per target: the ECDF step curve per sampler from 0 at trial 0 to its last
    estimate at the budget; an 'x' at the budget marks censored repeats, counted in the title."""
    targets = list(curves)
    columns = min(2, len(targets))
    rows = math.ceil(len(targets) / columns)
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(5.2 * columns, 3.6 * rows + 0.8),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    for ax, target in zip(axes.ravel(), targets, strict=False):
        _reach_panel(ax, target, curves[target], titles, budget, shared)
    for ax in axes[-1, :]:
        ax.set_xlabel("trials (finished, count)")
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction of repeats (KM)")
    for ax in axes.ravel()[len(targets) :]:
        ax.axis("off")
    seen: dict = {}
    for ax in axes.ravel():  # a panel without censored repeats lacks their marker's entry
        handles, labels = ax.get_legend_handles_labels()
        seen.update({lb: h for lb, h in zip(labels, handles, strict=True) if lb not in seen})
    fig.legend(seen.values(), seen.keys(), loc="lower center", ncol=2, fontsize=8)
    fig.suptitle(title, fontsize=11)
    # the legend takes about an inch at the bottom, whatever the number of panel rows
    fig.tight_layout(rect=(0, 1.0 / fig.get_figheight(), 1, 1))
    return save_figure(fig, path)


def _reach_panel(
    ax: Axes,
    target: str,
    curves: Mapping[str, ReachCurve],
    titles: Mapping[str, str],
    budget: int,
    shared: int,
) -> None:
    """One target's panel: each sampler's ECDF, its censored repeats, the shared start-up."""
    for index, (sampler, curve) in enumerate(curves.items()):
        c, style = colour(sampler, index), line_style(index)
        # the last level runs a little past the budget, so a step at the budget shows
        xs = np.concatenate([[0.0], curve.trials, [budget + 0.6]])
        ys = np.concatenate(
            [[0.0], curve.fraction, [curve.fraction[-1] if curve.trials.size else 0.0]]
        )
        label = f"{titles[sampler]}: fraction of repeats that reached it"
        ax.step(xs, ys, where="post", color=c, lw=2, ls=style, label=label)
        if curve.censored_at.size:
            ax.plot(
                [budget],
                [ys[-1]],
                marker="x",
                ms=9,
                mew=2,
                color=c,
                ls="none",
                label=f"{titles[sampler]}: censored at the budget",
            )
    if shared:
        ax.axvspan(
            0,
            shared,
            color="grey",
            alpha=0.12,
            lw=0,
            label=f"trials 1-{shared}: shared by paired repeats of the first two samplers",
        )
    missed = ", ".join(
        f"{titles[s]} {c.repeats - c.reached} of {c.repeats}" for s, c in curves.items()
    )
    ax.set_title(f"{target}\nnot reached (x, censored): {missed}", fontsize=9)
    ax.set_xlim(0, budget + 0.8)
    ax.set_ylim(-0.03, 1.08)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
