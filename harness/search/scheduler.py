"""One loop that runs the jobs of many sources (studies, retraining) over one pool of workers.

A source hands out jobs (``next_job``), hears how each ended (``tell``) and each epoch's value
(``on_epoch``, whose answer may stop the job), and says when it is ``done``. Each source has
an in-flight limit: a study whose trials must run one after another (so TPE sees every
earlier result, and a seeded study gives the same trials whatever the pool's size) has limit
1, and many such studies then share the pool. A free worker takes the next job from the
source furthest behind (the smallest fraction done; ties: the order sources were added). When
a source finishes, ``on_done`` may add new ones (a study's retraining enters the queue as soon
as the study is done, not after every study).

Written here rather than with Ray's own scheduling: the storage must be written by this
process alone (the driver asks and tells), jobs of one study must be ordered, and the same
loop must run over the in-process pool. Each submission gets a token that names it in epoch
reports and stop requests, so a late stop cannot reach another job.

Populations (``population`` K > 1): a free worker takes the first job as above, then up to
K - 1 more with the same ``population_key`` (task data, fixed settings, batch size, objective)
from any source that can hand them out now without changing any result (``ahead_job``: a
study's trials whose parameters depend on no result, a retraining's seeds), furthest behind
first; the worker trains them as one population and each job ends as its own outcome. Hidden
sizes are padded to the population's largest (``engine/population.py``), not grouped.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from harness.search.interrupts import interrupt_reason
from harness.search.jobs import EpochHook, Outcome, TrialJob, population_key


class Pool(Protocol):
    """Workers that run jobs (``LocalPool``, ``RayPool``). A pool keeps no epoch hook: whoever
    waits on it gets the epochs trained meanwhile, so one pool serves one scheduler after
    another (a benchmark times several studies on one started pool)."""

    slots: int  # workers
    on_gpu: bool  # every worker trains on a GPU (population mode's default depends on it)

    def free_slots(self) -> int: ...

    def running(self) -> dict[str, list[TrialJob]]: ...  # worker -> the jobs it runs

    def submit(self, job: TrialJob) -> None: ...

    # jobs of one population_key, trained together by one worker; one outcome each
    def submit_population(self, jobs: list[TrialJob]) -> None: ...

    # Until a job ends or ``timeout`` s pass; each epoch trained meanwhile goes to ``on_epoch``
    def wait(self, timeout: float, on_epoch: EpochHook) -> list[Outcome]: ...

    def stop_all(self) -> list[TrialJob]: ...  # ask every job to stop; wait for none

    def close(self) -> None: ...


class JobSource(Protocol):
    name: str
    limit: int  # jobs of this source in flight at most

    def fraction_done(self) -> float: ...

    def next_job(self) -> TrialJob | None: ...  # None: nothing to start now

    # A job that fits another's population, handed out whatever the in-flight limit: only
    # one whose result cannot change another's (None: none now)
    def ahead_job(self, fits: Callable[[TrialJob], bool]) -> TrialJob | None: ...

    def done(self) -> bool: ...

    def tell(self, outcome: Outcome) -> None: ...

    def on_epoch(self, job: TrialJob, epoch: int, value: float) -> bool: ...

    def interrupted(self, job: TrialJob, reason: str) -> None: ...  # stopped with job in flight


@dataclass
class Usage:
    """How busy the pool was: busy worker-seconds over workers x wall time."""

    workers: int
    wall_s: float = 0.0
    busy_s: float = 0.0
    jobs: int = 0
    # From each job's profile (search/runner.py JobClock): the training threads' CPU seconds,
    # and the seconds they were runnable but waited for a CPU (other processes on the cores).
    # Busy is not working: on a shared machine a busy worker may get a fraction of its core.
    cpu_s: float = 0.0
    runq_wait_s: float = 0.0
    population: int = 1  # the most jobs a worker trained together (--population)
    populations: int = 0  # submissions of two or more jobs trained together

    def add(self, busy_s: float, profile: dict[str, float | None] | None) -> None:
        """Count one finished job: its busy time and, when its worker measured them, its CPU
        and run-queue seconds."""
        self.busy_s += busy_s
        self.jobs += 1
        self.cpu_s += (profile or {}).get("cpu_s") or 0.0
        self.runq_wait_s += (profile or {}).get("runq_wait_s") or 0.0

    @property
    def utilization(self) -> float:
        return self.busy_s / (self.workers * self.wall_s) if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "workers": self.workers,
            "wall_s": round(self.wall_s, 3),
            "busy_s": round(self.busy_s, 3),
            "jobs": self.jobs,
            "utilization": round(self.utilization, 4),
            "cpu_s": round(self.cpu_s, 3),
            "runq_wait_s": round(self.runq_wait_s, 3),
            "population": self.population,
            "populations": self.populations,
        }

    def line(self) -> str:
        line = (
            f"pool: {self.jobs} jobs on {self.workers} worker(s) in {self.wall_s:.1f} s, "
            f"utilization {100 * self.utilization:.0f}% (busy worker-seconds over "
            "workers x wall time)"
        )
        if self.cpu_s > 0 and self.busy_s > 0:
            line += (
                f"; busy workers trained on a CPU {100 * self.cpu_s / self.busy_s:.0f}% of "
                f"the time and waited for one {100 * self.runq_wait_s / self.busy_s:.0f}% "
                "(other processes on the cores)"
            )
        if self.populations:
            line += f"; {self.populations} populations of up to {self.population} jobs"
        return line


@dataclass
class _InFlight:
    source: JobSource
    job: TrialJob
    started: float
    share: float = 1.0  # of its worker's busy time: 1 / the members of its population


class Scheduler:
    """Runs every source's jobs over ``pool`` until all are done; see the module's text."""

    def __init__(
        self,
        pool: Pool,
        on_done: Callable[[JobSource], list[JobSource]] | None = None,
        on_tick: Callable[[Scheduler], None] | None = None,
        check_interrupt: Callable[[], None] = lambda: None,
        population: int = 1,
    ) -> None:
        self.pool, self.population = pool, population
        self.sources: list[JobSource] = []
        self.on_done, self.on_tick, self.check_interrupt = on_done, on_tick, check_interrupt
        self.in_flight: dict[str, _InFlight] = {}
        self.stopping: set[str] = set()  # tokens a source asked to stop: report nothing more
        self.usage = Usage(workers=pool.slots, population=population)
        self._tokens = itertools.count()
        self._settled: set[int] = set()  # sources (by index) handed to on_done

    def add(self, source: JobSource) -> None:
        self.sources.append(source)

    def running(self, source: JobSource) -> int:
        return sum(1 for item in self.in_flight.values() if item.source is source)

    def run(self) -> Usage:
        started = time.monotonic()
        try:
            while True:
                self.check_interrupt()
                self._settle()
                if not self.in_flight and all(s.done() for s in self.sources):
                    break
                self._fill()
                if not self.in_flight:  # every source waits on nothing: it would spin forever
                    stuck = [s.name for s in self.sources if not s.done()]
                    raise RuntimeError(
                        f"scheduler: sources {stuck} are not done but hand out "
                        "no job and have none in flight"
                    )
                self._tell(self.pool.wait(timeout=0.5, on_epoch=self._on_epoch))
                if self.on_tick is not None:
                    self.on_tick(self)
        except BaseException as err:
            # Whatever ends the loop early, no job is left behind: each source hears about
            # every job still in flight (a study marks its trials FAIL, to be retried).
            # A storage that fails here too (a full disk) must neither hide the error that
            # ended the loop nor keep the other sources from hearing of their jobs.
            reason = interrupt_reason(err)
            with contextlib.suppress(Exception):
                self.pool.stop_all()
            for item in self.in_flight.values():
                with contextlib.suppress(Exception):
                    item.source.interrupted(item.job, reason)
            self.in_flight.clear()
            raise
        finally:
            self.usage.wall_s = time.monotonic() - started
        return self.usage

    def _tell(self, outcomes: list[Outcome]) -> None:
        """Hand each outcome to its source; a source's error is raised only after the whole
        batch is told (the rest of the batch has already left the pool)."""
        error: BaseException | None = None
        for outcome in outcomes:
            item = self.in_flight.pop(outcome.job.token)
            if outcome.job.token in self.stopping:
                self.stopping.discard(outcome.job.token)
                outcome = _stopped(outcome)
            busy = (time.monotonic() - item.started) * item.share
            self.usage.add(busy, (outcome.record or {}).get("profile"))
            try:
                item.source.tell(outcome)
            except Exception as err:
                error = error or err
        if error is not None:
            raise error

    def _settle(self) -> None:
        """Hand each newly finished source to ``on_done`` (once), which may add sources."""
        for index, source in enumerate(list(self.sources)):
            if index in self._settled or not source.done() or self.running(source):
                continue
            self._settled.add(index)
            if self.on_done is not None:
                for new in self.on_done(source):
                    self.add(new)

    def _fill(self) -> None:
        while self.pool.free_slots():
            active = [s for s in self.sources if not s.done()]
            active.sort(key=lambda s: s.fraction_done())  # stable: ties keep the added order
            first = self._first(active)
            if first is None:
                return
            group = [first]
            key = population_key(first[1]) if self.population > 1 else None
            if key is not None:
                group += self._companions(active, key)
            self._submit(group, together=key is not None)

    def _first(self, active: list[JobSource]) -> tuple[JobSource, TrialJob] | None:
        """The next job of the source furthest behind: within its in-flight limit, or (with
        populations) one it may hand out beyond it."""
        for source in active:
            if self.running(source) < source.limit:
                job = source.next_job()
            elif self.population > 1:
                job = source.ahead_job(lambda job: True)
            else:
                continue
            if job is not None:
                return source, job
        return None

    def _companions(self, active: list[JobSource], key: tuple) -> list[tuple[JobSource, TrialJob]]:
        """Up to population - 1 jobs of ``key`` that sources may hand out now."""
        group: list[tuple[JobSource, TrialJob]] = []
        for source in active:
            while len(group) < self.population - 1:
                job = source.ahead_job(lambda job: population_key(job) == key)
                if job is None:
                    break
                group.append((source, job))
        return group

    def _submit(self, group: list[tuple[JobSource, TrialJob]], together: bool) -> None:
        """Submit one job alone, or a population (of one, maybe: on a GPU every population
        member draws the population's dropout stream, so a lone one must too)."""
        now, jobs = time.monotonic(), []
        for source, job in group:
            job = replace(job, token=f"{source.name}#{job.number}/{next(self._tokens)}")
            self.in_flight[job.token] = _InFlight(source, job, now, 1 / len(group))
            jobs.append(job)
        if together:
            self.usage.populations += len(jobs) > 1
            self.pool.submit_population(jobs)
        else:
            self.pool.submit(jobs[0])

    def _on_epoch(self, token: str, epoch: int, value: float) -> bool:
        item = self.in_flight.get(token)
        if item is None or token in self.stopping:
            # Untracked, or already told to stop: epochs a remote worker trained before the
            # stop arrived are not reported, so the storage holds what an in-process run holds.
            return True
        stop = item.source.on_epoch(item.job, epoch, value)
        if stop:
            self.stopping.add(token)
        return stop


def source_of(token: str) -> str:
    """The name of the source a job's token was made for (a simulated pool keeps a clock per
    source): ``_fill`` makes it SOURCE#NUMBER/COUNT, so the last '#' ends the name."""
    return token.rpartition("#")[0]


def _stopped(outcome: Outcome) -> Outcome:
    """A job its source asked to stop is pruned, even when the worker finished before the
    request arrived (an epoch shorter than the driver's poll): the pruner's decision stands,
    as it does in-process, where the stop is immediate."""
    record = outcome.record
    if record is None or record.get("status") != "ok":
        return outcome
    return replace(
        outcome,
        record={
            "status": "pruned",
            "seconds": record.get("seconds"),
            "host": record.get("host", outcome.host),
        },
    )
