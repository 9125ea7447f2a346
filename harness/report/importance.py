"""Which hyperparameters matter most: importances with bootstrap intervals, and an answer to
"which 4" only where the methods agree.

Each method runs on the trials whose spread it assumes: fANOVA decomposes the objective's
variance over the whole space, so it gets the random-search trials only (they sample the whole
space); PED-ANOVA compares the top quantile of trials with all of them, so it runs per sampler
and tells what matters where that sampler searched. TPE's random start-up trials repeat the
random-search trials of the same repeat (both are seeded with the repeat), so they are counted
once, in the random-search set. Intervals come from resampling the repeats, the independent
unit of a run; trials within a study depend on each other through the sampler.

The numbers only: the section is harness.report.importance_section.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.trial import FrozenTrial

from harness.report.config import IMPORTANCE_BOOTSTRAP
from harness.report.load import RunData, shared_start
from harness.report.stats import completed

if TYPE_CHECKING:
    from optuna.importance import BaseImportanceEvaluator


TOP = 4  # the lab's question: which 4 hyperparameters matter most
# fANOVA's cost is Optuna's pure-Python walk over every tree's leaves, run once per resample
# (config.IMPORTANCE_BOOTSTRAP). Depth 5 (at most 32 leaves) cuts a 300-trial fit from ~2.2 s
# (depth 64, the default) to ~0.2 s; on a 10-repeat synthetic run the importances agreed with
# depth 64 to 0.01.
FANOVA = {"n_trees": 32, "max_depth": 5, "seed": 0}
ROUGH_BELOW = 5  # repeats: fewer give few distinct resamples, so a rough interval
RANDOM = "random"  # the sampler whose trials spread over the whole space
EQUAL = "importances will be equal"  # Optuna's warning when PED-ANOVA cannot tell params apart


def _fanova() -> BaseImportanceEvaluator:
    from optuna.importance import FanovaImportanceEvaluator

    return FanovaImportanceEvaluator(**FANOVA)


def _ped_anova() -> BaseImportanceEvaluator:
    from optuna.importance import PedAnovaImportanceEvaluator

    # Optuna's defaults, named so the text stays true: the top 10% against all trials
    return PedAnovaImportanceEvaluator(target_quantile=0.1, region_quantile=1.0)


EVALUATORS: dict[str, Callable[[], BaseImportanceEvaluator]] = {
    "fANOVA": _fanova,
    "PED-ANOVA": _ped_anova,
}


@dataclass(frozen=True)
class TrialSet:
    """The trials one method is run on, grouped by repeat (the unit the bootstrap resamples)."""

    method: str  # a key of EVALUATORS
    sampler: str
    title: str  # e.g. "random-search trials"
    by_repeat: dict[int, list[FrozenTrial]]
    shared: int = 0  # leading trials left out: they repeat the random-search trials

    @property
    def label(self) -> str:
        return f"{self.method}, {self.title}"

    @property
    def trials(self) -> list[FrozenTrial]:
        return [t for r in sorted(self.by_repeat) for t in self.by_repeat[r]]


@dataclass(frozen=True)
class Importance:
    """One method's importances: the estimate on all repeats and its bootstrap interval."""

    label: str
    sampler: str
    trials: int  # given to the evaluator for the estimate on all repeats
    repeats: int
    point: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    top_share: dict[str, float]  # fraction of evaluated resamples with the param in the top
    resamples: int  # evaluated
    skipped: int  # could not be evaluated

    def ranking(self) -> list[str]:
        return sorted(self.point, key=lambda p: (-self.point[p], p))

    def cell(self, param: str, digits: int = 2) -> str:
        """``0.62 [0.50, 0.75]``: never the estimate without its interval."""
        if param not in self.point:
            return "—"
        low, high = self.low.get(param, math.nan), self.high.get(param, math.nan)
        interval = f"[{low:.{digits}f}, {high:.{digits}f}]" if np.isfinite(low) else "[no interval]"
        return f"{self.point[param]:.{digits}f} {interval}"


# ---------------------------------------------------------------- trial sets


def trial_sets(data: RunData) -> list[TrialSet]:
    """fANOVA on the random-search trials; PED-ANOVA per sampler, each sampler's start-up
    trials that repeat the random-search ones left out (they stay in the random-search set)."""
    sets = []
    if RANDOM in data.samplers:
        random = {st.repeat: completed(st.trials) for st in data.of(RANDOM)}
        sets.append(TrialSet("fANOVA", RANDOM, "random-search trials", random))
    for sampler in data.samplers:
        shared: dict[int, int] = {}
        if sampler != RANDOM and RANDOM in data.samplers:
            common = {s.repeat for s in data.of(RANDOM)} & {s.repeat for s in data.of(sampler)}
            shared = dict(zip(sorted(common), shared_start(data, RANDOM, sampler), strict=True))
        by_repeat = {}
        for st in data.of(sampler):
            # trial numbers, not positions: a failed trial among the shared ones still counts
            leading = sorted(st.trials, key=lambda t: t.number)[: shared.get(st.repeat, 0)]
            skip = {t.number for t in leading}
            by_repeat[st.repeat] = [t for t in completed(st.trials) if t.number not in skip]
        title = "random-search trials" if sampler == RANDOM else f"{data.title(sampler)} trials"
        sets.append(TrialSet("PED-ANOVA", sampler, title, by_repeat, sum(shared.values())))
    return sets


# ---------------------------------------------------------------- estimates


def evaluate(trials: Sequence[FrozenTrial], method: str, maximize: bool) -> dict[str, float]:
    """Normalised importances of ``trials`` by ``method``; ValueError when they cannot be told
    apart (too few trials, or Optuna's PED-ANOVA reports that all would be equal)."""
    import optuna
    from optuna.importance import get_param_importances

    if len(trials) < 2:
        raise ValueError(f"at least 2 completed trials are needed, but got {len(trials)}")
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    study.add_trials(trials)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = get_param_importances(study, evaluator=EVALUATORS[method]())
    if any(EQUAL in str(w.message) for w in caught):
        raise ValueError(
            f"Optuna's {method} says the {len(trials)} trials cannot tell the "
            "parameters apart (importances will be equal)"
        )
    out = {p: float(v) for p, v in values.items()}
    if not all(np.isfinite(v) for v in out.values()):
        raise ValueError(f"{method} gave a non-finite importance on {len(trials)} trials")
    return out


def estimate(
    trial_set: TrialSet,
    maximize: bool,
    *,
    resamples: int = IMPORTANCE_BOOTSTRAP.resamples,
    seed: int = IMPORTANCE_BOOTSTRAP.seed,
    confidence: float = IMPORTANCE_BOOTSTRAP.confidence,
    top: int = TOP,
) -> Importance:
    """The importances on all repeats and their percentile bootstrap interval over repeats.

    Every method draws the same resamples (one seed), so their intervals are paired. A resample
    is a multiset of repeats; equal multisets give equal importances (the evaluators are
    seeded), so each is evaluated once: 3 repeats have only 10. ValueError when the estimate on
    all repeats cannot be made; a resample that cannot be evaluated is skipped and counted.
    """
    repeats = sorted(trial_set.by_repeat)
    groups = [[_bare(t) for t in trial_set.by_repeat[r]] for r in repeats]
    cache: dict[tuple[int, ...], dict[str, float] | None] = {}

    def importances_of(draw: tuple[int, ...]) -> dict[str, float] | None:
        if draw not in cache:
            try:
                cache[draw] = evaluate(
                    [t for i in draw for t in groups[i]], trial_set.method, maximize
                )
            except (ValueError, RuntimeError, ZeroDivisionError):
                cache[draw] = None
        return cache[draw]

    point = evaluate([t for group in groups for t in group], trial_set.method, maximize)
    cache[tuple(range(len(repeats)))] = point
    params = sorted(point)
    draws = np.random.default_rng(seed).integers(0, len(repeats), size=(resamples, len(repeats)))
    rows = [importances_of(tuple(sorted(int(i) for i in draw))) for draw in draws]
    samples = np.array([[row.get(p, 0.0) for p in params] for row in rows if row is not None])
    skipped = sum(row is None for row in rows)
    if samples.size:
        tail = 100 * (1 - confidence) / 2
        low, high = np.percentile(samples, [tail, 100 - tail], axis=0)
        # rank within each resample (ties broken by name, as ranking() does)
        order = np.argsort(-samples + 1e-12 * np.arange(len(params)), axis=1, kind="stable")
        in_top = np.zeros_like(samples, dtype=bool)
        np.put_along_axis(in_top, order[:, :top], True, axis=1)
        share = in_top.mean(axis=0)
    else:
        low = high = share = np.full(len(params), np.nan)
    return Importance(
        trial_set.label,
        trial_set.sampler,
        len(trial_set.trials),
        len(repeats),
        point,
        dict(zip(params, map(float, low), strict=True)),
        dict(zip(params, map(float, high), strict=True)),
        dict(zip(params, map(float, share), strict=True)),
        len(samples),
        skipped,
    )


def _bare(trial: FrozenTrial) -> FrozenTrial:
    """Only what an evaluator reads: add_trials deep-copies every trial, attributes and
    learning curves included, once per resample."""
    from optuna.trial import create_trial

    return create_trial(params=trial.params, distributions=trial.distributions, value=trial.value)


def importances(
    data: RunData, **bootstrap: Any
) -> tuple[list[Importance], list[TrialSet], list[str]]:
    """Every method's importances with intervals, the trial sets, and why any is missing."""
    import optuna

    results, problems = [], []
    sets = trial_sets(data)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study" line per resample
    try:
        for trial_set in sets:
            try:
                results.append(estimate(trial_set, data.maximize, **bootstrap))
            except (ValueError, RuntimeError, ZeroDivisionError) as err:
                problems.append(
                    f"{trial_set.label} ({len(trial_set.trials)} trials): not computable ({err})"
                )
    finally:
        optuna.logging.set_verbosity(verbosity)
    return results, sets, problems
