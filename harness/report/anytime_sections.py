"""The report's anytime sections: normalised regret by trial (with win probabilities and the
area under the curve), best so far by wall-clock time, and trials to reach a target.

The numbers come from harness.report.anytime on the inputs of harness.report.anytime_inputs;
this module formats them and names every choice (aggregate, band, interval) in the text.
"""

from __future__ import annotations

import warnings
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from harness.report.anytime import (
    MIN_REPEATS_FOR_CI,
    Aggregate,
    aggregate,
    band_label,
    paired_difference,
    reach_ecdf,
    win_probability,
)
from harness.report.anytime_inputs import NEAR_BEST, Anytime, anytime_inputs, reach_targets
from harness.report.load import BOOTSTRAP, RunData
from harness.report.stats import IDLE_GAP, completion_seconds, stack, time_curve, trials_to_reach
from harness.report.tables import fmt, md_table

MAX_LISTED = 10  # repeats: beyond this the per-repeat column is too long to read

if TYPE_CHECKING:
    from harness.report.write import Figures

BOOT = {
    "resamples": BOOTSTRAP["resamples"],
    "seed": BOOTSTRAP["seed"],
    "confidence": BOOTSTRAP["confidence"],
}


def _cell(agg: Aggregate, index: int, digits: int = 2) -> str:
    if not np.isfinite(agg.centre[index]):
        return "—"
    return (
        f"{agg.centre[index]:.{digits}f} [{agg.low[index]:.{digits}f}, "
        f"{agg.high[index]:.{digits}f}]"
    )


def section_anytime(
    data: RunData, figures: Figures, level: float | None = None, level_source: str = ""
) -> list[str]:
    """Normalised regret by trial, win probabilities, area under the curve, and best so far by
    wall-clock time (with the lab's validation level, when given, as a reference line)."""
    from harness.report.anytime_plots import plot_regret

    run = anytime_inputs(data)
    normalised = run.reference is not None
    matrices = {s: run.regret(s) for s in data.samplers}
    aggs = {s: aggregate(m, **BOOT) for s, m in matrices.items()}
    repeats = min((m.shape[0] for m in matrices.values()), default=0)
    digits = 2 if normalised else 4  # plain regret is in objective units: AUROC gaps of 1e-3
    what = "normalised regret" if normalised else f"regret ({data.metric})"
    lines = [f"## Anytime performance: {what} by trial", ""]
    if normalised:
        lines += [
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
        lines += [
            f"This run has no random sampler, so random search's expected best is unknown "
            f"and nothing normalises the regret: shown is the plain regret, the best value "
            f"known minus the best so far, in {data.metric} units (0 = best known).",
            "",
        ]
    lines += [
        f"Best value known: **{run.best_known:.4f}**, {run.best_source} (the best over this "
        "run's trials and the storage's other studies with the same search space and objective"
        + (
            ", and the retrained best configurations' validation values"
            if data.objective == "val_auroc"
            else ""
        )
        + "). Line: the interquartile "
        "mean (IQM, `scipy.stats.trim_mean(x, 0.25)`; with fewer than 4 repeats nothing is "
        f"trimmed and it is the mean) over repeats; band: the {band_label(repeats)}"
        + (
            f" (percentile bootstrap, {BOOT['resamples']} resamples, seed {BOOT['seed']})"
            if repeats >= MIN_REPEATS_FOR_CI
            else f"; below {MIN_REPEATS_FOR_CI} repeats a bootstrap interval would be little more "
            "than that range, so none is claimed"
        )
        + ". Thin lines: single repeats.",
        "",
    ]
    png = plot_regret(
        figures.path("regret_by_trial.png"),
        np.arange(1, run.target + 1),
        matrices,
        aggs,
        data.titles,
        normalised=normalised,
        shared=run.shared,
        title=f"{what[0].upper() + what[1:]} by trial (IQM over repeats, band: "
        f"{'bootstrap CI' if repeats >= MIN_REPEATS_FOR_CI else 'range of repeats'})",
        ylabel=(
            "normalised regret (0 = best known, 1 = random search's expectation)"
            if normalised
            else f"regret ({data.metric}, best known - best so far)"
        ),
    )
    lines += [figures.image(png, f"{what} by trial"), ""]
    columns = run.budgets
    rows = [
        [data.title(s), str(aggs[s].repeats), *[_cell(aggs[s], n - 1, digits) for n in columns]]
        for s in data.samplers
    ]
    lines += [
        f"{what[0].upper() + what[1:]} after *n* trials, IQM [band: {band_label(repeats)}]; "
        "lower is better:",
        "",
        md_table(["sampler", "repeats", *[f"n = {n}" for n in columns]], rows),
        "",
    ]
    lines += (
        _wins(data, run)
        + _area(data, matrices, digits + 1)
        + _by_time(data, figures, run, level, level_source)
    )
    return lines


def _wins(data: RunData, run: Anytime) -> list[str]:
    pairs = list(combinations(data.samplers, 2))
    if not pairs:
        return []
    rows = []
    for a, b in pairs:
        common = sorted(set(run.curves[a]) & set(run.curves[b]))
        cells = []
        for n in run.budgets:
            p, _ = win_probability(
                [_at(run.curves[a][r], n) for r in common],
                [_at(run.curves[b][r], n) for r in common],
                run.maximize,
            )
            cells.append(fmt(p, 2))
        rows.append([f"{data.title(a)} beats {data.title(b)}", str(len(common)), *cells])
    shared = (
        f" Paired repeats share their first {run.shared} trials (the random start-up "
        f"uses the repeat's seed), so up to n = {run.shared} a pair ties (0.5)."
        if run.shared
        else ""
    )
    fewest = min((int(row[1]) for row in rows if str(row[1]).isdigit()), default=0)
    coarse = (
        f" With {fewest} pairs a fraction moves in steps of 1/{2 * fewest} (ties count "
        "one half), so read small differences as none."
        if 0 < fewest < 10
        else ""
    )
    return [
        "### Win probability",
        "",
        f"Fraction of paired repeats (same seed) in which the first sampler's best "
        f"{data.metric} so far after *n* trials is better than the second's; a tie counts "
        f"one half.{shared}{coarse}",
        "",
        md_table(["pair", "pairs", *[f"n = {n}" for n in run.budgets]], rows),
        "",
    ]


def _at(curve: np.ndarray, n: int) -> float:
    return float(curve[n - 1]) if curve.size >= n else float("nan")


def _area(data: RunData, matrices: dict[str, np.ndarray], digits: int) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: no value at all
        areas = {s: np.nanmean(m, axis=1) for s, m in matrices.items()}
    repeats = {s: sorted(st.repeat for st in data.of(s)) for s in data.samplers}
    rows = []
    for s in data.samplers:
        agg = aggregate(areas[s][:, None], **BOOT)
        rows.append(
            [
                data.title(s),
                str(agg.repeats),
                fmt(agg.centre[0], digits),
                f"[{fmt(agg.low[0], digits)}, {fmt(agg.high[0], digits)}]",
            ]
        )
    lines = [
        "### Area under the regret curve (secondary outcome)",
        "",
        f"Mean regret over trials 1 to {data.target} of each study (lower is better: good "
        "early as well as late). A secondary outcome, summarising the curve above; the "
        "primary outcome is the verdict's retrained test AUROC.",
        "",
        md_table(
            ["sampler", "repeats", "IQM", f"band: {band_label(min(map(len, areas.values())))}"],
            rows,
        ),
        "",
    ]
    pair_rows = []
    for a, b in combinations(data.samplers, 2):
        common = sorted(set(repeats[a]) & set(repeats[b]))
        x = [areas[a][repeats[a].index(r)] for r in common]
        y = [areas[b][repeats[b].index(r)] for r in common]
        d = paired_difference(x, y, BOOT["confidence"])
        pair_rows.append(
            [
                f"{data.title(a)} - {data.title(b)}",
                str(d.pairs),
                f"{d.mean:+.{digits}f}",
                f"[{d.low:+.{digits}f}, {d.high:+.{digits}f}]" if np.isfinite(d.low) else "—",
            ]
        )
    if pair_rows:
        confidence = f"{100 * BOOT['confidence']:.0f}%"
        lines += [
            f"Paired difference of the area (secondary; negative: the first sampler had "
            f"less regret), mean over paired repeats with a {confidence} Student t "
            "interval (`scipy.stats.ttest_rel`):",
            "",
            md_table(["pair", "pairs", "mean difference", f"{confidence} t interval"], pair_rows),
            "",
        ]
    return lines


def _time_unit(seconds: float) -> tuple[float, str]:
    if seconds > 2 * 3600:
        return 3600.0, "h"
    if seconds > 120:
        return 60.0, "min"
    return 1.0, "s"


def _by_time(
    data: RunData, figures: Figures, run: Anytime, level: float | None, level_source: str
) -> list[str]:
    from harness.report.anytime_plots import plot_by_time

    timed = {st.name: completion_seconds(st.trials, data.target) for st in data.studies}
    end = max((t[0][-1] for t in timed.values() if t[0].size), default=1.0)
    scale, unit = _time_unit(end)
    grid = np.linspace(0, end, 300)
    matrices = {
        s: stack([time_curve(*timed[st.name], grid, data.maximize) for st in data.of(s)])
        for s in data.samplers
    }
    aggs = {s: aggregate(m, **BOOT) for s, m in matrices.items()}
    repeats = min((m.shape[0] for m in matrices.values()), default=0)
    level_label = "lab's best validation level (NormalizingMLP)"
    png = plot_by_time(
        figures.path("best_by_time.png"),
        grid / scale,
        matrices,
        aggs,
        data.titles,
        best_known=run.best_known,
        level=level,
        level_label=level_label,
        maximize=data.maximize,
        xlabel=f"wall-clock time since the study's first trial started ({unit})",
        ylabel=f"best {data.metric} so far"
        + (" (fraction)" if data.objective == "val_auroc" else " (BCE, nats)"),
        title=f"Best {data.metric} so far by wall-clock time (IQM over repeats, band: "
        f"{'bootstrap CI' if repeats >= MIN_REPEATS_FOR_CI else 'range of repeats'})",
    )
    return [
        "### Best so far by wall-clock time",
        "",
        f"The same best-so-far values against time, in {data.metric} itself (not normalised: "
        "random search's expectation is per trial, not per second). IQM and band as above; "
        "the aggregate starts once every repeat has finished a trial. Time includes queueing "
        "on the workers (a run's studies share one pool), but stretches of more than "
        f"{IDLE_GAP:.0f} s with no trial running (a study stopped and resumed later) are cut "
        "out. The y axis is a window onto the values (its width is in the title); the first "
        "poor trials can fall below it.",
        "",
        figures.image(png, "best value so far by wall-clock time"),
        "",
        f"Dotted line: {level_label}, {fmt(level)} ({level_source})." if level else "",
        "",
    ]


def section_trials_to_target(data: RunData, figures: Figures) -> list[str]:
    from harness.report.anytime_plots import plot_reach

    run = anytime_inputs(data)
    listed = max((len(c) for c in run.curves.values()), default=0) <= MAX_LISTED
    targets = reach_targets(run, data)
    curves: dict[str, dict] = {}
    rows = []
    for label, value in targets:
        key = f"{label} = {value:.4f}"
        curves[key] = {}
        for s in data.samplers:
            needed = {
                r: trials_to_reach(c, value, run.maximize) for r, c in sorted(run.curves[s].items())
            }
            ecdf = reach_ecdf(list(needed.values()), run.target)
            curves[key][s] = ecdf
            median = f"{ecdf.median:g}" if np.isfinite(ecdf.median) else f"> {run.target}"
            rows.append(
                [
                    f"{label}: {value:.4f}",
                    data.title(s),
                    f"{ecdf.reached} of {ecdf.repeats}",
                    median,
                    *(
                        [", ".join(f"r{r}: {'—' if n is None else n}" for r, n in needed.items())]
                        if listed
                        else []
                    ),
                ]
            )
    source = (
        "the pooled completed trials of the random sampler's studies"
        if run.pool.size
        else "all completed trials of the run (it has no random sampler)"
    )
    shared = (
        f" Paired repeats share their first {run.shared} trials; a target reached "
        "within them says nothing about the samplers."
        if run.shared
        else ""
    )
    png = plot_reach(
        figures.path("trials_to_target.png"),
        curves,
        data.titles,
        budget=run.target,
        shared=run.shared,
        title="Trials to reach each target: Kaplan-Meier ECDF over repeats",
    )
    return [
        "## Trials to reach a target",
        "",
        f"Targets: the 90th, 95th and 99th percentiles of single-trial {data.metric} over "
        f"{source} (`numpy.percentile`, linear; one random trial beats the 90th percentile "
        f"with probability 0.1, so random search needs 10 trials on average), and the best "
        f"value known {'less' if run.maximize else 'plus'} {NEAR_BEST:g}. A repeat that did not "
        f"reach a target within the {run.target} compared trials is right-censored there "
        "(— in the table); the fraction of repeats that reached it by *n* trials is the "
        "Kaplan-Meier estimate (`scipy.stats.ecdf` on `scipy.stats.CensoredData`; with every "
        "repeat censored at the same budget it equals the plain fraction). Median: trials by "
        f"which half the repeats reached it.{shared}",
        "",
        md_table(
            ["target", "sampler", "reached", "median trials"]
            + (["trials per repeat"] if listed else []),
            rows,
        ),
        "",
        figures.image(png, "trials to reach each target, ECDF over repeats"),
        "",
    ]
