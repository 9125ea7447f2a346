"""The report's anytime sections on the search's own objective: what they measure and how that
reads against the verdict, normalised regret by trial with the absolute gap beside it, and win
probabilities with a sign test. The area under the regret curve is harness.report.anytime_area's,
best so far by compute harness.report.anytime_time's, trials to target
harness.report.anytime_reach's.

The numbers come from harness.report.anytime on the inputs of harness.report.anytime_inputs;
this module formats them, with the words of harness.report.anytime_text, which name every
choice (aggregate, band, interval).
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as scipy_stats

from harness.experiment.design import Design, read_design
from harness.experiment.retrain import primary_pairs
from harness.experiment.runs import run_dir
from harness.report import anytime_text as text
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
from harness.report.markdown import MISSING, ci_text, fmt, md_table, signed_difference

if TYPE_CHECKING:
    from pathlib import Path

    from harness.report.context import ReportContext


def _cell(agg: Aggregate, index: int, digits: int = 2, gap: Aggregate | None = None) -> str:
    if not np.isfinite(agg.centre[index]):
        return MISSING
    cell = (
        f"{agg.centre[index]:.{digits}f} [{agg.low[index]:.{digits}f}, "
        f"{agg.high[index]:.{digits}f}]"
    )
    if gap is not None and np.isfinite(gap.centre[index]):
        cell += f"; gap {gap.centre[index]:.1e}"
    return cell


def section_anytime(report: ReportContext) -> list[str]:
    """What the anytime numbers measure, and normalised regret by trial (figure and table)."""
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
    png = _regret_figure(report, matrices, aggs, what, repeats)
    lines += [figures.image(png, f"{what} by trial"), ""]
    return lines + _regret_table(data, run, aggs, gaps if normalised else None, digits, what)


def _regret_figure(
    report: ReportContext,
    matrices: dict[str, np.ndarray],
    aggs: dict[str, Aggregate],
    what: str,
    repeats: int,
) -> Path:
    from harness.report.anytime_plots import plot_regret

    data, run = report.data, report.anytime
    normalised, scale = run.reference is not None, run.scale()
    return plot_regret(
        report.figures.path("regret_by_trial.png"),
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
    repeats = min((agg.repeats for agg in aggs.values()), default=0)
    intro = text.REGRET_TABLE.format(
        what=what[0].upper() + what[1:],
        band_label=band_label(repeats),
        gap=text.GAP.format(metric=data.metric) if gaps else "",
    )
    header = ["sampler", "repeats", *[f"n = {n}" for n in run.budgets]]
    return [intro, "", md_table(header, rows), ""]


def _what_it_measures(data: RunData, run: Anytime) -> list[str]:
    """The label every anytime number carries, and the one sentence that reads them against
    the verdict."""
    optimism = (
        text.OPTIMISM.format(
            gap=run.optimism[0],
            direction="lower" if data.maximize else "higher",
            studies=run.optimism[1],
        )
        if run.optimism
        else ""
    )
    reconcile = _reconcile(data, run)
    return [
        text.WHAT_IT_MEASURES.format(metric=data.metric, optimism=optimism, reconcile=reconcile),
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
        text.IN_SDS.format(sds=abs(gap.mean) / run.seed_sd, metric=data.metric, seed_sd=run.seed_sd)
        if run.seed_sd
        else ""
    )
    interval = (
        text.T_INTERVAL.format(
            low=signed_difference(gap.low),
            high=signed_difference(gap.high),
            confidence=100 * CONFIDENCE,
        )
        if np.isfinite(gap.low)
        else ""
    )
    return text.RECONCILE.format(
        target=run.target,
        a=data.title(a),
        b=data.title(b),
        metric=data.metric,
        gap=signed_difference(gap.mean),
        interval=interval,
        pairs=gap.pairs,
        in_sds=in_sds,
        primary=data.primary_title,
        value=_primary(data, design, pair),
    )


def _primary(data: RunData, design: Design | None, pair: tuple[str, ...]) -> str:
    """The primary outcome's difference: at the last recorded look, else over the pairs."""
    if design is not None and design.looks:
        look = design.looks[-1]
        return text.PRIMARY_AT_LOOK.format(
            interval=ci_text(look.mean), pairs=look.pairs, level=100 * look.mean.level
        )
    pairs = primary_pairs(data.retrain or {"records": []}, pair)  # type: ignore[arg-type]
    if pairs:
        mean = float(np.mean([p - q for _, p, q in pairs]))
        return text.PRIMARY_NO_LOOK.format(mean=signed_difference(mean), pairs=len(pairs))
    return text.PRIMARY_NONE


def _regret_text(data: RunData, run: Anytime, normalised: bool, repeats: int) -> list[str]:
    intro = (
        text.NORMALISED.format(pool=run.pool.size)
        if normalised
        else text.PLAIN.format(metric=data.metric)
    )
    band = (
        text.BAND_CI.format(resamples=IQM_BOOTSTRAP.resamples, seed=IQM_BOOTSTRAP.seed)
        if repeats >= MIN_REPEATS_FOR_CI
        else text.BAND_RANGE.format(repeats=MIN_REPEATS_FOR_CI)
    )
    seed = text.SEED_BAND.format(metric=data.metric, seed_sd=run.seed_sd) if run.seed_sd else ""
    best = text.BEST_KNOWN.format(
        best=run.best_known,
        source=run.best_source,
        retrained=text.RETRAINED if data.objective == "val_auroc" else "",
        band_label=band_label(repeats),
        band=band,
        seed=seed,
    )
    return [intro, "", best, ""]


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
        text.WINS_SHARED.format(
            a=data.title(data.samplers[0]), b=data.title(data.samplers[1]), shared=run.shared
        )
        if run.shared
        else ""
    )
    return [
        "### Win probability",
        "",
        text.WINS.format(metric=data.metric, shared=shared),
        "",
        md_table(["pair", "pairs", *[f"n = {n}" for n in run.budgets]], rows),
        "",
    ]


def _win_cell(a: list[float], b: list[float], maximize: bool) -> str:
    """'fraction (wins-losses-ties, p = sign test)'; NaN (nothing found yet) loses to any
    value and ties with NaN, as in ``win_probability``."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0:
        return MISSING
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
