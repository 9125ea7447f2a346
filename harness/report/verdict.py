"""The report's verdict: the pre-declared primary outcome, as the looks recorded it.

The analysis is harness.report.verdict_analysis' (the report judges nothing: it shows the
looks ``harness compare``/``run`` recorded); the words are harness.report.verdict_words' (the
headline) and harness.report.verdict_notes' (the paragraphs under it).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from harness.experiment.verdict import ALPHA
from harness.report import verdict_text as text
from harness.report.markdown import MISSING, ci_text, md_table
from harness.report.outcome_plots import plot_paired_differences
from harness.report.verdict_analysis import PrimaryAnalysis, seed_sd
from harness.report.verdict_notes import (
    declaration,
    design_behaviour,
    nominal,
    secondary_pairs,
    shared_note,
    split_note,
)
from harness.report.verdict_words import ADJECTIVE_PAIRS, verdict_sentence

__all__ = ["ADJECTIVE_PAIRS", "section_verdict", "verdict_headline", "verdict_sentence"]

if TYPE_CHECKING:
    from harness.report.context import ReportContext
    from harness.report.load import RunData

# ---------------------------------------------------------------- the section


def section_verdict(report: ReportContext) -> list[str]:
    data, figures, analysis = report.data, report.figures, report.primary
    lines = ["## Verdict", ""]
    if analysis is None:
        return [*lines, text.ONE_SAMPLER.format(sampler=data.title(data.samplers[0])), ""]
    names = _names(data, analysis)
    d = analysis.differences
    lines += [f"**{verdict_headline(report)}**", ""]
    lines += _pending(analysis)
    lines += declaration(data, analysis)
    lines += shared_note(data, analysis)
    lines += split_note(data, analysis)
    lines += _looks_table(analysis, names)
    lines += nominal(analysis, names)
    lines += design_behaviour(analysis, names)
    lines += secondary_pairs(data, analysis.pair)
    if d.size:
        design = analysis.design
        png = plot_paired_differences(
            figures.path("paired_differences.png"),
            analysis,
            names,
            seed_sd=seed_sd(data),
            seeds=design.retrain_seeds if design is not None else _most_seeds(data),
            outcome=data.primary_title,
        )
        lines += [figures.image(png, text.FIGURE_ALT.format(primary=data.primary_title)), ""]
    lines += [f"- {note}" for note in dict.fromkeys(data.notes)]
    return [*lines, ""]


def verdict_headline(report: ReportContext) -> str | None:
    """The verdict's first sentence, as the report prints it (bold, under '## Verdict'); None
    when the run has one sampler."""
    analysis = report.primary
    if analysis is None:
        return None
    names = _names(report.data, analysis)
    return _headline(analysis, names, analysis.differences, report.data.primary_title)


def _names(data: RunData, analysis: PrimaryAnalysis) -> tuple[str, str]:
    return data.title(analysis.pair[0]), data.title(analysis.pair[1])


def _headline(
    analysis: PrimaryAnalysis, names: tuple[str, str], d: np.ndarray, outcome: str
) -> str:
    design, a, b = analysis.design, *names
    if design is None and d.size < 2:
        return text.NO_DESIGN_FEW_PAIRS.format(a=a, b=b, pairs=d.size)
    if design is None:
        return text.NO_DESIGN.format(a=a, b=b, pairs=d.size)
    if not analysis.looks:
        first = design.plan.next_look(0)
        return text.NOT_YET_JUDGED.format(a=a, b=b, pairs=d.size, first=first)
    sd = float(np.std(d, ddof=1)) if d.size >= 2 else None
    return verdict_sentence(
        analysis.final,
        names,
        outlook_=analysis.outlook,
        new_run=analysis.new_run,
        sd=sd,
        alpha=design.plan.alpha,
        outcome=outcome,
    )


def _pending(analysis: PrimaryAnalysis) -> list[str]:
    design, waiting = analysis.design, analysis.pending
    if design is None or not waiting or not design.looks:
        return []
    if design.decided is not None:
        return [text.AFTER_DECISION.format(waiting=waiting, decided=design.decided.pairs), ""]
    return [text.BEYOND_LAST_LOOK.format(waiting=waiting, last=design.last_look), ""]


def _looks_table(analysis: PrimaryAnalysis, names: tuple[str, str]) -> list[str]:
    if not analysis.looks:
        return []
    rows = [
        [
            str(look.pairs),
            f"{look.level:.4f}",
            f"{ci_text(look.mean)} ({100 * look.mean.level:.1f}%)",
            f"{ci_text(look.equivalence)} ({100 * look.equivalence.level:.1f}%)",
            MISSING if math.isnan(look.tost_p) else f"{look.tost_p:.3g}",
            look.outcome.replace("a_better", f"{names[0]} better").replace(
                "b_better", f"{names[1]} better"
            ),
            look.at or MISSING,
        ]
        for look in analysis.looks
    ]
    header = [
        "look at pairs",
        "level spent",
        f"{names[0]} - {names[1]}: direction interval (1 - level)",
        "equivalence interval (1 - 2 x level)",
        "TOST p",
        "outcome",
        "taken",
    ]
    design = analysis.design
    spent = f"{design.spent:.4f}" if design is not None else "0"
    alpha = design.plan.alpha if design else ALPHA
    lines = [text.LOOKS.format(spent=spent, alpha=alpha), "", md_table(header, rows), ""]
    if analysis.recomputed:
        looks = ", ".join(map(str, analysis.recomputed))
        lines += [text.RECOMPUTED.format(looks=looks), ""]
    return lines


def _most_seeds(data: RunData) -> int | None:
    records = (data.retrain or {"records": []})["records"]
    return max((len(r.get("results", [])) for r in records), default=None)
