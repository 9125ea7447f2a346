"""The report's verdict: the pre-declared primary outcome, judged as the design says.

The numbers come from ``harness.experiment.verdict`` (decisions, intervals, the simulated
design); this module picks the run's pairs, words the verdict and draws the paired figure.
Wording rules, tested: no direction word ("better", "worse") unless the interval the
decision uses excludes 0; no effect-size adjective below ``ADJECTIVE_PAIRS`` pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.experiment.design import PRIMARY_OUTCOME, Design, read_design
from harness.experiment.retrain import primary_pairs, retrained_test_aurocs
from harness.experiment.runs import run_dir
from harness.experiment.verdict import (
    MORE_PAIRS_CAP,
    POWER,
    Interval,
    Look,
    Plan,
    Simulation,
    hodges_lehmann,
    mean_interval,
    pairs_to_decide,
    run_looks,
    simulate,
)
from harness.report.load import shared_start
from harness.report.stats import paired_wilcoxon, signed_difference
from harness.report.tables import md_table

if TYPE_CHECKING:
    from harness.report.load import RunData
    from harness.report.write import Figures

ADJECTIVE_PAIRS = 10  # below this many pairs an effect size is too rough to name
SIMULATIONS = 10_000  # Monte Carlo error of a 5% rate: about ±0.2% (one sd)


@dataclass
class PrimaryAnalysis:
    """The primary comparison of a run: its pairs, its looks and the numbers around them."""

    pair: tuple[str, str]
    design: Design | None  # None: the run has no plan.json (judged as one look, and said so)
    plan: Plan
    pairs: list[tuple[int, float, float]]  # (repeat, A, B)
    looks: list[Look]
    more_pairs: int | None  # pairs still needed (None: more than MORE_PAIRS_CAP)
    power: Simulation | None  # the design at the observed mean and spread
    null: Simulation | None  # the design with no true difference, at the observed spread

    @property
    def differences(self) -> np.ndarray:
        return np.array([a - b for _, a, b in self.pairs])

    @property
    def final(self) -> Look | None:
        return self.looks[-1] if self.looks else None


def analyse(data: RunData) -> PrimaryAnalysis:
    """The primary outcome judged at the looks the run took: the design's pair when its
    samplers are in the run, else the first two samplers judged as one look at every pair
    present."""
    design = read_design(run_dir(data.run, data.runs_root) / "plan.json")
    if design is not None and not set(design.pair) <= set(data.samplers):
        design = None
    pair = tuple(design.pair) if design is not None else (data.samplers[0], data.samplers[1])
    pairs = primary_pairs(data.retrain or {"records": []}, pair)  # type: ignore[arg-type]
    n = len(pairs)
    if design is not None:
        plan = design.plan
        looked_at = [int(look["pairs"]) for look in design.looks if int(look["pairs"]) <= n]
        if n > max(looked_at, default=0) and not design.decided:
            looked_at.append(n)  # pairs beyond the last recorded look: judged as one more look
    else:
        plan, looked_at = Plan.fixed(max(n, 1)), [n]
    d = np.array([a - b for _, a, b in pairs])
    looks = run_looks(d, plan, looked_at) if n >= 2 else []
    more = power = null = None
    if n >= 2:
        sd = float(np.std(d, ddof=1))
        if looks and not looks[-1].decided:
            more = pairs_to_decide(float(d.mean()), sd, plan, looks[-1].pairs)
        if sd > 0:
            power = simulate(plan, float(d.mean()), sd, runs=SIMULATIONS, seed=1)
            null = simulate(plan, 0.0, sd, runs=SIMULATIONS, seed=2)
    return PrimaryAnalysis(pair, design, plan, pairs, looks, more, power, null)  # type: ignore[arg-type]


# ---------------------------------------------------------------- words


def _ci(interval: Interval) -> str:
    return (
        f"{signed_difference(interval.estimate)} [{signed_difference(interval.low)}, "
        f"{signed_difference(interval.high)}]"
    )


def effect_adjective(dz: float) -> str:
    """Cohen's words for a standardised paired effect |d_z|."""
    size = abs(dz)
    return (
        "negligible"
        if size < 0.2
        else "small"
        if size < 0.5
        else "medium"
        if size < 0.8
        else "large"
    )


def verdict_sentence(
    look: Look | None,
    names: tuple[str, str],
    *,
    more_pairs: int | None = None,
    sd: float | None = None,
    spent: bool = False,
) -> str:
    """``spent``: the design's error rate is used up, so more pairs mean a new design."""
    """The verdict's first sentence: decided better, equivalent, or not yet decided."""
    a, b = names
    if look is None:
        return (
            f"Not yet decided: {a} and {b} need at least 2 complete pairs (both studies of "
            "a repeat retrained) before anything can be judged."
        )
    n, m = look.pairs, look.margin
    level = f"{100 * look.mean.level:.1f}% CI, the level this look may spend; {n} pairs"
    if look.outcome in ("a_better", "b_better"):
        winner, loser, sign = (a, b, 1.0) if look.outcome == "a_better" else (b, a, -1.0)
        flipped = Interval(
            sign * look.mean.estimate,
            min(sign * look.mean.low, sign * look.mean.high),
            max(sign * look.mean.low, sign * look.mean.high),
            look.mean.level,
        )
        text = f"{winner} is better than {loser} by {_ci(flipped)} test AUROC ({level})."
        if look.mean.low > -m and look.mean.high < m:
            text += (
                f" The whole interval lies inside the ±{m:g} margin declared as no "
                "practical difference."
            )
    elif look.outcome == "equivalent":
        text = (
            f"{a} and {b} are equivalent within ±{m:g} test AUROC: {a} - {b} = "
            f"{_ci(look.equivalence)} ({100 * look.equivalence.level:.1f}% CI, TOST "
            f"p = {look.tost_p:.2g} at level {look.level:.3g}; {n} pairs)."
        )
    elif look.mean.low == look.mean.high:
        text = (
            f"Not yet decided: all {n} pairs have the same difference {a} - {b} = "
            f"{signed_difference(look.mean.estimate)} test AUROC, so there is no spread "
            "to judge by (identical configurations in every pair, most likely)."
        )
    else:
        if more_pairs is None:
            need = (
                f"more than {MORE_PAIRS_CAP} more pairs would be needed at the observed "
                "spread: at this spread the question is practically undecidable"
            )
        else:
            power = f"{100 * POWER:.0f}% power if the observed mean were the truth"
            if spent:
                need = (
                    f"this design's error rate is spent; a new one judged once at 0.05 would "
                    f"need about {more_pairs} pairs at the observed spread ({power})"
                )
            else:
                need = (
                    f"about {max(more_pairs - n, 1)} more pairs ({more_pairs} in all) would "
                    f"decide it at the observed spread ({power})"
                )
        text = f"Not yet decided: {a} - {b} = {_ci(look.mean)} test AUROC ({level}); {need}."
    if n >= ADJECTIVE_PAIRS and sd is not None and sd > 0:
        dz = look.mean.estimate / sd
        text += f" Standardised paired effect d_z = {dz:+.2f} ({effect_adjective(dz)})."
    return text


# ---------------------------------------------------------------- the section


def section_verdict(data: RunData, figures: Figures) -> list[str]:
    lines = ["## Verdict", ""]
    if len(data.samplers) < 2:
        return [
            *lines,
            f"Only one sampler ({data.title(data.samplers[0])}) is in this run: "
            "there is nothing to compare.",
            "",
        ]
    analysis = analyse(data)
    pair = analysis.pair
    names = (data.title(pair[0]), data.title(pair[1]))
    d = analysis.differences
    sd = float(np.std(d, ddof=1)) if d.size >= 2 else None
    final = analysis.final
    spent = final is not None and analysis.plan.spent(final.pairs) >= analysis.plan.alpha - 1e-12
    sentence = verdict_sentence(final, names, more_pairs=analysis.more_pairs, sd=sd, spent=spent)
    lines += [f"**{sentence}**", ""]
    lines += _declaration(data, analysis)
    lines += _shared_note(data, *pair)
    lines += _looks_table(analysis, names)
    lines += _nominal(analysis, names)
    lines += _design_behaviour(analysis, names)
    lines += _secondary_pairs(data, pair)
    if d.size:
        png = plot_paired_differences(
            figures.path("paired_differences.png"),
            analysis,
            names,
            seed_sd=_seed_sd(data),
            seeds=_seeds(data, analysis),
        )
        lines += [figures.image(png, "paired differences in retrained test AUROC"), ""]
    lines += [f"- {note}" for note in dict.fromkeys(data.notes)]
    return lines


def _shared_note(data: RunData, first: str, other: str) -> list[str]:
    """Say how many leading trials a pair shares (TPE's random start-up uses the repeat's seed,
    like the random sampler), and whether any trials were left to tell the samplers apart."""
    shared = shared_start(data, first, other)
    if not shared or max(shared) == 0:
        return []
    a, b = data.title(first), data.title(other)
    k = int(np.median(shared))
    spread = f" (median; {min(shared)} to {max(shared)})" if min(shared) != max(shared) else ""
    if min(shared) >= data.target:
        return [
            f"All {data.target} compared trials of {a} and {b} had identical configurations "
            f"in every repeat: {a} had not yet left its random start-up, which draws what "
            f"{b} draws with the same seed. This run cannot tell the samplers apart; run "
            f"more trials than {a}'s start-up trials.",
            "",
        ]
    return [
        f"Both samplers of a repeat share its seed, and the first {k} trials{spread} of {a} "
        f"and {b} had identical configurations ({a}'s random start-up draws what {b} "
        f"draws): the paired differences come from the trials after them.",
        "",
    ]


def _declaration(data: RunData, analysis: PrimaryAnalysis) -> list[str]:
    a, b = analysis.pair
    design = analysis.design
    k = _seeds(data, analysis) or "K"
    seeds = "1 seed" if k == 1 else f"{k} seeds"
    what = PRIMARY_OUTCOME.replace("A - B", f"{data.title(a)} - {data.title(b)}")
    what = what.replace("K seeds", seeds)
    if design is None:
        origin = (
            "**Not pre-declared**: this run has no `plan.json` (made before designs were "
            f"recorded, or by hand), so its {len(analysis.pairs)} pairs are judged as one "
            "look at the full 0.05 level."
        )
    else:
        origin = (
            f"Pre-declared in `runs/{data.run}/plan.json` at {design.declared_at}, before "
            f"the first pair: {analysis.plan.describe()}."
        )
        for change in design.changes:
            after = change["after_looks"]
            origin += (
                f" **The design was changed at {change['at']}, after {after} "
                "pairs had been looked at: the error rate holds only for the design as "
                "first declared.**"
            )
    return [
        f"Primary outcome: {what}. {origin} The study's chosen configuration is its best "
        f"by {data.metric}; the search itself never scored the test split.",
        "",
    ]


def _looks_table(analysis: PrimaryAnalysis, names: tuple[str, str]) -> list[str]:
    if not analysis.looks:
        return []
    rows = [
        [
            str(look.pairs),
            f"{look.level:.4f}",
            f"{100 * look.mean.level:.1f}%",
            _ci(look.mean),
            f"{look.tost_p:.3g}",
            look.outcome.replace("a_better", f"{names[0]} better").replace(
                "b_better", f"{names[1]} better"
            ),
        ]
        for look in analysis.looks
    ]
    header = [
        "look at pairs",
        "level spent",
        "CI",
        f"mean {names[0]} - {names[1]} [CI]",
        "TOST p",
        "outcome",
    ]
    return [
        "Looks (each judged at its share of the 0.05 error rate; the run stops at the first "
        "decided one):",
        "",
        md_table(header, rows),
        "",
    ]


def _nominal(analysis: PrimaryAnalysis, names: tuple[str, str]) -> list[str]:
    """The usual fixed-sample numbers at 95%, for reference: they ignore the looks."""
    d = analysis.differences
    if d.size < 2:
        return []
    mean = mean_interval(d, 0.95)
    hl = hodges_lehmann(d, 0.95)
    test = paired_wilcoxon([a for _, a, _ in analysis.pairs], [b for _, _, b in analysis.pairs])
    hl_text = (
        _ci(hl)
        if math.isfinite(hl.low)
        else (
            f"{signed_difference(hl.estimate)} (no 95% interval: {d.size} pairs are too few for "
            "the exact signed-rank interval)"
        )
    )
    a, b = names
    return [
        f"All {d.size} pairs at the fixed-sample 95% level (for reference; these ignore the "
        f"looks): mean {a} - {b} = {_ci(mean)}; Hodges-Lehmann {hl_text}; Wilcoxon "
        f"signed-rank test, two-sided, p = {test.p_value:.3g} ({test.method}).",
        "",
    ]


def _design_behaviour(analysis: PrimaryAnalysis, names: tuple[str, str]) -> list[str]:
    power, null = analysis.power, analysis.null
    if power is None or null is None:
        return []
    d = analysis.differences
    return [
        f"What this design does at the observed spread (sd of a pair's difference "
        f"{signed_difference(float(np.std(d, ddof=1))).lstrip('+')}; {power.runs} simulated "
        f"runs each, normal noise): if the true difference were the observed "
        f"{signed_difference(float(d.mean()))}, it would end '{names[0]} better' in "
        f"{100 * power.a_better:.0f}%, '{names[1]} better' in {100 * power.b_better:.0f}%, "
        f"'equivalent' in {100 * power.equivalent:.0f}% and undecided in "
        f"{100 * power.undecided:.0f}% of runs (mean {power.mean_pairs:.1f} pairs); with no "
        f"true difference it would claim a direction in {100 * null.direction:.1f}% of "
        f"runs (the design's bound: {100 * analysis.plan.alpha:.0f}%; simulation error "
        f"about ±{100 * math.sqrt(0.05 * 0.95 / null.runs):.1f}%).",
        "",
    ]


def _secondary_pairs(data: RunData, primary: tuple[str, str]) -> list[str]:
    """Other sampler pairs against the first: fixed-sample 95% intervals, labelled secondary
    (not covered by the design's error rate)."""
    first = primary[0]
    others = [s for s in data.samplers if s not in primary]
    rows = []
    for other in others:
        pairs = primary_pairs(data.retrain or {"records": []}, (first, other))
        if len(pairs) < 2:
            rows.append([f"{data.title(first)} - {data.title(other)}", str(len(pairs)), "—"])
            continue
        interval = mean_interval([x - y for _, x, y in pairs], 0.95)
        rows.append([f"{data.title(first)} - {data.title(other)}", str(len(pairs)), _ci(interval)])
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


def _seeds(data: RunData, analysis: PrimaryAnalysis) -> int | None:
    """K: the design's retraining seeds, else the most any retrain record holds."""
    if analysis.design is not None:
        return analysis.design.retrain_seeds
    records = (data.retrain or {"records": []})["records"]
    return max((len(r.get("results", [])) for r in records), default=None)


def _seed_sd(data: RunData) -> float | None:
    """The pooled seed-to-seed sd of one configuration's test AUROC (over retrain seeds)."""
    variances, weights = [], []
    for record in (data.retrain or {"records": []})["records"]:
        values = retrained_test_aurocs(record)
        if len(values) >= 2:
            variances.append(float(np.var(values, ddof=1)))
            weights.append(len(values) - 1)
    if not weights:
        return None
    return float(np.sqrt(np.average(variances, weights=weights)))


def plot_paired_differences(
    path: Path,
    analysis: PrimaryAnalysis,
    names: tuple[str, str],
    *,
    seed_sd: float | None,
    seeds: int | None,
) -> Path:
    """Each pair's difference, the final look's interval, the ±margin band and, for scale, the
    noise a difference of two K-seed means would have from training seeds alone."""
    from harness.report.plots import _save, plt

    d = analysis.differences
    fig, ax = plt.subplots(figsize=(7, 4.2))
    x = np.arange(1, d.size + 1)
    m = analysis.plan.margin
    ax.axhspan(-m, m, color="#2ca02c", alpha=0.12, label=f"±{m:g}: no practical difference")
    k = seeds
    if seed_sd is not None and k:
        noise = seed_sd * math.sqrt(2 / k)
        ax.axhspan(
            -noise,
            noise,
            color="grey",
            alpha=0.18,
            label=f"±1 sd of a difference from training seeds alone ({k} seeds each)",
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.plot(x, d, "o", color="#1f77b4", ms=5, label=f"one pair: {names[0]} - {names[1]}")
    final = analysis.final
    if final is not None:
        ax.errorbar(
            [d.size + 1],
            [final.mean.estimate],
            yerr=[[final.mean.estimate - final.mean.low], [final.mean.high - final.mean.estimate]],
            fmt="s",
            color="black",
            capsize=4,
            label=f"mean, {100 * final.mean.level:.1f}% CI of the last look",
        )
    # Symmetric limits around 0 that show the margin whole: a 1e-4 gap is not blown up to
    # fill the axis, and a large one still fits.
    extent = max(
        2 * m,
        float(np.abs(d).max(initial=0)) * 1.15,
        abs(final.mean.low) * 1.1 if final else 0,
        abs(final.mean.high) * 1.1 if final else 0,
    )
    ax.set_ylim(-extent, extent)
    ax.set_xlim(0.3, d.size + 1.7)
    ax.set_xticks([*x, d.size + 1], [*map(str, x), "all"])
    ax.set_xlabel("pair (repeat r runs both samplers with seed r)")
    ax.set_ylabel("difference in retrained test AUROC")
    ax.set_title(f"{names[0]} - {names[1]}: paired differences in test AUROC")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return _save(fig, path)
