"""The report's statistical settings, each declared once: the confidence level of its
fixed-sample numbers, its two bootstraps (each named for what it resamples) and the trial
budgets of its tables. The verdict's own design (alpha, margin, looks) is
harness.experiment.verdict's; the report only reads it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harness.experiment.verdict import ALPHA

__all__ = [
    "ACROSS_TASKS_BOOTSTRAP",
    "ALPHA",
    "BUDGETS",
    "CONFIDENCE",
    "IMPORTANCE_BOOTSTRAP",
    "IQM_BOOTSTRAP",
    "Bootstrap",
    "budgets",
]

# The fixed-sample numbers beside the verdict (the nominal intervals, the secondary pairs, the
# ranks' tests and intervals, the anytime t-intervals) are at the level that matches the
# design's total error rate: ALPHA = 0.05, so 95% intervals.
CONFIDENCE = 1 - ALPHA


@dataclass(frozen=True)
class Bootstrap:
    """A percentile bootstrap: how many resamples, numpy's seed, the interval's level."""

    resamples: int
    seed: int
    confidence: float = CONFIDENCE

    def arguments(self) -> dict[str, Any]:
        """As keyword arguments (``resamples``, ``seed``, ``confidence``)."""
        return asdict(self)


# The anytime sections' band of the interquartile mean over repeats (scipy.stats.bootstrap),
# drawn once there are enough repeats for it (anytime.MIN_REPEATS_FOR_CI).
IQM_BOOTSTRAP = Bootstrap(resamples=2000, seed=0)

# The importances' intervals: the repeats resampled, every method recomputed on each resample.
# fANOVA's cost is Optuna's pure-Python walk over every tree's leaves, run once per resample:
# 200 resamples of a 10-repeat synthetic run took 104 s on a busy 2-core machine, so 100
# (about half that); the intervals' ends move by a few hundredths between 100 and 200.
IMPORTANCE_BOOTSTRAP = Bootstrap(resamples=100, seed=0)

# The across-task IQM and probabilities of improvement (report/across_tasks_stats.py): the
# repeats resampled within each task, the tasks held fixed (rliable's stratified bootstrap).
# One resample costs a gather and a sort of (tasks x repeats) values: 2000 take well under a
# second for 10 tasks x 10 repeats x 5 samplers.
ACROSS_TASKS_BOOTSTRAP = Bootstrap(resamples=2000, seed=0)

BUDGETS = (5, 10, 20)  # trial budgets of the anytime and ranks tables, besides the run's target


def budgets(target: int) -> list[int]:
    """The tables' trial budgets: those of BUDGETS below ``target``, then ``target``."""
    return [b for b in BUDGETS if b < target] + [target]
