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
from harness.report.markdown import MISSING, ci_text, md_table
from harness.report.outcome_plots import plot_paired_differences
from harness.report.verdict_analysis import PrimaryAnalysis, analyse
from harness.report.verdict_notes import (
    declaration,
    design_behaviour,
    nominal,
    secondary_pairs,
    seed_sd,
    shared_note,
    split_note,
)
from harness.report.verdict_words import ADJECTIVE_PAIRS, verdict_sentence

__all__ = [
    "ADJECTIVE_PAIRS",
    "PrimaryAnalysis",
    "analyse",
    "section_verdict",
    "verdict_headline",
    "verdict_sentence",
]

if TYPE_CHECKING:
    from harness.report.context import ReportContext
    from harness.report.load import RunData

# ---------------------------------------------------------------- the section


def section_verdict(report: ReportContext) -> list[str]:
    data, figures, analysis = report.data, report.figures, report.primary
    lines = ["## Verdict", ""]
    if analysis is None:
        return [
            *lines,
            f"Only one sampler ({data.title(data.samplers[0])}) is in this run: "
            "there is nothing to compare.",
            "",
        ]
    names = _names(data, analysis)
    d = analysis.differences
    lines += [f"**{_headline(analysis, names, d)}**", ""]
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
        )
        lines += [figures.image(png, "paired differences in retrained test AUROC"), ""]
    lines += [f"- {note}" for note in dict.fromkeys(data.notes)]
    return lines


def verdict_headline(report: ReportContext) -> str | None:
    """The verdict's first sentence, as the report prints it (bold, under '## Verdict'); None
    when the run has one sampler."""
    analysis = report.primary
    if analysis is None:
        return None
    names = _names(report.data, analysis)
    return _headline(analysis, names, analysis.differences)


def _names(data: RunData, analysis: PrimaryAnalysis) -> tuple[str, str]:
    return data.title(analysis.pair[0]), data.title(analysis.pair[1])


def _headline(analysis: PrimaryAnalysis, names: tuple[str, str], d: np.ndarray) -> str:
    design, a, b = analysis.design, *names
    if design is None and d.size < 2:
        return (
            f"No verdict: {a} and {b} have {d.size} complete pair(s); a verdict needs at least "
            "2, and this run declared no design (a single pair, --repeats 1, runs without one)."
        )
    if design is None:
        return (
            f"No verdict: this run has no pre-declared design (no plan.json), so no look "
            f"has judged {a} - {b}; the {d.size} pairs below are described, not tested."
        )
    if not analysis.looks:
        first = design.plan.next_look(0)
        return (
            f"Not yet judged: {d.size} complete pair(s) of {a} and {b}; the design's first "
            f"look is at {first} pairs and only 'harness compare' (or 'harness run') takes it."
        )
    sd = float(np.std(d, ddof=1)) if d.size >= 2 else None
    return verdict_sentence(
        analysis.final,
        names,
        outlook_=analysis.outlook,
        new_run=analysis.new_run,
        sd=sd,
        alpha=design.plan.alpha,
    )


def _pending(analysis: PrimaryAnalysis) -> list[str]:
    design, waiting = analysis.design, analysis.pending
    if design is None or not waiting or not design.looks:
        return []
    if design.decided is not None:
        return [
            f"{waiting} pair(s) completed after the verdict was decided at "
            f"{design.decided.pairs} pairs are **not judged**: the decision stands as "
            "recorded.",
            "",
        ]
    return [
        f"{waiting} pair(s) beyond the last look (at {design.last_look} pairs) are **not yet "
        "judged**: this report takes no look; the next 'harness compare' (or 'harness run') "
        "on this run judges them at the design's next look and records it.",
        "",
    ]


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
    lines = [
        f"Looks as `plan.json` recorded them ({spent} of the run's "
        f"{design.plan.alpha if design else ALPHA} error rate spent; a direction is claimed "
        "when the direction interval excludes 0, equivalence when the equivalence interval "
        "lies inside the margin; the run stops at the first decided look):",
        "",
        md_table(header, rows),
        "",
    ]
    if analysis.recomputed:
        lines += [
            f"The looks at {', '.join(map(str, analysis.recomputed))} pairs were recorded "
            "before `plan.json` kept intervals: their intervals are recomputed from the first "
            "pairs at the recorded level; their outcomes are as recorded.",
            "",
        ]
    return lines


def _most_seeds(data: RunData) -> int | None:
    records = (data.retrain or {"records": []})["records"]
    return max((len(r.get("results", [])) for r in records), default=None)
