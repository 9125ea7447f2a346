"""The importance section's figures: importances as grouped bars with their intervals, and a
slice plot of every completed trial's value against each hyperparameter."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial

from harness.report.plots import FALLBACK_COLOURS, colour, plt, save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_importances(
    path: Path,
    table: Mapping[str, Mapping[str, float]],
    *,
    title: str,
    colours: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
    intervals: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
    interval_label: str = "interval",
) -> Path:
    """Grouped horizontal bars: one group per hyperparameter (in ``order``, top down, else by
    largest importance), one bar per trial set, each with its (low, high) interval as an error
    bar where ``intervals`` has one."""
    columns = list(table)
    params = (
        list(order)
        if order
        else sorted(
            {p for col in table.values() for p in col},
            key=lambda p: -max(col.get(p, 0.0) for col in table.values()),
        )
    )
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.75 * max(len(params), 1)))
    height = 0.8 / max(len(columns), 1)
    y = np.arange(len(params))
    for index, column in enumerate(columns):
        values = [table[column].get(p, 0.0) for p in params]
        fill = (colours or {}).get(column, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])
        ax.barh(y + index * height, values, height=height, label=column, color=fill)
        bounds = (intervals or {}).get(column, {})
        drawn = [i for i, p in enumerate(params) if np.all(np.isfinite(bounds.get(p, np.nan)))]
        if drawn:
            # percentile intervals need not contain the estimate: clip the arms at zero length
            low = [max(values[i] - bounds[params[i]][0], 0.0) for i in drawn]
            high = [max(bounds[params[i]][1] - values[i], 0.0) for i in drawn]
            ax.errorbar(
                [values[i] for i in drawn],
                y[drawn] + index * height,
                xerr=[low, high],
                fmt="none",
                ecolor="black",
                elinewidth=1,
                capsize=2,
                label=interval_label if index == 0 else None,
            )
    ax.set_yticks(y + height * (len(columns) - 1) / 2, params)
    ax.invert_yaxis()  # most important on top
    ax.set_xlim(0, 1)
    ax.set_title(title)
    ax.set_xlabel("importance (fraction of the total, each bar set sums to 1)")
    ax.set_ylabel("hyperparameter")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    return save_figure(fig, path)


UNITS = {
    "hidden_size": "units in the first hidden layer",
    "lr": "Adam step size",
    "batch_size": "rows per minibatch",
    "weight_decay": "L2 strength",
    "dropout": "probability",
}


def plot_slices(
    path: Path,
    trials: Mapping[str, Sequence[FrozenTrial]],
    distributions: Mapping[str, BaseDistribution],
    titles: Mapping[str, str],
    *,
    title: str,
    ylabel: str,
    maximize: bool = True,
) -> Path:
    """One panel per hyperparameter: each completed trial's value against its setting."""
    names = list(distributions)
    columns = min(3, max(len(names), 1))
    rows = math.ceil(max(len(names), 1) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 3.4 * rows + 0.6), squeeze=False, sharey=True
    )
    all_values = np.array([t.value for ts in trials.values() for t in ts], dtype=float)
    low, high = _value_window(all_values, maximize)
    clipped = int(np.sum(all_values < low)) if maximize else int(np.sum(all_values > high))
    for ax, name in zip(axes.ravel(), names, strict=False):
        dist = distributions[name]
        for index, (sampler, group) in enumerate(trials.items()):
            xs = [t.params[name] for t in group if name in t.params]
            ys = np.array([t.value for t in group if name in t.params], dtype=float)
            ys = np.clip(ys, low, high)
            xs_plot = _positions(xs, dist)
            ax.scatter(
                xs_plot,
                ys,
                s=14,
                alpha=0.6,
                color=colour(sampler, index),
                label=titles[sampler] + " trials",
            )
        _axis_for(ax, dist)
        unit = UNITS.get(name, "")
        ax.set_xlabel(f"{name} ({unit})" if unit else name)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
        ax.set_ylim(low, high)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    note = f"; {clipped} trial(s) below the axis drawn on its edge" if clipped else ""
    fig.legend(handles, labels, loc="lower right", fontsize=9)
    fig.suptitle(title + note)
    fig.tight_layout()
    return save_figure(fig, path)


def _value_window(values: np.ndarray, maximize: bool) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    if maximize:
        low, high = np.quantile(values, 0.1), values.max()
    else:
        low, high = values.min(), np.quantile(values, 0.9)
    pad = max(0.05 * (high - low), 1e-4)
    return float(low - pad), float(high + pad)


def _positions(xs: list, dist: BaseDistribution) -> np.ndarray:
    if isinstance(dist, CategoricalDistribution):
        choices = list(dist.choices)
        index = np.array([choices.index(x) for x in xs], dtype=float)
        jitter = np.resize(np.linspace(-0.15, 0.15, 7), index.size)
        return index + jitter
    return np.asarray(xs, dtype=float)


def _axis_for(ax: Axes, dist: BaseDistribution) -> None:
    if isinstance(dist, CategoricalDistribution):
        ax.set_xticks(range(len(dist.choices)), [str(c) for c in dist.choices])
    elif isinstance(dist, FloatDistribution | IntDistribution):
        low, high = float(dist.low), float(dist.high)
        if dist.log:
            ax.set_xscale("log")
            ax.set_xlim(low / 1.25, high * 1.25)
            if isinstance(dist, IntDistribution):
                # A short integer range on a log axis gets crowded "2x10^1" minor labels:
                # label a few plain integers instead.
                from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

                ax.xaxis.set_major_locator(LogLocator(base=2))
                ax.xaxis.set_major_formatter(ScalarFormatter())
                ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            pad = 0.03 * (high - low) or 0.5
            ax.set_xlim(low - pad, high + pad)
