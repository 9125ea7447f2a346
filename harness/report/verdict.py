"""The report's verdict: the pre-declared primary outcome, as the looks recorded it.

The report judges nothing: only ``harness compare``/``run`` take looks, each recorded whole in
``runs/RUN/plan.json`` (level, intervals, TOST p, outcome). This module shows those records,
counts the pairs no look has judged yet, and adds what the records imply: the chance that the
looks still to come decide it (``harness.experiment.simulation.outlook``), or a new run's size
once the run's error rate is spent. The words are harness.report.verdict_words'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from harness.experiment.design import Design, read_design
from harness.experiment.retrain import primary_pairs
from harness.experiment.runs import run_dir
from harness.experiment.simulation import (
    Outlook,
    Simulation,
    new_run_range,
    outlook,
    simulate,
)
from harness.experiment.verdict import Look, judge
from harness.report.markdown import md_table
from harness.report.outcome_plots import plot_paired_differences
from harness.report.test_split import SplitError, split_error
from harness.report.verdict_notes import (
    ci_text,
    declaration,
    design_behaviour,
    nominal,
    secondary_pairs,
    seed_sd,
    shared_note,
    split_note,
)
from harness.report.verdict_words import ADJECTIVE_PAIRS, verdict_sentence

__all__ = ["ADJECTIVE_PAIRS", "PrimaryAnalysis", "analyse", "section_verdict", "verdict_sentence"]

if TYPE_CHECKING:
    from harness.report.load import RunData
    from harness.report.markdown import Figures

SIMULATIONS = 10_000  # Monte Carlo error of a 5% rate: about ±0.2% (one sd)


@dataclass
class PrimaryAnalysis:
    """The primary comparison of a run: its pairs, its recorded looks, what they imply."""

    pair: tuple[str, str]
    design: Design | None  # None: the run has no plan.json, so no look was ever taken
    pairs: list[tuple[int, float, float]]  # (repeat, A, B)
    looks: list[Look]  # as recorded (intervals recomputed only where a record lacks them)
    recomputed: list[int] = field(default_factory=list)  # looks whose intervals were missing
    outlook: Outlook | None = None  # the looks still to come, from the pairs in hand
    new_run: tuple[int | None, int | None, int | None] | None = None  # spent: a new run's size
    power: Simulation | None = None  # the design at the observed mean and spread
    null: Simulation | None = None  # the design with no true difference, at the spread
    split: SplitError | None = None  # the test split's sampling error (stored predictions)

    @property
    def differences(self) -> np.ndarray:
        return np.array([a - b for _, a, b in self.pairs])

    @property
    def final(self) -> Look | None:
        return self.looks[-1] if self.looks else None

    @property
    def pending(self) -> int:
        """Complete pairs that no look has judged."""
        last = self.design.last_look if self.design is not None else 0
        return max(len(self.pairs) - last, 0)


def analyse(data: RunData) -> PrimaryAnalysis:
    """The run's primary outcome: the design's pair when its samplers are in the run, else the
    first two samplers (and no look)."""
    folder = run_dir(data.run, data.runs_root)
    design = read_design(folder / "plan.json")
    if design is not None and not set(design.pair) <= set(data.samplers):
        design = None
    pair = tuple(design.pair) if design is not None else (data.samplers[0], data.samplers[1])
    pairs = primary_pairs(data.retrain or {"records": []}, pair)  # type: ignore[arg-type]
    analysis = PrimaryAnalysis(pair, design, pairs, [])  # type: ignore[arg-type]
    repeats = [repeat for repeat, _, _ in pairs]
    analysis.split = split_error(folder, data.retrain, analysis.pair, repeats)
    if design is None:
        return analysis
    d = analysis.differences
    for look in design.looks:
        if math.isnan(look.mean.low) and look.pairs <= d.size:
            again = judge(d[: look.pairs], look.level, look.margin)
            look = replace(
                look, mean=again.mean, equivalence=again.equivalence, tost_p=again.tost_p
            )
            analysis.recomputed.append(look.pairs)
        analysis.looks.append(look)
    # What the looks imply comes from the pairs they judged only: a number drawn from pairs
    # no look has judged would be the unrecorded look the report must not take.
    judged = d[: design.last_look]
    sd = float(np.std(judged, ddof=1)) if judged.size >= 2 else 0.0
    if sd > 0 and design.decided is None:
        margin = design.plan.margin
        if design.exhausted:
            analysis.new_run = new_run_range(judged, design.plan.alpha, margin)
        else:
            analysis.outlook = outlook(judged, design.future(design.last_look), margin)
    if sd > 0:
        schedule, margin, mean = design.schedule(), design.plan.margin, float(judged.mean())
        analysis.power = simulate(schedule, margin, mean, sd, runs=SIMULATIONS, seed=1)
        analysis.null = simulate(schedule, margin, 0.0, sd, runs=SIMULATIONS, seed=2)
    return analysis


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
    names = (data.title(analysis.pair[0]), data.title(analysis.pair[1]))
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
            "—" if math.isnan(look.tost_p) else f"{look.tost_p:.3g}",
            look.outcome.replace("a_better", f"{names[0]} better").replace(
                "b_better", f"{names[1]} better"
            ),
            look.at or "—",
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
        f"{design.plan.alpha if design else 0.05} error rate spent; a direction is claimed "
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
