"""The paragraphs under the verdict's headline: the declaration and any change of design, the
shared start-up, the fixed test split, the fixed-sample reference numbers, what the design
does at the observed spread, and the secondary sampler pairs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from harness.experiment.design import PRIMARY_OUTCOME
from harness.experiment.retrain import primary_pairs, retrained_test_aurocs
from harness.experiment.verdict import TEST, hodges_lehmann, mean_interval
from harness.report.config import CONFIDENCE
from harness.report.load import shared_start
from harness.report.markdown import ci_text, md_table, signed_difference
from harness.report.stats import paired_wilcoxon

if TYPE_CHECKING:
    from harness.report.load import RunData
    from harness.report.verdict_analysis import PrimaryAnalysis


def declaration(data: RunData, analysis: PrimaryAnalysis) -> list[str]:
    """The primary outcome, where and when it was declared, and every change of design."""
    a, b = analysis.pair
    design = analysis.design
    k = design.retrain_seeds if design is not None else "K"
    seeds = "1 seed" if k == 1 else f"{k} seeds"
    what = PRIMARY_OUTCOME.replace("A - B", f"{data.title(a)} - {data.title(b)}")
    what = what.replace("K seeds", seeds)
    if design is None:
        origin = (
            "**Not pre-declared**: this run has no `plan.json` (made before designs were "
            "recorded, or by hand), so no look was taken and nothing below is a test of the "
            "design."
        )
    else:
        first = design.changes[0]["from"]["plan"] if design.changes else None
        declared = design.plan if first is None else type(design.plan).from_dict(first)
        origin = (
            f"Pre-declared in `runs/{data.run}/plan.json` at {design.declared_at}, before "
            f"the first pair: {declared.describe()}. Each look: {TEST}."
        )
        for change in design.changes:
            origin += _change(change, design.plan.alpha)
    return [
        f"Primary outcome: {what}. {origin} The study's chosen configuration is its best "
        f"by {data.metric}; the search itself never scored the test split.",
        "",
    ]


def _change(change: dict, alpha: float) -> str:
    after = int(change.get("after_looks", 0))
    if after == 0:
        return (
            f" The design was changed at {change['at']}, before any look (no data had been "
            "judged, so the change costs nothing)."
        )
    spent = float(change.get("spent", math.nan))
    return (
        f" **The design was changed at {change['at']}, after {after} pairs had been looked "
        f"at with {spent:.4f} of the {alpha} error rate spent.** From then on its looks "
        f"shared only the {alpha - spent:.4f} left, so the recorded levels still add up to at "
        f"most {alpha}; that bounds the chance of a false claim only if the change did not "
        "depend on the data seen. If it did, no error rate covers this verdict."
    )


def shared_note(data: RunData, analysis: PrimaryAnalysis) -> list[str]:
    """How many leading trials a pair shares (TPE's random start-up uses the repeat's seed,
    like the random sampler), and how many pairs chose one of them on both sides."""
    first, other = analysis.pair
    common = sorted({s.repeat for s in data.of(first)} & {s.repeat for s in data.of(other)})
    shared = dict(zip(common, shared_start(data, first, other), strict=True))
    if not shared or max(shared.values()) == 0:
        return []
    a, b = data.title(first), data.title(other)
    k = int(np.median(list(shared.values())))
    low, high = min(shared.values()), max(shared.values())
    spread = f" (median; {low} to {high})" if low != high else ""
    if low >= data.target:
        return [
            f"All {data.target} compared trials of {a} and {b} had identical configurations "
            f"in every repeat: {a} had not yet left its random start-up, which draws what "
            f"{b} draws with the same seed. This run cannot tell the samplers apart; run "
            f"more trials than {a}'s start-up trials.",
            "",
        ]
    chosen = {
        (r.get("sampler"), r.get("repeat")): r.get("trial")
        for r in (data.retrain or {"records": []})["records"]
    }
    both = [
        repeat
        for repeat, _, _ in analysis.pairs
        if chosen.get((first, repeat)) is not None
        and chosen.get((first, repeat)) == chosen.get((other, repeat))
        and int(chosen[(first, repeat)]) < shared.get(repeat, 0)
    ]
    return [
        f"Both samplers of a repeat share its seed, and the first {k} trials{spread} of {a} "
        f"and {b} had identical configurations ({a}'s random start-up draws what {b} draws). "
        f"In {len(both)} of {len(analysis.pairs)} pairs"
        + (f" (repeats {', '.join(map(str, both))})" if both else "")
        + " both studies chose one of those shared trials (a difference of 0 by "
        f"construction). The comparison is effectively {max(data.target - k, 0)} trials of {a} "
        f"after its start-up against as many of {b}.",
        "",
    ]


def split_note(data: RunData, analysis: PrimaryAnalysis) -> list[str]:
    """The sentence that every conclusion is conditional on the fixed test split, with the
    split's own sampling error (DeLong) where test predictions are stored."""
    margin = analysis.design.plan.margin if analysis.design is not None else None
    error = analysis.split
    head = (
        "**Conditional on the fixed test split.** Every pair is scored on the same test rows, "
        "so the verdict's intervals cover training seeds and searches but not the sampling of "
        "those rows: all conclusions hold for this split."
    )
    if error is None or not error.model_se:
        return [
            f"{head} No test predictions are stored for this run (retrained before they were "
            "kept), so the split's sampling error is not measured here; docs/verdict.md "
            "gives it for the lab's models.",
            "",
        ]
    model = float(np.median(error.model_se))
    text = (
        f"{head} DeLong's standard error over its {error.rows} rows is {model:.1e} for one "
        f"study's mean test AUROC (median over {len(error.model_se)} studies)"
    )
    if error.pair_se:
        se = np.asarray(list(error.pair_se.values()))
        text += (
            f", and {np.median(se):.1e} (from {se.min():.1e} to {se.max():.1e}) for a pair's "
            f"difference over the {error.covered} of {error.pairs} pairs with stored "
            "predictions: paired on the same rows, the two studies' errors largely cancel"
        )
        d = analysis.differences
        if d.size >= 2:
            text += f"; the pairs' differences themselves have sd {np.std(d, ddof=1):.1e}"
    if error.mean_se is not None:
        text += (
            f". A new sample of test rows would move the mean difference of those pairs by "
            f"about {error.mean_se:.1e} (its DeLong standard error), which the verdict's "
            "intervals do not include"
        )
    if margin is not None:
        text += f" (margin ±{margin:g})"
    return [text + ".", ""]


def nominal(analysis: PrimaryAnalysis, names: tuple[str, str]) -> list[str]:
    """The usual fixed-sample numbers at 95%, for reference: they ignore the looks."""
    d = analysis.differences
    if d.size < 2:
        return []
    mean = mean_interval(d, CONFIDENCE)
    hl = hodges_lehmann(d, CONFIDENCE)
    test = paired_wilcoxon([a for _, a, _ in analysis.pairs], [b for _, _, b in analysis.pairs])
    hl_text = (
        ci_text(hl)
        if math.isfinite(hl.low)
        else (
            f"{signed_difference(hl.estimate)} (no 95% interval: {d.size} pairs are too few for "
            "the exact signed-rank interval)"
        )
    )
    a, b = names
    waiting = (
        f", {analysis.pending} of them not yet judged"
        if analysis.design and analysis.pending
        else ""
    )
    return [
        f"All {d.size} pairs{waiting}, at the fixed-sample 95% level (for reference; these "
        f"ignore the looks and decide nothing): mean {a} - {b} = {ci_text(mean)}; "
        f"Hodges-Lehmann {hl_text}; "
        f"Wilcoxon signed-rank test, two-sided, p = {test.p_value:.3g} ({test.method}).",
        "",
    ]


def design_behaviour(analysis: PrimaryAnalysis, names: tuple[str, str]) -> list[str]:
    power, null, design = analysis.power, analysis.null, analysis.design
    if power is None or null is None or design is None:
        return []
    d = analysis.differences[: design.last_look]
    return [
        f"What this design does at the spread its looks saw (the {d.size} judged pairs' sd "
        f"of a difference "
        f"{signed_difference(float(np.std(d, ddof=1))).lstrip('+')}; looks at "
        f"{', '.join(map(str, power.looks))} pairs at their levels; {power.runs} simulated "
        f"runs each, normal noise): if the true difference were the observed "
        f"{signed_difference(float(d.mean()))}, it would end '{names[0]} better' in "
        f"{100 * power.a_better:.0f}%, '{names[1]} better' in {100 * power.b_better:.0f}%, "
        f"'equivalent' in {100 * power.equivalent:.0f}% and undecided in "
        f"{100 * power.undecided:.0f}% of runs (mean {power.mean_pairs:.1f} pairs); with no "
        f"true difference it would claim a direction in {100 * null.direction:.1f}% of "
        f"runs (the design's bound: {100 * design.plan.alpha:.0f}%; simulation error "
        f"about ±{100 * _binomial_se(design.plan.alpha, null.runs):.1f}%).",
        "",
    ]


def _binomial_se(rate: float, runs: int) -> float:
    """The Monte Carlo error (one sd) of a rate near ``rate`` estimated from ``runs`` runs."""
    return math.sqrt(rate * (1 - rate) / runs)


def secondary_pairs(data: RunData, primary: tuple[str, str]) -> list[str]:
    """Other sampler pairs against the first: fixed-sample 95% intervals, labelled secondary
    (not covered by the design's error rate)."""
    first = primary[0]
    others = [s for s in data.samplers if s not in primary]
    rows = []
    for other in others:
        pairs = primary_pairs(data.retrain or {"records": []}, (first, other))
        label = f"{data.title(first)} - {data.title(other)}"
        if len(pairs) < 2:
            rows.append([label, str(len(pairs)), "—"])
            continue
        rows.append(
            [
                label,
                str(len(pairs)),
                ci_text(mean_interval([x - y for _, x, y in pairs], CONFIDENCE)),
            ]
        )
    if not rows:
        return []
    return [
        "Secondary comparisons (fixed-sample 95% t-intervals of the retrained test AUROC "
        "difference; not covered by the design's error rate, and not corrected for "
        "multiplicity):",
        "",
        md_table(["pair", "pairs", "mean [95% CI]"], rows),
        "",
    ]


def seed_sd(data: RunData, key: str = "test_auroc") -> float | None:
    """The pooled seed-to-seed sd of one configuration's test AUROC (``key``: or another
    per-seed number of the retrain records, e.g. ``val_auroc``)."""
    variances, weights = [], []
    for record in (data.retrain or {"records": []})["records"]:
        if key == "test_auroc":
            values = retrained_test_aurocs(record)
        else:
            values = [
                r[key]
                for r in record.get("results", [])
                if r.get("status") == "ok" and isinstance(r.get(key), int | float)
            ]
        if len(values) >= 2:
            variances.append(float(np.var(values, ddof=1)))
            weights.append(len(values) - 1)
    if not weights:
        return None
    return float(np.sqrt(np.average(variances, weights=weights)))
