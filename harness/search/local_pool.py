"""The in-process pool: one worker that trains in this process, for debugging and to measure
what Ray costs.

It runs a job inside ``wait``, so each epoch's value reaches the hook (and a stop takes effect)
at once. An exception in a trial becomes its outcome and the study goes on; a trial timeout
acts at an epoch's end, since a thread cannot be stopped mid-epoch. A population (several
jobs trained together, ``submit_population``) ends with one outcome per member.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.search.jobs import EpochHook, Outcome, TrialJob, member_outcome
from harness.search.outcomes import exception_line
from harness.search.runner import TrialRunner, TrialTimedOut

if TYPE_CHECKING:
    from harness.tasks.spec import DataSpec


class LocalPool:
    """One in-process worker; see the module's text."""

    def __init__(
        self,
        space_text: str,
        space_source: str,
        device: str,
        trial_timeout: float | None = None,
        data: DataSpec | None = None,
    ) -> None:
        self.runner = TrialRunner(space_text, space_source, device, threads=None, data=data)
        self.trial_timeout = trial_timeout
        self.slots = 1
        self.names = [f"local:{self.runner.device}"]
        self.on_gpu = self.runner.device.startswith("cuda")
        # each submission: its jobs, and whether they train as a population (of one, maybe)
        self._queue: list[tuple[list[TrialJob], bool]] = []

    def free_slots(self) -> int:
        return self.slots - len(self._queue)

    def running(self) -> dict[str, list[TrialJob]]:
        return {self.names[0]: self._queue[0][0]} if self._queue else {}

    def submit(self, job: TrialJob) -> None:
        self._queue.append(([job], False))

    def submit_population(self, jobs: list[TrialJob]) -> None:
        self._queue.append((list(jobs), True))

    def wait(self, timeout: float, on_epoch: EpochHook) -> list[Outcome]:
        if not self._queue:
            return []
        jobs, together = self._queue[0]  # stays queued while it runs: Ctrl-C can FAIL it
        name = self.names[0]
        if together:
            results = self.runner.run_population(jobs, on_epoch, self.trial_timeout)
            self._queue.pop(0)
            return [member_outcome(j, name, r) for j, r in zip(jobs, results, strict=True)]
        job = jobs[0]
        try:
            record = self.runner.run(job, on_epoch, self.trial_timeout)
        except TrialTimedOut as err:
            outcome = Outcome(job, name, timed_out=err.timeout)
        except Exception as err:  # a KeyboardInterrupt still ends the loop (and FAILs the job)
            outcome = Outcome(job, name, error=exception_line(err))
        else:
            outcome = Outcome(job, name, record=record)
        self._queue.pop(0)
        return [outcome]

    def stop_all(self) -> list[TrialJob]:
        jobs = [job for submitted, _ in self._queue for job in submitted]
        self._queue = []
        return jobs

    def close(self) -> None:
        pass
