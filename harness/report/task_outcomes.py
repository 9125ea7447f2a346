"""The hook of the across-task analysis: per (task, sampler, repeat) of a run of several tasks,
the primary outcome, the task's direction and the best value known for the task.

``harness compare --tasks`` retrains each study's chosen configuration with K seeds; the
primary outcome of a study is the mean of its task's test metric over the seeds that trained
(``harness.experiment.retrain``): test AUROC (binary, maximised), test log-loss (multiclass,
minimised), test RMSE (regression, minimised), in the metric's own units (not negated).
``best_known`` is the best such value of any study of the task in the run (the run's own
best: the task as the unit, a study's regret is its gap to it); a caller with a better
reference (a longer run, a published number) may use its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.choices import Direction
from harness.experiment.retrain import read_retrain, retrained_test_aurocs
from harness.experiment.runs import DEFAULT_RUNS_ROOT, find_run_studies, run_dir
from harness.search.storage import open_existing_storage
from harness.tasks.spec import stored_metrics


@dataclass(frozen=True)
class TaskOutcome:
    """One study of a run of several tasks, as the across-task analysis reads it."""

    task: str
    sampler: str  # the sampler's label in the study's name
    repeat: int
    metric: str  # the primary outcome's key in a retrain record: "test_auroc", "test_rmse", ...
    direction: Direction  # of the metric: "maximize" (AUROC) or "minimize" (log-loss, RMSE)
    value: float | None  # the primary outcome; None: not retrained, or no seed trained
    best_known: float | None  # the task's best value in the run (None: no study has one)


def task_outcomes(
    run: str, storage_url: str, runs_root: str | Path = DEFAULT_RUNS_ROOT
) -> list[TaskOutcome]:
    """Every (task, sampler, repeat) study of ``run`` with its primary outcome, by task, repeat
    and sampler; a run of one task gives [] (its studies have no task in their names)."""
    storage = open_existing_storage(storage_url)
    studies = [s for s in find_run_studies(storage, run, storage_url) if s.task is not None]
    records = {
        r["study"]: r for r in read_retrain(run_dir(run, runs_root) / "retrain.json")["records"]
    }
    rows = []
    for study in studies:
        metrics = stored_metrics(study.study.user_attrs)
        values = retrained_test_aurocs(records[study.name]) if study.name in records else []
        value = sum(values) / len(values) if values else None
        row = (study.task or "", study.sampler, study.repeat, metrics.primary, metrics.direction)
        rows.append((row, value))
    best: dict[str, float] = {}
    for (task, _, _, _, direction), value in rows:
        if value is not None:
            pick = max if direction == "maximize" else min
            best[task] = value if task not in best else pick(best[task], value)
    return [TaskOutcome(*row, value, best.get(row[0])) for row, value in rows]
