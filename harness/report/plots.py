"""What every figure of the report shares: matplotlib's Agg backend (files only, no display),
a colour and line style per sampler (so TPE and random look the same in every figure), and
the one way a figure is saved.

The figures themselves are drawn beside their sections' numbers, one module per kind:
``outcome_plots`` (the primary outcome: the verdict's paired differences, the ranks'
critical-difference diagram), ``anytime_plots`` (the search's own objective: regret by trial,
best so far by compute, trials to target) and ``importance_plots`` (hyperparameters:
importances, slices). Every figure has a title, axis labels with units and a legend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, never a window

import matplotlib.pyplot as plt

from harness.files import replacing

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "COLOURS",
    "FALLBACK_COLOURS",
    "LINE_STYLES",
    "colour",
    "legend_below",
    "line_style",
    "plt",
    "save_figure",
]

COLOURS = {"tpe": "#1f77b4", "random": "#ff7f0e"}
FALLBACK_COLOURS = ("#2ca02c", "#d62728", "#9467bd", "#8c564b")
LINE_STYLES = ("-", "--", "-.", ":")
DPI = 120


def colour(sampler: str, index: int = 0) -> str:
    """A sampler's colour: its own in COLOURS, else the ``index``-th fallback."""
    return COLOURS.get(sampler, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])


def line_style(index: int) -> str:
    return LINE_STYLES[index % len(LINE_STYLES)]


def legend_below(ax: Axes) -> None:
    # below the axes: inside, it would hide the curves' ends, where the comparison is made
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=8)


def save_figure(fig: Figure, path: Path) -> Path:
    """The figure as a PNG at ``path``, written whole or not at all (harness.files), and
    closed: the report draws many figures in one process."""
    try:
        with replacing(path) as temporary:
            fig.savefig(temporary, dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
