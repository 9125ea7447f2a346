"""Figures of the across-task analysis: each sampler's IQM of normalised regret with its
stratified-bootstrap interval, over the tasks' own means (rliable's interval-estimate plot).
The critical-difference diagram is outcome_plots' own, drawn with tasks as blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.report.across_tasks_stats import Aggregates
from harness.report.plots import colour, plt, save_figure


def plot_iqm(
    path: Path,
    aggregates: Aggregates,
    task_means: np.ndarray,
    samplers: list[str],
    *,
    title: str,
    band: str,
) -> Path:
    """One row per sampler, best (lowest IQM) at the top: the IQM as a square, its interval as
    a bar (``band`` names it), each task's mean regret as a faint dot; lines at 0 (best known)
    and 1 (random search's expected value)."""
    order = sorted(range(len(samplers)), key=lambda j: aggregates.iqm[samplers[j]].estimate)
    fig, ax = plt.subplots(figsize=(7.5, 1.4 + 0.55 * len(samplers)))
    ax.axvline(0, color="black", lw=0.8, ls="--", label="0: best known value")
    ax.axvline(1, color="grey", lw=0.8, ls=":", label="1: random search's expected value")
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, task_means.shape[0])
    for row, j in enumerate(reversed(order)):
        sampler = samplers[j]
        c = colour(sampler, j)
        value = aggregates.iqm[sampler]
        ax.plot(task_means[:, j], row + jitter, "o", color=c, alpha=0.35, ms=4, mec="none")
        if value.has_interval:
            ax.plot([value.low, value.high], [row, row], color=c, lw=3, alpha=0.8)
        ax.plot([value.estimate], [row], "s", color="black", ms=6)
    ax.plot([], [], "o", color="grey", alpha=0.5, ms=4, mec="none", label="a task's mean")
    ax.plot([], [], "s", color="black", ms=6, label="IQM over tasks x repeats")
    if any(v.has_interval for v in aggregates.iqm.values()):
        ax.plot([], [], color="grey", lw=3, label=band)
    ax.set_yticks(range(len(samplers)), [samplers[j] for j in reversed(order)])
    ax.set_ylim(-0.6, len(samplers) - 0.4)
    ax.set_xlabel("normalised regret (0 = best known, 1 = random search's expected value)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=7)
    return save_figure(fig, path)
