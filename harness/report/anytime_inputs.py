"""A run's inputs to the anytime numbers: each study's best-so-far curve, the best value known
for the search problem (with where it comes from), random search's pooled single-trial values and
their expected best of n, and the targets of trials-to-target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.report.anytime import expected_best_of_n, normalised_regret
from harness.report.config import budgets
from harness.report.load import RunData, shared_start
from harness.report.stats import completed, stack, trial_curve
from harness.report.verdict_analysis import seed_sd

PERCENTILES = (90, 95, 99)  # targets: percentiles of random search's single-trial values
NEAR_BEST = 1e-3  # and the best known value less this (objective units)


@dataclass
class Anytime:
    """A run's best-so-far curves and what they are measured against."""

    maximize: bool
    target: int
    curves: dict[str, dict[int, np.ndarray]]  # sampler -> repeat -> best so far, trials 1..target
    best_known: float
    best_source: str
    pool: np.ndarray  # the random sampler's completed trial values, pooled over its studies
    reference: np.ndarray | None  # random search's expected best of 1..target trials
    shared: int  # leading trials the first two samplers' paired repeats share (median), or 0
    seed_sd: float | None = None  # seed-to-seed sd of one configuration's objective
    optimism: tuple[float, int] | None = None  # (mean search value - retrained, studies)

    def _best(self, sampler: str) -> np.ndarray:
        rows = [self.curves[sampler][r] for r in sorted(self.curves[sampler])]
        return stack(rows, self.target) if rows else np.empty((0, self.target))

    def regret(self, sampler: str) -> np.ndarray:
        """Rows: repeats (ascending); columns: trials 1..target."""
        return normalised_regret(
            self._best(sampler), self.best_known, self.reference, self.maximize
        )

    def gap(self, sampler: str) -> np.ndarray:
        """The plain regret in the objective's units (best known - best so far, mirrored for
        minimisation): the absolute gap beside every normalised regret."""
        return normalised_regret(self._best(sampler), self.best_known, None, self.maximize)

    def scale(self) -> np.ndarray | None:
        """What one unit of normalised regret is in the objective's units, per trial count."""
        if self.reference is None:
            return None
        sign = 1.0 if self.maximize else -1.0
        return sign * (self.best_known - self.reference)

    @property
    def budgets(self) -> list[int]:
        return budgets(self.target)


def anytime_inputs(data: RunData) -> Anytime:
    curves = {
        s: {st.repeat: trial_curve(st.trials, data.maximize)[: data.target] for st in data.of(s)}
        for s in data.samplers
    }
    best, source = _best_known(data)
    pool = np.array([t.value for st in data.of("random") for t in completed(st.trials)], float)
    steps = np.arange(1, data.target + 1)
    reference = expected_best_of_n(pool, steps, data.maximize) if pool.size else None
    # the first two samplers' pairs (the verdict's, by default): with TPE and random they share
    # TPE's start-up; another pair (TPE and QMC) may share nothing, and a median over both
    # would describe neither
    shared = shared_start(data, *data.samplers[:2]) if len(data.samplers) >= 2 else []
    key = data.objective if data.objective in ("val_auroc", "val_loss") else "val_auroc"
    return Anytime(
        data.maximize,
        data.target,
        curves,
        best,
        source,
        pool,
        reference,
        int(np.median(shared)) if shared else 0,
        seed_sd(data, key),
        _optimism(data, key),
    )


def _optimism(data: RunData, key: str) -> tuple[float, int] | None:
    """How much a study's best search value exceeds its configuration's mean over fresh
    retraining seeds (for a maximised objective; the other way round for a minimised one):
    the selection bias of a best-so-far value, measured, averaged over studies."""
    if key != data.objective:
        return None
    sign = 1.0 if data.maximize else -1.0
    gaps = []
    for record in (data.retrain or {"records": []})["records"]:
        values = [
            r[key]
            for r in record.get("results", [])
            if r.get("status") == "ok" and isinstance(r.get(key), int | float)
        ]
        if values and isinstance(record.get("value"), int | float):
            gaps.append(sign * (record["value"] - float(np.mean(values))))
    return (float(np.mean(gaps)), len(gaps)) if gaps else None


def _best_known(data: RunData) -> tuple[float, str]:
    """The best objective value known for this search problem, and where it comes from: this
    run's trials, other studies in the storage with the same space and objective, and (for a
    validation AUROC) the retrained best configurations' validation values."""
    pick = max if data.maximize else min
    found: list[tuple[Any, str]] = [
        (t.value, f"trial {t.number} of `{st.name}`")
        for st in data.studies
        for t in completed(st.trials)
    ]
    found += _storage_bests(data)
    if data.objective == "val_auroc" and data.maximize and data.retrain:
        found += [
            (r["val_auroc"], f"seed {r.get('seed')} of the retrained best of `{rec['study']}`")
            for rec in data.retrain["records"]
            for r in rec.get("results", [])
            if isinstance(r.get("val_auroc"), int | float)
        ]
    value, source = pick(found, key=lambda pair: pair[0])
    return float(value), source


def _storage_bests(data: RunData) -> list[tuple[float, str]]:
    """Best trials of the storage's other studies with this run's space and objective (another
    run of the same search problem). optuna.Study keeps its storage private; it is the one
    load_run opened, so this reads the same storage without reopening its URL."""
    import optuna

    first = data.studies[0].study
    spaces = {st.study.user_attrs.get("space") for st in data.studies}
    storage = getattr(first, "_storage", None)
    if storage is None or len(spaces) != 1 or None in spaces:
        return []
    own = {st.name for st in data.studies}
    try:
        summaries = optuna.get_all_study_summaries(storage, include_best_trial=True)
    except Exception:  # an unreadable storage was already reported by load_run; nothing more
        return []
    return [
        (s.best_trial.value, f"trial {s.best_trial.number} of `{s.study_name}`")
        for s in summaries
        if s.study_name not in own
        and s.best_trial is not None
        and s.best_trial.value is not None
        and s.direction == first.direction
        and s.user_attrs.get("space") in spaces
        and s.user_attrs.get("objective", "val_auroc") == data.objective
    ]


def reach_targets(run: Anytime, data: RunData) -> list[tuple[str, float]]:
    """(label, value) of each target: percentiles of random search's single-trial values (of
    all trials when there is no random sampler) and the best known less NEAR_BEST. Targets
    that print alike (4 decimals) are one target, at the stricter value, labelled with both
    names: two rows with the same number would only repeat each other."""
    pool = run.pool
    if not pool.size:
        pool = np.array([t.value for st in data.studies for t in completed(st.trials)], float)
    found = []
    for p in PERCENTILES:
        q = p if run.maximize else 100 - p
        found.append((f"random's {p}th percentile", float(np.percentile(pool, q))))
    sign = -1 if run.maximize else 1
    found.append(
        (
            f"best known {'-' if run.maximize else '+'} {NEAR_BEST:g}",
            run.best_known + sign * NEAR_BEST,
        )
    )
    strict = max if run.maximize else min
    merged: dict[str, tuple[str, float]] = {}
    for label, value in found:
        key = f"{value:.4f}"
        if key in merged:
            label, value = f"{merged[key][0]} = {label}", strict(merged[key][1], value)
        merged[key] = (label, value)
    return list(merged.values())
