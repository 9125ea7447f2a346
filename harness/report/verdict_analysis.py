"""The verdict's analysis: the run's primary outcome as the looks recorded it, and what those
records imply.

The report judges nothing: only ``harness compare``/``run`` take looks, each recorded whole in
``runs/RUN/plan.json`` (level, intervals, TOST p, outcome). ``analyse`` reads those records,
counts the pairs no look has judged yet, and adds what the records imply: the chance that the
looks still to come decide it (``harness.experiment.simulation.outlook``), or a new run's size
once the run's error rate is spent, and the test split's own sampling error. The section that
shows it is harness.report.verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from harness.experiment.design import Design, read_design
from harness.experiment.retrain import primary_pairs, retrained_test_aurocs
from harness.experiment.runs import run_dir
from harness.experiment.simulation import (
    Outlook,
    Simulation,
    new_run_range,
    outlook,
    simulate,
)
from harness.experiment.verdict import Look, judge
from harness.report.test_split import SplitError, split_error

if TYPE_CHECKING:
    from harness.report.load import RunData

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
