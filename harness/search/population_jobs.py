"""A worker's population: several jobs trained together in one stacked step, each member a
trial of its own (``TrialRunner.run_population``).

Each member reports its epochs under its own token (a pruner stops that member alone: it
leaves the population at the end of the epoch) and ends with its own result, so faults stay
per trial:
- a member whose parameters are refused fails alone, before the others train;
- a member that diverges leaves the population (``engine/population_training.py``);
- a member whose share of the clock passes the trial timeout is stopped at an epoch's end
  and fails "timeout after N s". Its share: each epoch's seconds divided among the members
  that trained in it, so that a member's clock counts about what it would alone, not K times
  that;
- when the population as a whole raises (nothing says which member caused it), each member
  not yet decided trains alone (today's solo path), so that the exception fails only the
  trial that raises it; the epochs a member already reported are not reported again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from harness.search.jobs import EpochHook, MemberResult, TrialJob
from harness.search.outcomes import exception_line

if TYPE_CHECKING:
    from harness.engine.splits import Splits
    from harness.engine.train import ResidentSplits
    from harness.search.config import FixedSettings
    from harness.search.job_clock import JobClock
    from harness.search.spaces import SearchSpace
    from harness.tasks.spec import DataSpec


class TrialRunner(Protocol):
    """What a population needs of its worker (``search/runner.py``, which imports this
    module: named here by what it does, not imported back)."""

    device: str
    data: DataSpec | None  # None: a pool started for a problem task (jobs carry their data)
    space: SearchSpace | None

    def loaded(self, data: DataSpec) -> tuple[Splits, ResidentSplits]: ...

    def report(self, token: str, epoch: int, value: float, hook: EpochHook | None) -> bool: ...

    def stamp(self, record: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]: ...


class _Stopped(Exception):
    """A member trained alone (after its population raised) was pruned or timed out."""


class Members:
    """The members of one population: their results as they are decided, their clocks, and
    the last epoch each reported."""

    def __init__(self, jobs: list[TrialJob], timeout: float | None) -> None:
        from harness.search.task import validate_params

        self.jobs, self.timeout = jobs, timeout
        self.decided: dict[int, MemberResult] = {}
        self.stopped: dict[int, str] = {}  # index -> "pruned" or "timed_out"
        self.clocks = [0.0] * len(jobs)  # each member's share of the population's seconds
        self.reported = [0] * len(jobs)  # the last epoch each member reported
        for index, job in enumerate(jobs):
            try:
                validate_params(job.params)
            except Exception as err:  # the member's own parameters: it fails alone
                self.decided[index] = ("error", exception_line(err))

    def train(self, runner: TrialRunner, clock: JobClock, hook: EpochHook | None) -> None:
        """Train every member not yet decided together; alone when the population raises."""
        pending = [i for i in range(len(self.jobs)) if i not in self.decided]
        if not pending:
            return
        try:
            self._together(runner, clock, hook, pending)
        except Exception:
            # Nothing says which member raised it: each trains alone, so that it fails only
            # the trial that raises it (the cost: the others train again)
            for index in pending:
                if index not in self.decided:
                    self._alone(runner, clock, hook, index)

    def _epoch(self, index: int, epoch: int, value: float, seconds: float, report: Any) -> bool:
        """Count a member's epoch: report it (unless reported already), add ``seconds`` to its
        clock; whether it stops here (pruned, or past the timeout)."""
        self.clocks[index] += seconds
        if epoch > self.reported[index]:
            self.reported[index] = epoch
            if report(self.jobs[index].token, epoch, value):
                self.stopped[index] = "pruned"
                return True
        if self.timeout is not None and self.clocks[index] > self.timeout:
            self.stopped[index] = "timed_out"
            return True
        return False

    def _together(
        self, runner: TrialRunner, clock: JobClock, hook: EpochHook | None, pending: list[int]
    ) -> None:
        from harness.search import task

        first = self.jobs[pending[0]]
        splits, resident = runner.loaded(_data(first, runner))

        def on_epoch(row: int, epoch: int, record: dict[str, float]) -> bool:
            index = pending[row]
            clock.hook_entered()
            try:
                value = record[self.jobs[index].objective]
                share = record["seconds"] / record["members"]
                return self._epoch(index, epoch, value, share, _reporter(runner, hook))
            finally:
                clock.hook_left()

        records = task.run_population_trials(
            [(self.jobs[i].params, self.jobs[i].seed) for i in pending],
            splits,
            device=runner.device,
            fixed=_fixed(first, runner),
            on_epoch=on_epoch,
            resident=resident,
            score_test=first.score_test,
            test_probabilities=first.test_probabilities,
        )
        for index, record in zip(pending, records, strict=True):
            self._decide(index, record)

    def _alone(
        self, runner: TrialRunner, clock: JobClock, hook: EpochHook | None, index: int
    ) -> None:
        from harness.search import task

        job = self.jobs[index]
        if index in self.stopped:  # pruned or timed out before the population raised
            self._decide(index, {"status": "pruned", "seconds": self.clocks[index]})
            return
        splits, resident = runner.loaded(_data(job, runner))
        last = [time.perf_counter()]

        def on_epoch(epoch: int, record: dict[str, float]) -> None:
            now = time.perf_counter()
            seconds, last[0] = now - last[0], now
            if self._epoch(index, epoch, record[job.objective], seconds, _reporter(runner, hook)):
                raise _Stopped

        try:
            record = task.run_trial(
                job.params,
                splits,
                seed=job.seed,
                device=runner.device,
                fixed=_fixed(job, runner),
                on_epoch=on_epoch,
                resident=resident,
                score_test=job.score_test,
                test_probabilities=job.test_probabilities,
            )
        except _Stopped:
            record = {"status": "pruned", "seconds": self.clocks[index]}
        except Exception as err:
            self.decided[index] = ("error", exception_line(err))
            return
        self._decide(index, record)

    def _decide(self, index: int, record: dict[str, Any]) -> None:
        """A trained member's result: a timeout, a prune (the record a solo prune gives), or
        its record."""
        why = self.stopped.get(index)
        if why == "timed_out":
            self.decided[index] = ("timed_out", self.timeout)
        elif why == "pruned" or record.get("status") == "pruned":
            self.decided[index] = ("record", {"status": "pruned", "seconds": record["seconds"]})
        else:
            self.decided[index] = ("record", record)

    def results(self, runner: TrialRunner, profile: dict[str, Any]) -> list[MemberResult]:
        """One result per member, in order; each record carries its share of the
        population's profile (the worker's time divided among the members) and its size."""
        share = {
            key: value / len(self.jobs) if isinstance(value, float) else value
            for key, value in profile.items()
        }
        out: list[MemberResult] = []
        for index in range(len(self.jobs)):
            kind, value = self.decided[index]
            if kind == "record":
                value = runner.stamp(value, {**share, "population": len(self.jobs)})
            out.append((kind, value))
        return out


def _reporter(runner: TrialRunner, hook: EpochHook | None) -> Any:
    """``report(token, epoch, value) -> stop?`` through the runner (hook or poll buffer)."""
    return lambda token, epoch, value: runner.report(token, epoch, value, hook)


def _data(job: TrialJob, runner: TrialRunner) -> DataSpec:
    data = job.data or runner.data
    assert data is not None, "a pool without a space file runs jobs that carry their data"
    return data


def _fixed(job: TrialJob, runner: TrialRunner) -> FixedSettings:
    from harness.search.config import FixedSettings

    if job.fixed is not None:
        return job.fixed
    return runner.space.fixed if runner.space is not None else FixedSettings()
