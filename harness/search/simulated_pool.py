"""K asynchronous workers per study on a simulated clock (``--simulate-workers K``): a
surrogate task's trials take the seconds its runtime model predicts, and nobody waits for them.

The way OptunaHub's asynchronous benchmark simulator and Syne Tune's simulator backend do it.
A job is evaluated when it is submitted (microseconds) and ends on its study's clock at
``now + simulated_seconds``; ``wait`` hands back the job that ends first (ties: the one
submitted first) and moves that study's clock to its end. The scheduler keeps K trials of each
study in flight (the study's limit), so when the sampler asks, the K - 1 trials still running
are RUNNING in the study, as with K real workers (constant liar and batch proposals see them),
and it sees exactly the results that would have finished by then. Each record gets
``sim_start`` and ``sim_end``: seconds from the study's start on its own clock (the studies of
a comparison are independent, each with its K workers). Nothing reads the wall clock, so a
seeded study gives the same trials and the same simulated times on any machine.
"""

from __future__ import annotations

import heapq
import itertools
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.search.jobs import EpochHook, Outcome, TrialJob
from harness.search.outcomes import exception_line
from harness.search.scheduler import source_of

if TYPE_CHECKING:
    import optuna


@dataclass(order=True)
class _Running:
    end: float
    order: int  # submission order: breaks ties, reproducibly
    clock: str = field(compare=False)  # the source (study) whose clock it runs on
    slot: int = field(compare=False)  # its simulated worker, 0 .. K - 1
    outcome: Outcome = field(compare=False)


class SimulatedPool:
    """K simulated workers for each study; see the module's text."""

    def __init__(self, workers: int) -> None:
        self.slots = workers  # per study: each study's clock has its own K workers
        self.on_gpu = False  # no training here: population mode does not apply
        self.clocks: dict[str, float] = {}  # source name -> its simulated now (seconds)
        self._heap: list[_Running] = []
        self._order = itertools.count()

    def free_slots(self) -> int:
        # Never the bound: each study's K is its own in-flight limit (the scheduler's), so one
        # study never waits for another's simulated workers. Filling stops when no source
        # hands out a job.
        return 1

    def running(self) -> dict[str, list[TrialJob]]:
        return {f"{r.clock} sim:{r.slot}": [r.outcome.job] for r in self._heap}

    def submit_population(self, jobs: list[TrialJob]) -> None:
        for job in jobs:  # problem jobs are never grouped; each is its own simulated worker
            self.submit(job)

    def submit(self, job: TrialJob) -> None:
        clock = source_of(job.token)
        now = self.clocks.setdefault(clock, 0.0)
        busy = {r.slot for r in self._heap if r.clock == clock}
        slot = next(i for i in itertools.count() if i not in busy)
        outcome = _evaluate(job, f"sim:{slot}")
        record = outcome.record
        seconds = max(float(record.get("simulated_seconds", 0.0)), 0.0) if record else 0.0
        if record is not None:
            record["sim_start"], record["sim_end"] = now, now + seconds
        heapq.heappush(self._heap, _Running(now + seconds, next(self._order), clock, slot, outcome))

    def wait(self, timeout: float, on_epoch: EpochHook) -> list[Outcome]:
        if not self._heap:
            return []
        done = heapq.heappop(self._heap)
        self.clocks[done.clock] = done.end
        return [done.outcome]

    def stop_all(self) -> list[TrialJob]:
        jobs = [r.outcome.job for r in sorted(self._heap)]
        self._heap = []
        return jobs

    def close(self) -> None:
        pass


def _evaluate(job: TrialJob, worker: str) -> Outcome:
    """The job's outcome, evaluated now in this process (a problem's evaluate, as an in-process
    worker runs it); an exception becomes its outcome (the trial fails, the study goes on)."""
    from harness.tasks.problem import evaluate

    if job.problem is None:  # refused before any study (task_space.check_simulated)
        return Outcome(job, worker, error="a simulated worker runs problem tasks only")
    try:
        record = evaluate(job.problem, job.params, job.seed, score=job.score_test)
    except Exception as err:
        return Outcome(job, worker, error=exception_line(err))
    record["host"] = socket.gethostname()
    return Outcome(job, worker, record=record)


def last_sim_end(study: optuna.Study) -> float:
    """Where a resumed study's clock starts: when its last stored trial ended (0 when new)."""
    ends = [t.user_attrs.get("sim_end", 0.0) for t in study.get_trials(deepcopy=False)]
    return max(ends, default=0.0)
