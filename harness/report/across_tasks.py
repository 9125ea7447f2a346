"""The across-task analysis's input and its normalisation: many samplers on many tasks, the task
as the unit of replication (issue 20, item 6).

The input is a tidy table, one row per study: ``task, sampler, repeat, outcome`` (the study's
primary outcome), a ``TaskInfo`` per task (direction, best known value, random search's
expected value at the budget) and the (task, sampler) pairs that failed. Each outcome becomes
a normalised regret, as harness.report.anytime's: 0 = the best value known for the task, 1 =
random search's expected value, lower is better, whatever the task's direction.

A task is left out of every aggregate, and named with the reason, when any sampler failed on
it or has no outcome there, when no repeat has an outcome of every sampler, or when random
search's expected value is as good as the best known (no scale to normalise by): the samplers
are then compared on the same tasks only, as kurobako does. The statistics are in
``across_tasks_stats``, the markdown and figures in ``across_tasks_section``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from harness.errors import HarnessError
from harness.report.anytime import normalised_regret

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("task", "sampler", "repeat", "outcome")
DIRECTIONS = ("maximize", "minimize")
RANDOM_SAMPLER = "random"


@dataclass(frozen=True)
class Outcome:
    """One study's primary outcome: ``sampler`` on ``task`` in ``repeat``."""

    task: str
    sampler: str
    repeat: int
    outcome: float


@dataclass(frozen=True)
class TaskInfo:
    """What normalises a task's outcomes.

    ``best_known``: the best value known for the task (a reference model, a long search); None
    takes the best outcome any sampler reached there. ``random_expected``: random search's
    expected outcome at the same budget; None takes the mean of the random sampler's outcomes
    on the task over its repeats (an estimate, held fixed by the bootstrap).
    """

    name: str
    direction: Literal["maximize", "minimize"]
    best_known: float | None = None
    random_expected: float | None = None


@dataclass(frozen=True)
class Failure:
    """A sampler that failed on a task: the task is left out of the aggregate and named."""

    task: str
    sampler: str
    reason: str


@dataclass(frozen=True)
class AcrossTaskTable:
    """Everything the across-task analysis reads: the outcomes (a DataFrame with COLUMNS or
    ``Outcome`` records), one ``TaskInfo`` per task, the failures, the sampler whose mean is
    random search's expected value where a task gives none, and the outcome's name in words."""

    outcomes: pd.DataFrame | Sequence[Outcome]
    tasks: Sequence[TaskInfo]
    failures: Sequence[Failure] = ()
    random_sampler: str = RANDOM_SAMPLER
    outcome_name: str = "primary outcome"


@dataclass(frozen=True)
class TaskScores:
    """One kept task: the normalised regrets (repeats x samplers) in the repeats where every
    sampler has an outcome, and the values that normalised them."""

    info: TaskInfo
    best_known: float
    random_expected: float
    repeats: list[int]
    regret: np.ndarray
    dropped_repeats: int


@dataclass(frozen=True)
class ScoreTable:
    """The kept tasks' scores, the samplers (columns of every ``regret``), the tasks left out
    with their reasons."""

    samplers: list[str]
    tasks: list[TaskScores]
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def task_means(self) -> np.ndarray:
        """Each kept task's mean regret over its repeats (tasks x samplers)."""
        return np.array([t.regret.mean(axis=0) for t in self.tasks]).reshape(-1, len(self.samplers))


def outcome_frame(outcomes: pd.DataFrame | Sequence[Outcome]) -> pd.DataFrame:
    """The outcomes as a DataFrame with COLUMNS, checked: one row per (task, sampler, repeat)."""
    import pandas as pd

    if isinstance(outcomes, pd.DataFrame):
        frame = outcomes
    else:
        frame = pd.DataFrame([vars(o) for o in outcomes], columns=list(COLUMNS))
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise HarnessError(
            f"the outcome table needs the columns {list(COLUMNS)}, but lacks {missing}"
        )
    frame = frame[list(COLUMNS)].astype({"task": str, "sampler": str, "outcome": float})
    doubled = frame.duplicated(["task", "sampler", "repeat"])
    if doubled.any():
        task, sampler, repeat = frame.loc[doubled, ["task", "sampler", "repeat"]].iloc[0]
        raise HarnessError(
            "each (task, sampler, repeat) must have one outcome, but "
            f"({task}, {sampler}, {repeat}) has several"
        )
    return frame


def _check_tasks(tasks: Sequence[TaskInfo], frame: pd.DataFrame) -> dict[str, TaskInfo]:
    infos = {t.name: t for t in tasks}
    bad = [t for t in tasks if t.direction not in DIRECTIONS]
    if bad:
        raise HarnessError(
            f"a task's direction must be one of {DIRECTIONS}, but {bad[0].name} has "
            f"{bad[0].direction!r}"
        )
    unknown = sorted(set(frame["task"]) - set(infos))
    if unknown:
        raise HarnessError(f"every task with outcomes needs a TaskInfo, but {unknown} have none")
    return infos


def score_table(table: AcrossTaskTable) -> ScoreTable:
    """Normalised regrets per kept task, and the tasks left out with their reasons."""
    frame = outcome_frame(table.outcomes)
    infos = _check_tasks(table.tasks, frame)
    failed = {(f.task, f.sampler): f.reason for f in table.failures}
    # in the order the table names them (a run's own order), then any only a failure names
    samplers = list(dict.fromkeys([*frame["sampler"], *(s for _, s in failed)]))
    kept, left_out = [], {}
    finite = np.isfinite(frame["outcome"].to_numpy(float))  # NaN or inf: no outcome
    for name, info in infos.items():
        rows = frame[(frame["task"] == name) & finite]
        reason = _leave_out_reason(name, rows, samplers, failed)
        scores = None if reason else _task_scores(info, rows, samplers, table.random_sampler)
        if isinstance(scores, str):
            reason = scores
        if reason:
            left_out[name] = reason
        elif isinstance(scores, TaskScores):
            kept.append(scores)
    for task, _ in failed:  # a task that only failed has no TaskInfo: still named
        if task not in infos:
            left_out[task] = _leave_out_reason(task, frame[:0], samplers, failed) or ""
    return ScoreTable(samplers, kept, left_out)


def _leave_out_reason(
    task: str, rows: pd.DataFrame, samplers: list[str], failed: dict[tuple[str, str], str]
) -> str | None:
    failures = [f"{s} failed ({failed[(task, s)]})" for s in samplers if (task, s) in failed]
    if failures:
        return "; ".join(failures)
    absent = [s for s in samplers if s not in set(rows["sampler"])]
    if absent:
        return f"no outcome of {', '.join(absent)}"
    return None


def _task_scores(
    info: TaskInfo, rows: pd.DataFrame, samplers: list[str], random_sampler: str
) -> TaskScores | str:
    """The task's scores, or the reason it cannot be normalised."""
    wide = rows.pivot(index="repeat", columns="sampler", values="outcome")[samplers]
    complete = wide.dropna()
    if complete.empty:
        return "no repeat has an outcome of every sampler"
    maximize = info.direction == "maximize"
    values = rows["outcome"].to_numpy(float)
    best = info.best_known
    if best is None:
        best = float(values.max() if maximize else values.min())
    reference = info.random_expected
    if reference is None:
        randoms = rows.loc[rows["sampler"] == random_sampler, "outcome"]
        if randoms.empty:
            return f"no random_expected given and no outcome of the {random_sampler!r} sampler"
        reference = float(randoms.mean())
    if (best - reference) * (1 if maximize else -1) <= 0:
        return (
            f"random search's expected value ({reference:.4g}) is as good as the best known "
            f"({best:.4g}): no scale to normalise by"
        )
    regret = normalised_regret(complete.to_numpy(float), best, reference, maximize)
    return TaskScores(
        info, best, reference, [int(r) for r in complete.index], regret, len(wide) - len(complete)
    )
