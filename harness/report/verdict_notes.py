"""The paragraphs under the verdict's headline: the declaration and any change of design, the
shared start-up, the fixed test split, the fixed-sample reference numbers, what the design
does at the observed spread, and the secondary sampler pairs. The words are
harness.report.verdict_text's."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from harness.experiment.retrain import primary_pairs
from harness.experiment.verdict import TEST, hodges_lehmann, mean_interval
from harness.report import verdict_text as text
from harness.report.config import CONFIDENCE
from harness.report.load import shared_start
from harness.report.markdown import (
    MISSING,
    ci_text,
    md_table,
    plural,
    shown_path,
    signed_difference,
)
from harness.report.stats import paired_wilcoxon

if TYPE_CHECKING:
    from harness.report.load import RunData
    from harness.report.verdict_analysis import PrimaryAnalysis

LEVEL = f"{100 * CONFIDENCE:.0f}%"  # of the fixed-sample reference numbers


def _retrain_seeds(data: RunData) -> int | None:
    """The seeds each chosen configuration was retrained with, where no design records them
    (the most any record has; None before anything was retrained)."""
    records = (data.retrain or {}).get("records", [])
    return max((len(r["results"]) for r in records), default=None)


def declaration(data: RunData, analysis: PrimaryAnalysis) -> list[str]:
    """The primary outcome, where and when it was declared, and every change of design."""
    a, b = analysis.pair
    design = analysis.design
    k = design.retrain_seeds if design is not None else _retrain_seeds(data)
    seeds = "K seeds" if k is None else plural(k, "seed")
    what = text.PRIMARY_OUTCOME.format(
        pair=f"{data.title(a)} - {data.title(b)}",
        primary=data.primary_title,
        made=data.primary_words(seeds),
    )
    if design is None:
        origin = text.NOT_PRE_DECLARED
    else:
        first = design.changes[0]["from"]["plan"] if design.changes else None
        declared = design.plan if first is None else type(design.plan).from_dict(first)
        origin = text.PRE_DECLARED.format(
            folder=shown_path(data.folder),
            at=design.declared_at,
            design=declared.describe(),
            test=TEST,
        )
        for change in design.changes:
            origin += _change(change, design.plan.alpha)
    line = text.DECLARATION.format(what=what, origin=origin, metric=data.metric)
    if data.problem:  # a problem has no test split: its value is all there is
        line = line.removesuffix(text.NEVER_TEST) + "."
    return [line, ""]


def _change(change: dict, alpha: float) -> str:
    after = int(change.get("after_looks", 0))
    if after == 0:
        return text.CHANGED_BEFORE_LOOKS.format(at=change["at"])
    spent = float(change.get("spent", math.nan))
    return text.CHANGED_AFTER_LOOKS.format(
        at=change["at"], after=after, spent=spent, alpha=alpha, left=alpha - spent
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
    if low >= data.target:
        return [text.SHARED_ALL.format(target=data.target, a=a, b=b), ""]
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
    note = text.SHARED.format(
        k=k,
        spread=f" (median; {low} to {high})" if low != high else "",
        a=a,
        b=b,
        both=len(both),
        pairs=len(analysis.pairs),
        repeats=f" ({'repeat' if len(both) == 1 else 'repeats'} {', '.join(map(str, both))})"
        if both
        else "",
        left=max(data.target - k, 0),
    )
    return [note, ""]


def split_note(data: RunData, analysis: PrimaryAnalysis) -> list[str]:
    """The sentence that every conclusion is conditional on the fixed test split, with the
    split's own sampling error (DeLong) where test predictions are stored."""
    if data.problem:
        return []  # no data, no split
    margin = analysis.design.plan.margin if analysis.design is not None else None
    error = analysis.split
    if error is None or not error.model_se:
        return [text.SPLIT + text.SPLIT_UNMEASURED, ""]
    note = text.SPLIT + text.SPLIT_MODEL.format(
        rows=error.rows, se=float(np.median(error.model_se)), studies=len(error.model_se)
    )
    if error.pair_se:
        se = np.asarray(list(error.pair_se.values()))
        note += text.SPLIT_PAIRS.format(
            median=np.median(se),
            low=se.min(),
            high=se.max(),
            covered=error.covered,
            pairs=error.pairs,
        )
        d = analysis.differences
        if d.size >= 2:
            note += text.SPLIT_PAIR_SD.format(sd=np.std(d, ddof=1))
    if error.mean_se is not None:
        note += text.SPLIT_MEAN.format(se=error.mean_se)
    if margin is not None:
        note += f" (margin ±{margin:g})"
    return [note + ".", ""]


def nominal(analysis: PrimaryAnalysis, names: tuple[str, str]) -> list[str]:
    """The usual fixed-sample numbers at CONFIDENCE, for reference: they ignore the looks."""
    d = analysis.differences
    if d.size < 2:
        return []
    hl = hodges_lehmann(d, CONFIDENCE)
    test = paired_wilcoxon([a for _, a, _ in analysis.pairs], [b for _, _, b in analysis.pairs])
    hl_text = (
        ci_text(hl)
        if math.isfinite(hl.low)
        else text.NO_HL_INTERVAL.format(
            estimate=signed_difference(hl.estimate), confidence=LEVEL, pairs=d.size
        )
    )
    waiting = (
        f", {analysis.pending} of them not yet judged"
        if analysis.design and analysis.pending
        else ""
    )
    line = text.NOMINAL.format(
        pairs=d.size,
        waiting=waiting,
        confidence=LEVEL,
        a=names[0],
        b=names[1],
        mean=ci_text(mean_interval(d, CONFIDENCE)),
        hl=hl_text,
        p=test.p_value,
        method=test.method,
    )
    return [line, ""]


def design_behaviour(analysis: PrimaryAnalysis, names: tuple[str, str]) -> list[str]:
    power, null, design = analysis.power, analysis.null, analysis.design
    if power is None or null is None or design is None:
        return []
    d = analysis.differences[: design.last_look]
    line = text.DESIGN_BEHAVIOUR.format(
        pairs=d.size,
        sd=signed_difference(float(np.std(d, ddof=1))).lstrip("+"),
        looks=", ".join(map(str, power.looks)),
        runs=power.runs,
        mean=signed_difference(float(d.mean())),
        a=names[0],
        b=names[1],
        a_better=100 * power.a_better,
        b_better=100 * power.b_better,
        equivalent=100 * power.equivalent,
        undecided=100 * power.undecided,
        mean_pairs=power.mean_pairs,
        direction=100 * null.direction,
        bound=100 * design.plan.alpha,
        error=100 * _binomial_se(design.plan.alpha, null.runs),
    )
    return [line, ""]


def _binomial_se(rate: float, runs: int) -> float:
    """The Monte Carlo error (one sd) of a rate near ``rate`` estimated from ``runs`` runs."""
    return math.sqrt(rate * (1 - rate) / runs)


def secondary_pairs(data: RunData, primary: tuple[str, str]) -> list[str]:
    """Other sampler pairs against the first: fixed-sample intervals at CONFIDENCE, labelled
    secondary (not covered by the design's error rate)."""
    first = primary[0]
    rows = []
    for other in [s for s in data.samplers if s not in primary]:
        pairs = primary_pairs(data.retrain or {"records": []}, (first, other))
        interval = (
            ci_text(mean_interval([x - y for _, x, y in pairs], CONFIDENCE))
            if len(pairs) >= 2
            else MISSING
        )
        rows.append([f"{data.title(first)} - {data.title(other)}", str(len(pairs)), interval])
    if not rows:
        return []
    header = ["pair", "pairs", f"mean [{LEVEL} CI]"]
    line = text.SECONDARY.format(confidence=LEVEL, primary=data.primary_title)
    return [line, "", md_table(header, rows), ""]
