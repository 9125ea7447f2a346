"""The across-task section of a run of several tasks: its studies' primary outcomes
(``task_outcomes``) handed to the across-task analysis (``across_tasks_section``), before the
per-task parts (``tasks_report.ACROSS_TASKS``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.report.across_tasks import AcrossTaskTable, Failure, Outcome, TaskInfo
from harness.report.across_tasks_section import across_task_lines

if TYPE_CHECKING:
    from harness.report.markdown import Figures
    from harness.report.task_outcomes import TaskOutcome

TITLES = {"test_auroc": "AUROC", "test_log_loss": "log-loss", "test_rmse": "RMSE"}
# the words for a study without a primary outcome (none of its retraining seeds trained, or
# the run was not retrained yet)
NOT_RETRAINED = "no retrained primary outcome"


def across_table(outcomes: list[TaskOutcome]) -> AcrossTaskTable:
    """The analysis's input: one outcome per retrained study; a study without one a failure of
    its sampler on its task (the analysis leaves that task out of every aggregate, named). The
    best known value of a task is the run's own best (the analysis's default); random search's
    expected value the mean of the random sampler's outcomes on it."""
    kept = [o for o in outcomes if o.value is not None]
    tasks: dict[str, TaskInfo] = {}
    for o in outcomes:
        tasks.setdefault(o.task, TaskInfo(o.task, o.direction))
    failed = {(o.task, o.sampler) for o in outcomes if o.value is None}
    metrics = sorted({TITLES.get(o.metric, o.metric) for o in outcomes})
    return AcrossTaskTable(
        outcomes=[Outcome(o.task, o.sampler, o.repeat, float(o.value)) for o in kept],  # type: ignore[arg-type]
        tasks=list(tasks.values()),
        failures=[Failure(task, sampler, NOT_RETRAINED) for task, sampler in sorted(failed)],
        outcome_name=f"retrained test metric (each task's own: {', '.join(metrics)})",
    )


def section_across_tasks(outcomes: list[TaskOutcome], figures: Figures) -> list[str]:
    return across_task_lines(across_table(outcomes), figures)
