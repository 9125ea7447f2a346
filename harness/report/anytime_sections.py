"""The report's anytime section: what it measures (the search's own objective) and how that
reads against the verdict, normalised regret by trial with the absolute gap beside it, win
probabilities with a sign test, the area under the regret curve; then best so far by compute
time (harness.report.anytime_time).

The numbers come from harness.report.anytime on the inputs of harness.report.anytime_inputs;
this module formats them and names every choice (aggregate, band, interval) in the text.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as scipy_stats

from harness.experiment.design import read_design
from harness.experiment.retrain import primary_pairs
from harness.experiment.runs import run_dir
from harness.report.anytime import (
    MIN_REPEATS_FOR_CI,
    Aggregate,
    aggregate,
    band_label,
    paired_difference,
)
from harness.report.anytime_inputs import Anytime
from harness.report.config import CONFIDENCE, IQM_BOOTSTRAP
from harness.report.load import RunData
from harness.report.markdown import fmt, md_table, signed_difference

if TYPE_CHECKING:
    from harness.report.context import ReportContext


def _cell(agg: Aggregate, index: int, digits: int = 2, gap: Aggregate | None = None) -> str:
    if not np.isfinite(agg.centre[index]):
        return "—"
    text = (
        f"{agg.centre[index]:.{digits}f} [{agg.low[index]:.{digits}f}, "
        f"{agg.high[index]:.{digits}f}]"
    )
    if gap is not None and np.isfinite(gap.centre[index]):
        text += f"; gap {gap.centre[index]:.1e}"
    return text


def section_anytime(report: ReportContext) -> list[str]:
    """What the anytime numbers measure, and normalised regret by trial (figure and table)."""
    from harness.report.anytime_plots import plot_regret

    data, figures, run = report.data, report.figures, report.anytime
    normalised = run.reference is not None
    matrices = {s: run.regret(s) for s in data.samplers}
    aggs = {s: aggregate(m, **IQM_BOOTSTRAP.arguments()) for s, m in matrices.items()}
    gaps = {s: aggregate(run.gap(s), **IQM_BOOTSTRAP.arguments()) for s in data.samplers}
    repeats = min((m.shape[0] for m in matrices.values()), default=0)
    digits = 2 if normalised else 4  # plain regret is in objective units: AUROC gaps of 1e-3
    what = "normalised regret" if normalised else f"regret ({data.metric})"
    lines = [f"## Anytime performance on the search's own objective: {what} by trial", ""]
    lines += _what_it_measures(data, run)
    lines += _regret_text(data, run, normalised, repeats)
    scale = run.scale()
    png = plot_regret(
        figures.path("regret_by_trial.png"),
        np.arange(1, run.target + 1),
        matrices,
        aggs,
        data.titles,
        normalised=normalised,
        shared=run.shared,
        seed_band=(
            None
            if run.seed_sd is None
            else run.seed_sd / (scale if normalised and scale is not None else 1.0)
        ),
        title=f"{what[0].upper() + what[1:]} by trial on {data.metric} (IQM over repeats, "
        f"band: {'bootstrap CI' if repeats >= MIN_REPEATS_FOR_CI else 'range of repeats'})",
        ylabel=(
            "normalised regret (0 = best known, 1 = random search's expectation)"
            if normalised
            else f"regret ({data.metric}, best known - best so far)"
        ),
    )
    lines += [figures.image(png, f"{what} by trial"), ""]
    return lines + _regret_table(data, run, aggs, gaps if normalised else None, digits, what)


def section_wins(report: ReportContext) -> list[str]:
    """Win probabilities of each sampler pair after n trials, with a sign test."""
    return _wins(report.data, report.anytime)


def _regret_table(
    data: RunData,
    run: Anytime,
    aggs: dict[str, Aggregate],
    gaps: dict[str, Aggregate] | None,
    digits: int,
    what: str,
) -> list[str]:
    """The regret after each trial budget, with the absolute gap beside a normalised one."""
    rows = [
        [
            data.title(s),
            str(aggs[s].repeats),
            *[_cell(aggs[s], n - 1, digits, gaps[s] if gaps else None) for n in run.budgets],
        ]
        for s in data.samplers
    ]
    gap_words = (
        f"; after it, the gap: the IQM of the plain regret (best known - best so far) in "
        f"{data.metric} itself"
        if gaps
        else ""
    )
    repeats = min((agg.repeats for agg in aggs.values()), default=0)
    return [
        f"{what[0].upper() + what[1:]} after *n* trials, IQM [band: {band_label(repeats)}]"
        f"{gap_words}; lower is better:",
        "",
        md_table(["sampler", "repeats", *[f"n = {n}" for n in run.budgets]], rows),
        "",
    ]


def _what_it_measures(data: RunData, run: Anytime) -> list[str]:
    """The label every anytime number carries, and the one sentence that reads them against
    the verdict."""
    optimism = (
        f" Retrained with fresh seeds, the studies' chosen configurations scored "
        f"{run.optimism[0]:.1e} {'lower' if data.maximize else 'higher'} on average than "
        f"their search value ({run.optimism[1]} studies): that is the selection's optimism."
        if run.optimism
        else ""
    )
    return [
        f"**What these sections measure.** From here to the trials-to-target section every "
        f"number is on the search's own objective, the {data.metric} of each trial's single "
        "training run, not the verdict's primary outcome. A best-so-far value is the best of "
        f"many noisy values, so it is optimistically biased by selection.{optimism} "
        + _reconcile(data, run),
        "",
    ]


def _reconcile(data: RunData, run: Anytime) -> str:
    """One sentence: the final best-so-far gap of the primary pair, in seed-to-seed sds, beside
    the primary outcome's difference as the last recorded look gives it."""
    design = read_design(run_dir(data.run, data.runs_root) / "plan.json")
    pair = design.pair if design is not None else tuple(data.samplers[:2])
    if len(pair) < 2 or not set(pair) <= set(run.curves):
        return ""
    a, b = pair
    common = sorted(set(run.curves[a]) & set(run.curves[b]))
    x = [_at(run.curves[a][r], run.target) for r in common]
    y = [_at(run.curves[b][r], run.target) for r in common]
    gap = paired_difference(x, y, CONFIDENCE)
    if not np.isfinite(gap.mean):
        return ""
    in_sds = (
        f", {abs(gap.mean) / run.seed_sd:.1f} seed-to-seed sds of one configuration's "
        f"{data.metric} ({run.seed_sd:.1e})"
        if run.seed_sd
        else ""
    )
    interval = (
        f" [{signed_difference(gap.low)}, {signed_difference(gap.high)}] (95% t-interval)"
        if np.isfinite(gap.low)
        else ""
    )
    pairs = primary_pairs(data.retrain or {"records": []}, pair)  # type: ignore[arg-type]
    if design is not None and design.looks:
        look = design.looks[-1]
        primary = (
            f"{signed_difference(look.mean.estimate)} [{signed_difference(look.mean.low)}, "
            f"{signed_difference(look.mean.high)}] at the last recorded look "
            f"({look.pairs} pairs, {100 * look.mean.level:.1f}% CI)"
        )
    elif pairs:
        mean = float(np.mean([p - q for _, p, q in pairs]))
        primary = f"{signed_difference(mean)} over {len(pairs)} pairs (no look recorded)"
    else:
        primary = "not yet measured"
    return (
        f"Read against the verdict: after {run.target} trials {data.title(a)} - "
        f"{data.title(b)} in best {data.metric} so far is {signed_difference(gap.mean)}"
        f"{interval} over {gap.pairs} paired repeats{in_sds}"
        f", while the primary outcome, retrained test AUROC, is {primary}: a gap on the "
        "search's own objective need not survive retraining with fresh seeds and scoring "
        "on test."
    )


def _regret_text(data: RunData, run: Anytime, normalised: bool, repeats: int) -> list[str]:
    if normalised:
        lines = [
            "Regret after *n* trials: how far a study's best so far is from the best value "
            "known, in units of random search's expected shortfall after the same *n* trials "
            "(Bayesmark's normalisation). **0** is the best value known, **1** is what random "
            "search finds on average in *n* trials, above 1 is worse than that. Random "
            f"search's expected best of *n* is exact over the {run.pool.size} pooled completed "
            "trials of this run's random-sampler studies (order statistics of their values, "
            "drawn with replacement), so the random sampler's own *mean* regret is about 1; "
            "its IQM sits lower when a few very poor trials pull that expectation down.",
            "",
        ]
    else:
        lines = [
            f"This run has no random sampler, so random search's expected best is unknown "
            f"and nothing normalises the regret: shown is the plain regret, the best value "
            f"known minus the best so far, in {data.metric} units (0 = best known).",
            "",
        ]
    band = (
        f" (percentile bootstrap, {IQM_BOOTSTRAP.resamples} resamples, seed {IQM_BOOTSTRAP.seed})"
        if repeats >= MIN_REPEATS_FOR_CI
        else f"; below {MIN_REPEATS_FOR_CI} repeats a bootstrap interval would be little more "
        "than that range, so none is claimed"
    )
    seed = (
        f" Grey band: within one seed-to-seed sd of a configuration's {data.metric} "
        f"({run.seed_sd:.1e}, pooled over the retrained seeds) of the best value known; "
        "regret inside it is within one training run's noise."
        if run.seed_sd
        else ""
    )
    retrained = ", and the retrained best configurations' validation values"
    return [
        *lines,
        f"Best value known: **{run.best_known:.4f}**, {run.best_source} (the best over this "
        "run's trials and the storage's other studies with the same search space and "
        f"objective{retrained if data.objective == 'val_auroc' else ''}). Line: the "
        "interquartile mean (IQM, `scipy.stats.trim_mean(x, 0.25)`; with fewer than 4 "
        f"repeats nothing is trimmed and it is the mean) over repeats; band: the "
        f"{band_label(repeats)}{band}. Thin lines: single repeats.{seed}",
        "",
    ]


def _wins(data: RunData, run: Anytime) -> list[str]:
    pairs = list(combinations(data.samplers, 2))
    if not pairs:
        return []
    rows = []
    for a, b in pairs:
        common = sorted(set(run.curves[a]) & set(run.curves[b]))
        cells = [
            _win_cell(
                [_at(run.curves[a][r], n) for r in common],
                [_at(run.curves[b][r], n) for r in common],
                run.maximize,
            )
            for n in run.budgets
        ]
        rows.append([f"{data.title(a)} beats {data.title(b)}", str(len(common)), *cells])
    shared = (
        f" Paired repeats of {data.title(data.samplers[0])} and {data.title(data.samplers[1])} "
        f"share their first {run.shared} trials (the random start-up uses the repeat's "
        f"seed), so up to n = {run.shared} such a pair ties (0.5)."
        if run.shared
        else ""
    )
    return [
        "### Win probability",
        "",
        f"Fraction of paired repeats (same seed) in which the first sampler's best "
        f"{data.metric} so far after *n* trials is better than the second's; a tie counts "
        f"one half. In brackets: wins-losses-ties and the two-sided exact sign test of wins "
        "against losses (`scipy.stats.binomtest`, ties dropped): a fraction far from 0.5 with "
        f"a large p is what a few pairs give by chance.{shared}",
        "",
        md_table(["pair", "pairs", *[f"n = {n}" for n in run.budgets]], rows),
        "",
    ]


def _win_cell(a: list[float], b: list[float], maximize: bool) -> str:
    """'fraction (wins-losses-ties, p = sign test)'; NaN (nothing found yet) loses to any
    value and ties with NaN, as in ``win_probability``."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0:
        return "—"
    worst = -np.inf if maximize else np.inf
    x, y = np.where(np.isnan(x), worst, x), np.where(np.isnan(y), worst, y)
    wins = int(np.sum(x > y if maximize else x < y))
    ties = int(np.sum(x == y))
    losses = x.size - wins - ties
    fraction = (wins + 0.5 * ties) / x.size
    p = scipy_stats.binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else 1.0
    return f"{fmt(fraction, 2)} ({wins}-{losses}-{ties}, p = {p:.2g})"


def _at(curve: np.ndarray, n: int) -> float:
    return float(curve[n - 1]) if curve.size >= n else float("nan")
