"""The report's importance section: which hyperparameters matter most, with intervals, and an
answer to "which 4" only as far as the methods agree. The numbers are
harness.report.importance's, the words harness.report.importance_text's."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.report import importance_text as text
from harness.report.config import IMPORTANCE_BOOTSTRAP
from harness.report.importance import FANOVA, ROUGH_BELOW, TOP, Importance, TrialSet, importances
from harness.report.load import RunData
from harness.report.markdown import md_table, ordinal
from harness.report.stats import completed

if TYPE_CHECKING:
    from harness.report.context import ReportContext

CONFIDENCE = f"{100 * IMPORTANCE_BOOTSTRAP.confidence:.0f}%"


def section_importance(report: ReportContext) -> list[str]:
    results, sets, problems = importances(report.data)
    lines = ["## Which hyperparameters matter most", ""]
    if not results:
        return [*lines, "Not computable: " + "; ".join(problems), ""]
    lines += _methods(results, sets)
    lines += agreement(results)
    order = results[0].ranking()
    rows = [[p, *[r.cell(p) for r in results]] for p in order]
    rows.append(["trials (repeats)", *[f"{r.trials} ({r.repeats})" for r in results]])
    rows.append(["resamples used (skipped)", *[f"{r.resamples} ({r.skipped})" for r in results]])
    lines += [md_table(["hyperparameter", *[r.label for r in results]], rows), ""]
    if any(r.skipped for r in results):
        lines += [text.SKIPPED, ""]
    lines += [f"- {p}" for p in problems]
    return lines + _figures(report, results, order)


def _methods(results: list[Importance], sets: list[TrialSet]) -> list[str]:
    """Which trials each method runs on, and what the intervals are."""
    lines = [text.METHODS.format(top=TOP), "", text.FANOVA.format(**FANOVA), text.PED_ANOVA]
    lines += [text.SHARED.format(label=s.label, shared=s.shared) for s in sets if s.shared]
    repeats = max(r.repeats for r in results)
    distinct = math.comb(2 * repeats - 1, repeats)
    rough = text.ROUGH.format(repeats=repeats, distinct=distinct) if repeats < ROUGH_BELOW else ""
    intervals = text.INTERVALS.format(
        confidence=CONFIDENCE,
        resamples=IMPORTANCE_BOOTSTRAP.resamples,
        repeats=repeats,
        seed=IMPORTANCE_BOOTSTRAP.seed,
        rough=rough,
    )
    return [*lines, "", intervals, ""]


def _figures(report: ReportContext, results: list[Importance], order: list[str]) -> list[str]:
    from harness.report.importance_plots import plot_importances, plot_slices
    from harness.report.plots import COLOURS, FALLBACK_COLOURS

    data, figures = report.data, report.figures
    colours = {
        r.label: (
            FALLBACK_COLOURS[0] if r.label.startswith("fANOVA") else COLOURS.get(r.sampler, "")
        )
        for r in results
    }
    png = plot_importances(
        figures.path("importances.png"),
        {r.label: r.point for r in results},
        title="Hyperparameter importance of the validation objective",
        colours={k: v for k, v in colours.items() if v},
        order=order,
        intervals={r.label: {p: (r.low[p], r.high[p]) for p in r.point} for r in results},
        interval_label=f"{CONFIDENCE} bootstrap interval over repeats",
    )
    trials = {s: [t for st in data.of(s) for t in completed(st.trials)] for s in data.samplers}
    slices = plot_slices(
        figures.path("slices.png"),
        trials,
        _distributions(data),
        data.titles,
        title=f"{data.metric} of each completed trial by hyperparameter",
        ylabel=data.metric + (" (fraction)" if data.maximize else ""),
        maximize=data.maximize,
    )
    return [
        figures.image(png, "hyperparameter importances"),
        "",
        figures.image(slices, "slice plot: objective by hyperparameter value"),
        "",
    ]


def _distributions(data: RunData) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for st in data.studies:
        for trial in completed(st.trials):
            for name, dist in trial.distributions.items():
                out.setdefault(name, dist)
    order = ("hidden_size", "lr", "batch_size", "weight_decay", "dropout")
    return dict(sorted(out.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9))


# ---------------------------------------------------------------- the answer, in words


def agreement(results: Sequence[Importance], top: int = TOP) -> list[str]:
    """Markdown lines answering "which ``top`` matter most" only as far as the methods agree,
    then every rank the bootstrap leaves unsettled. Pure: tables in, words out."""
    if not results:
        return []
    params = sorted({p for r in results for p in r.point})
    if len(params) <= top:
        return [text.ALL_IN_TOP.format(params=len(params), top=top), ""]
    tops = {r.label: r.ranking()[:top] for r in results}
    if len(results) == 1:
        ((label, chosen),) = tops.items()
        lines = [text.ONLY_ONE.format(label=label, top=top, chosen=", ".join(chosen)), ""]
    elif all(set(chosen) == set(tops[results[0].label]) for chosen in tops.values()):
        lines = _agree(results[0].ranking(), tops, top)
    else:
        lines = _disagree(results, params, tops, top)
    flags = unsettled(results, top)
    if flags:  # an agreement the intervals do not settle is no answer yet
        lines += [text.READ_WITH_INTERVALS.format(top=top), ""]
    return lines + flags


def _agree(first: list[str], tops: Mapping[str, list[str]], top: int) -> list[str]:
    rest = [p for p in first if p not in first[:top]]
    lines = [text.AGREE.format(top=top, chosen=", ".join(first[:top]), rest=", ".join(rest))]
    if len({tuple(chosen) for chosen in tops.values()}) == 1:
        return [*lines, text.SAME_ORDER, ""]
    orders = "; ".join(f"{label}: {' > '.join(o)}" for label, o in tops.items())
    return [*lines, f"They order them differently: {orders}.", ""]


def _disagree(
    results: Sequence[Importance], params: list[str], tops: Mapping[str, list[str]], top: int
) -> list[str]:
    ranks = {r.label: {p: i + 1 for i, p in enumerate(r.ranking())} for r in results}
    common = [p for p in results[0].ranking() if all(p in chosen for chosen in tops.values())]
    shared = (
        text.COMMON.format(common=", ".join(common), top=top)
        if common
        else text.NONE_COMMON.format(top=top)
    )
    lines = [text.DISAGREE.format(top=top, common=shared), ""]
    for param in params:
        inside = [label for label, chosen in tops.items() if param in chosen]
        if inside and len(inside) < len(tops):
            outside = [label for label in tops if label not in inside]
            lines.append(
                text.SPLIT_PARAM.format(
                    param=param,
                    top=top,
                    inside=_where(inside, ranks, param),
                    outside=_where(outside, ranks, param),
                )
            )
    return [*lines, "", text.WHY, ""]


def _where(labels: Sequence[str], ranks: Mapping[str, Mapping[str, int]], param: str) -> str:
    return "; ".join(f"{label} ({ordinal(ranks[label][param])})" for label in labels)


def unsettled(results: Sequence[Importance], top: int = TOP) -> list[str]:
    """A line per method whose top-``top`` line the intervals do not settle: a parameter
    outside its top ``top`` whose interval overlaps that of one inside."""
    lines = []
    for r in results:
        ranking = r.ranking()
        rank = {p: i + 1 for i, p in enumerate(ranking)}
        for out in ranking[top:]:
            overlap = [
                p
                for p in ranking[:top]
                if np.isfinite(r.low.get(p, np.nan)) and r.low[p] <= r.high[out]
            ]
            if not overlap:
                continue
            lines.append(
                text.UNSETTLED.format(
                    label=r.label,
                    out=out,
                    rank=ordinal(rank[out]),
                    cell=r.cell(out),
                    inside=", ".join(f"{p} ({ordinal(rank[p])})" for p in overlap),
                    top=top,
                    shares=", ".join(f"{p} {100 * r.top_share[p]:.0f}%" for p in [*overlap, out]),
                )
            )
    return [*lines, ""] if lines else []
