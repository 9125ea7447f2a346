"""Honest test numbers: each study's best configuration retrained with fresh seeds.

The search picks a configuration on validation with one training seed, so its own test score is
optimistic. Retraining it with K other seeds and scoring on test at the validation threshold
gives the number to report; results are cached in ``runs/RUN/retrain.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial

from harness.experiment.run_files import read_run_file
from harness.experiment.runs import RunStudy
from harness.files import write_atomically  # (experiment/compare.py imports it from here)
from harness.numbers import is_number, json_safe
from harness.search.jobs import Outcome, TrialJob
from harness.search.outcomes import classify

# Retraining seeds start far above any search seed (harness.search.driver.train_seed is
# seed * 100_000 + trial number), so no retrain replays the lucky run the search selected.
RETRAIN_SEED_BASE = 10_000_000
RETRAIN_KEYS = (
    "seed",
    "status",
    "device",
    "val_auroc",
    "threshold",
    "test_auroc",
    "test_f1",
    "test_precision",
    "test_recall",
    # a multiclass or regression task's (harness.tasks.spec.KIND_METRICS)
    "val_log_loss",
    "test_log_loss",
    "val_rmse",
    "test_rmse",
    # a problem task's (harness.tasks.problem): evaluate()'s value, and the primary outcome
    "value",
    "test_value",
    "epochs",
    "seconds",
)
PRIMARY_DEFAULT = "test_auroc"  # a record from before tasks: the lab's (Adult, binary)
# A minimised primary outcome enters the verdict negated (-log-loss, -RMSE), so that a
# positive paired difference means "A better" for every task (harness.experiment.verdict).
PRIMARY_SIGN = {"test_auroc": 1.0, "test_log_loss": -1.0, "test_rmse": -1.0}


def study_job_settings(run_study: RunStudy) -> dict[str, Any]:
    """What a retraining job of the study trains on: its task's data and fixed settings as
    the study stored them, and its objective (the value each epoch reports). A study from
    before tasks stored no data: the pool's (Adult) is used."""
    from harness.search.spaces import parse_space
    from harness.tasks.spec import DataSpec

    attrs = run_study.study.user_attrs
    stored = attrs.get("data")
    data = None
    if isinstance(stored, dict):
        categorical = stored.get("categorical")
        data = DataSpec(
            **{**stored, "categorical": None if categorical is None else tuple(categorical)}
        )
    problem = stored_problem(attrs)
    if problem is not None:
        return {"objective": "value", "data": None, "fixed": None, "problem": problem}
    space = parse_space(attrs.get("space", ""), run_study.name) if attrs.get("space") else None
    return {
        "objective": attrs.get("objective", "val_auroc"),
        "data": data,
        "fixed": None if space is None else space.fixed,
        "problem": None,
    }


def stored_problem(attrs: dict[str, Any]) -> Any:
    """A problem task's ``ProblemSpec`` as its study stored it; None for a tabular task."""
    from harness.tasks.problem import ProblemSpec

    stored = attrs.get("problem")
    return ProblemSpec(**stored) if isinstance(stored, dict) else None


def primary_metric(run_study: RunStudy) -> str:
    """The retrained test metric a study's verdict compares: its task kind's."""
    from harness.tasks.spec import stored_metrics

    return stored_metrics(run_study.study.user_attrs).primary


def primary_sign(run_study: RunStudy) -> float:
    """+1 when the primary outcome is maximised, -1 when minimised (it enters the verdict
    negated, so that a positive difference means "A better")."""
    from harness.tasks.spec import stored_metrics

    metrics = stored_metrics(run_study.study.user_attrs)
    return 1.0 if metrics.direction == "maximize" else -1.0


def retrain_params(run_study: RunStudy, trial: FrozenTrial) -> dict[str, Any]:
    """The best trial's full configuration: sampled values plus the ones its space fixed."""
    fixed = trial.user_attrs.get("fixed_params")
    if fixed is None:
        from harness.search.spaces import parse_space

        space = parse_space(run_study.study.user_attrs.get("space", ""), run_study.name)
        fixed = space.fixed_params
    return {**fixed, **trial.params}


def read_retrain(path: Path) -> dict[str, Any]:
    """The cached retrain document ({"records": [...]}), checked against its schema; empty
    when absent."""
    return read_run_file(path) or {"records": []}


def cached_retrain(document: dict[str, Any], name: str, trial: int, k: int) -> dict | None:
    """The cache entry for (study, best trial) holding at least ``k`` seeds, if any."""
    for record in document["records"]:
        same = record.get("study") == name and record.get("trial") == trial
        if same and len(record.get("results", [])) >= k:
            return record
    return None


class RetrainCache:
    """The retrain document of a run, written whole after each study's retraining finishes
    (so an interrupted run keeps every finished one, and resumes the rest)."""

    def __init__(self, path: Path) -> None:
        self.path, self.document = path, read_retrain(path)

    def has(self, name: str, trial: int, k: int) -> bool:
        return cached_retrain(self.document, name, trial, k) is not None

    def save(self, record: dict[str, Any]) -> None:
        others = [r for r in self.document["records"] if r.get("study") != record["study"]]
        self.document["records"] = [*others, record]
        write_atomically(self.path, json.dumps(json_safe(self.document), indent=2) + "\n")


class RetrainSource:
    """A study's best configuration retrained with seeds RETRAIN_SEED_BASE + 0..k-1, as a
    source of the scheduler (``harness.search.scheduler``); never pruned; each outcome is
    classified as a study's trial is (``outcomes.classify``): a job whose worker died is tried
    once more, one that raised or timed out is recorded failed with its reason. When all seeds
    are back, the record goes to the cache."""

    def __init__(self, run_study: RunStudy, trial: FrozenTrial, k: int, cache: RetrainCache):
        self.name = f"{run_study.name}/retrain"
        self.run_study, self.trial, self.k, self.cache = run_study, trial, k, cache
        self.limit = k
        self.params = retrain_params(run_study, trial)
        self.primary = primary_metric(run_study)
        settings = study_job_settings(run_study)
        # a problem whose evaluate takes no seed: its primary outcome is the chosen trial's
        # value, so there is nothing to run (harness.tasks.problem)
        self.source = run_study.study.user_attrs.get("primary_source")
        if self.source == "trial":
            self.k = k = 1
        self.records: dict[int, dict[str, Any]] = {}
        self.arrays: dict[int, tuple[Any, Any]] = {}  # seed index -> (probabilities, labels)
        self.retried: set[int] = set()
        self.queue = [
            TrialJob(
                i,
                self.params,
                RETRAIN_SEED_BASE + i,
                settings["objective"],
                score_test=True,
                test_probabilities=True,
                data=settings["data"],
                fixed=settings["fixed"],
                problem=settings["problem"],
            )
            for i in range(k)
        ]
        if self.source == "trial":
            self.queue = []
            value = trial.value
            self.records[0] = {"status": "ok", "value": value, "test_value": value}
            self._save()

    def fraction_done(self) -> float:
        return len(self.records) / self.k

    def done(self) -> bool:
        return len(self.records) == self.k

    def next_job(self) -> TrialJob | None:
        return self.queue.pop(0) if self.queue else None

    def ahead_job(self, fits: Callable[[TrialJob], bool]) -> TrialJob | None:
        # the seeds' results are independent of one another: any may go with a population
        for index, job in enumerate(self.queue):
            if fits(job):
                return self.queue.pop(index)
        return None

    def on_epoch(self, job: TrialJob, epoch: int, value: float) -> bool:
        return False

    def interrupted(self, job: TrialJob, reason: str) -> None:
        pass  # nothing is cached until every seed is back

    def tell(self, outcome: Outcome) -> None:
        number = outcome.job.number
        ruling = classify(outcome)
        if ruling.retry and number not in self.retried:
            self.retried.add(number)
            self.queue.append(outcome.job)
            return
        record = dict(outcome.record or {"status": "failed", "fail_reason": ruling.reason})
        probabilities, labels = (
            record.pop("test_probabilities", None),
            record.pop("test_labels", None),
        )
        if probabilities is not None and labels is not None:
            self.arrays[number] = (probabilities, labels)
        self.records[number] = record
        if self.done():
            self._save()

    def _save(self) -> None:
        """Every seed is back: the study's record goes to the cache."""
        results = [
            {
                "seed": RETRAIN_SEED_BASE + i,
                **{k: self.records[i][k] for k in RETRAIN_KEYS[1:] if k in self.records[i]},
            }
            for i in range(self.k)
        ]
        run_study, trial = self.run_study, self.trial
        self.cache.save(
            {
                "study": run_study.name,
                "sampler": run_study.sampler,
                "repeat": run_study.repeat,
                "trial": trial.number,
                "value": trial.value,
                "params": self.params,
                "primary": self.primary,
                "primary_sign": primary_sign(run_study),
                **({"primary_source": self.source} if self.source else {}),
                **({"task": run_study.task} if run_study.task else {}),
                "results": results,
                **self._save_predictions(),
            }
        )

    def _save_predictions(self) -> dict[str, Any]:
        """Write the seeds' test-row probabilities (those that trained) beside the cache; the
        record names the file and the seeds in it."""
        import numpy as np

        from harness.experiment.predictions import (
            TestPredictions,
            predictions_name,
            write_predictions,
        )

        kept = sorted(self.arrays)
        if not kept:
            return {}
        name = predictions_name(self.run_study.sampler, self.run_study.repeat, self.run_study.task)
        seeds = [RETRAIN_SEED_BASE + i for i in kept]
        write_predictions(
            self.cache.path.parent / name,
            TestPredictions(
                np.stack([self.arrays[i][0] for i in kept]),
                np.asarray(self.arrays[kept[0]][1]),
                np.asarray(seeds),
            ),
        )
        return {"predictions": name, "prediction_seeds": seeds}


def retrain_source(run_study: RunStudy, k: int, cache: RetrainCache) -> RetrainSource | None:
    """The retraining still to do for a study's best trial; None when it has no complete
    trial or its results are cached."""
    trial = run_study.best_trial()
    if run_study.study.user_attrs.get("primary_source") == "trial":
        k = 1  # the chosen trial's own value: one record (RetrainSource)
    if trial is None or cache.has(run_study.name, trial.number, k):
        return None
    return RetrainSource(run_study, trial, k, cache)


def retrained_test_aurocs(record: dict[str, Any]) -> list[float]:
    """The primary test metric (the task's: AUROC for the lab's) of each of a retrain record's
    seeds that trained."""
    metric = record.get("primary", PRIMARY_DEFAULT)
    return [
        r[metric]
        for r in record.get("results", [])
        if r.get("status") == "ok" and is_number(r.get(metric))
    ]


def primary_score(record: dict[str, Any]) -> float | None:
    """The primary outcome of a retrain record: the mean of its primary test metric over the
    seeds that trained (None if none did), negated when the metric is minimised (the test
    AUROC itself for the lab's task)."""
    values = retrained_test_aurocs(record)
    sign = record.get("primary_sign") or PRIMARY_SIGN[record.get("primary", PRIMARY_DEFAULT)]
    return sign * sum(values) / len(values) if values else None


def primary_pairs(
    document: dict[str, Any], pair: tuple[str, str]
) -> list[tuple[int, float, float]]:
    """(repeat, A's, B's retrained test AUROC) for repeats 0, 1, 2, ... while both samplers of
    the repeat are retrained: the first n pairs, in the order the design counts them."""
    by_study = {(r.get("sampler"), r.get("repeat")): primary_score(r) for r in document["records"]}
    pairs = []
    for repeat in range(len(document["records"]) + 1):
        a, b = by_study.get((pair[0], repeat)), by_study.get((pair[1], repeat))
        if a is None or b is None:
            break
        pairs.append((repeat, a, b))
    return pairs
