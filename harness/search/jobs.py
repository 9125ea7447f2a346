"""What crosses to a worker and what comes back: a ``TrialJob`` goes out, each epoch's value is
handed to an ``EpochHook`` while the job trains, and the job ends as an ``Outcome``. Jobs with
the same ``population_key`` may train together as one population on one worker, which returns
a ``MemberResult`` per job.

The scheduler, the pools and the sources (a study's driver, the retraining) all speak these
three; none of them needs another's module for it. How an outcome maps to a trial state is
``harness.search.outcomes.classify``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.search.config import FixedSettings
    from harness.tasks.problem import ProblemSpec
    from harness.tasks.spec import DataSpec

# epoch_hook(job token, epoch, value) -> True to stop the job (pruned)
EpochHook = Callable[[str, int, float], bool]
# What a worker returns for each member of a population: ("record", the trial's record),
# ("error", the line of the exception it raised) or ("timed_out", the timeout in seconds).
MemberResult = tuple[str, Any]


@dataclass(frozen=True)
class TrialJob:
    """What crosses to a worker: plain, picklable values only."""

    number: int
    params: dict[str, Any]
    seed: int
    objective: str  # the per-epoch value reported: "val_auroc", "val_rmse", "val_loss", ...
    # Search trials are chosen on validation, so they never see the test split; only the
    # retraining of a chosen configuration scores it.
    score_test: bool = False
    test_probabilities: bool = False  # a retraining keeps its test-row probabilities
    token: str = ""  # unique per submission (the scheduler sets it); stops name it
    # The task's data and fixed training settings (frozen dataclasses: they pickle, and the
    # data keys the worker's cache of loaded splits); None: those the pool started with.
    # One pool trains the studies of several tasks (harness compare --tasks).
    data: DataSpec | None = None
    fixed: FixedSettings | None = None
    # A problem task's job (harness.tasks.problem): evaluate() instead of training; the
    # worker imports the problem's class once. Its record's "value" is the objective.
    problem: ProblemSpec | None = None


@dataclass
class Outcome:
    """A finished job: exactly one of ``record``, ``error``, ``lost`` or ``timed_out``."""

    job: TrialJob
    worker: str
    record: dict[str, Any] | None = None
    lost: str | None = None  # the worker's process died: a short cause
    error: str | None = None  # an exception raised inside training: "ValueError: bad shape"
    timed_out: float | None = None  # the job ran past the trial timeout (seconds) and was stopped
    host: str = field(default_factory=socket.gethostname)


def member_outcome(job: TrialJob, worker: str, result: MemberResult) -> Outcome:
    """The outcome of a population's member from what its worker returned for it."""
    kind, value = result
    if kind == "record":
        return Outcome(job, worker, record=value)
    if kind == "error":
        return Outcome(job, worker, error=value)
    return Outcome(job, worker, timed_out=value)


def population_key(job: TrialJob) -> tuple[Any, ...] | None:
    """What jobs must share to train as one population (``engine/population.py``): the task's
    data (a binary task's: the stacked net has one logit), its fixed settings, the batch size,
    the objective and what is scored. Hidden sizes may differ: each member is padded to the
    population's largest. None: the job trains alone (another kind of task, or a job whose
    data is the pool's and whose kind is not known here)."""
    data = job.data
    if job.problem is not None:  # a problem's evaluate() trains nothing to stack
        return None
    if data is None or data.kind != "binary" or "batch_size" not in job.params:
        return None
    batch = job.params["batch_size"]
    return (data, job.fixed, batch, job.objective, job.score_test, job.test_probabilities)
