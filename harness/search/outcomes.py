"""The one function that maps how a job ended to a trial state (optuna's ``_run_trial``:
``try: value = func(trial) except TrialPruned: PRUNED except Exception: FAIL``).

A pool reports every job as an ``Outcome`` (``harness.search.jobs``): the worker's ``record``
(trained, pruned or diverged), an ``error`` raised inside training, a ``lost`` worker (its
process died), or a job ``timed_out`` (its worker was stopped). ``classify`` turns it into the
trial's state, the ``fail_reason`` a user reads, and whether the same job is tried once more;
the study driver and the retraining source both use it, so a fault reads and is retried the
same way everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from harness.errors import first_line
from harness.search.jobs import Outcome

State = Literal["complete", "pruned", "fail"]

# Ray colours its task names in error text (\x1b[36mray::TrialRunner.run()\x1b[39m)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class Classified:
    state: State
    reason: str | None = None  # the trial's fail_reason (FAIL only)
    retry: bool = False  # run the same job once more


def classify(outcome: Outcome) -> Classified:
    """The trial state of ``outcome``, its fail_reason and whether to retry it.

    A lost worker says nothing about the trial (the process was killed, the node went away):
    retried once. An exception in training, a divergence and a timeout come from the trial's
    own parameters and seed, which a retry repeats: they fail without a retry (a retried hang
    would hold a worker for the timeout a second time, for the same answer).
    """
    if outcome.lost is not None:
        return Classified("fail", f"worker lost: {outcome.lost}", retry=True)
    if outcome.error is not None:
        return Classified("fail", outcome.error)
    if outcome.timed_out is not None:
        return Classified("fail", f"timeout after {outcome.timed_out:g} s")
    status = (outcome.record or {}).get("status", "failed")
    if status == "ok":
        return Classified("complete")
    if status == "pruned":
        return Classified("pruned")
    return Classified("fail", str(status))  # "diverged"


def plain(text: str) -> str:
    """``text`` without ANSI escape codes."""
    return _ANSI.sub("", text)


def exception_line(error: BaseException) -> str:
    """One line for an exception raised inside training: ``ValueError: bad shape``."""
    message = first_line(plain(str(error)))
    name = type(error).__name__
    return f"{name}: {message}" if str(error).strip() else name


def task_error_line(error: BaseException) -> str:
    """The user's exception inside a Ray ``RayTaskError``, without Ray's wrapper text."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        return exception_line(cause)
    # The cause could not be unpickled: the last line of Ray's traceback text names it.
    lines = [line.strip() for line in plain(str(error)).splitlines() if line.strip()]
    return first_line(lines[-1]) if lines else type(error).__name__


def lost_line(error: BaseException) -> str:
    """A short cause for a worker that died (``RayActorError``), without ANSI codes."""
    return first_line(plain(str(error)))
