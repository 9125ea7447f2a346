"""Run studies: each study's driver as a source of the scheduler, on one pool of workers, with
a progress bar per study.

``run_study`` runs one study until its target has finished (``harness study``);
``run_studies`` runs many at once, with other sources beside them and sources that follow a
study when it is done (``harness compare``: its retraining). Whatever ends the loop, every
trial still asked is marked FAIL (to be retried) and each study's lease is given back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import optuna
from optuna.study import StudyDirection
from optuna.trial import TrialState

from harness.errors import HarnessError
from harness.search.config import StudyConfig
from harness.search.driver import FINISHED_STATES, Driver, fail_asked, open_study
from harness.search.interrupts import interrupt_between_calls
from harness.search.jobs import Outcome, TrialJob
from harness.search.lease import renewed_meanwhile
from harness.search.local_pool import LocalPool
from harness.search.progress import StudyProgress
from harness.search.ray_pool import RayPool
from harness.search.samplers import results_free_trials
from harness.search.scheduler import JobSource, Pool, Scheduler, Usage
from harness.search.simulated_pool import SimulatedPool, last_sim_end
from harness.search.spaces import SearchSpace

if TYPE_CHECKING:
    from rich.progress import TaskID


def make_pool(
    config: StudyConfig, space: SearchSpace, check_interrupt: Callable[[], None] = lambda: None
) -> Pool:
    """The workers of ``config.executor`` for ``space`` (simulated ones with
    ``config.simulate_workers``); a Ray pool calls ``check_interrupt`` between the calls of its
    start-up."""
    if config.simulate_workers is not None:
        return SimulatedPool(config.simulate_workers)
    # a problem task has no space file for the workers: they load data only for a tabular job
    problem = space.task is not None and space.task.problem is not None
    text, data = ("", None) if problem else (space.text, space.data)
    if config.executor == "local":
        return LocalPool(text, space.source, config.device, config.trial_timeout, data)
    return RayPool(
        text,
        space.source,
        config.cpu_workers,
        config.gpu_workers,
        config.address,
        config.trial_timeout,
        check_interrupt,
        data,
    )


class StudySource:
    """A study as a source of the scheduler: asks trials until its target has finished, at
    most ``limit`` in flight; tells each outcome; reports each epoch (pruning). For a
    population it may ask ahead, beyond the limit, the trials whose parameters depend on no
    result (``ahead_job``); those asked that did not fit wait for the next free worker."""

    def __init__(self, driver: Driver, limit: int) -> None:
        self.driver, self.limit = driver, limit
        self.name = driver.config.name
        self.target = driver.config.trials
        self.finished = driver.finished  # read once here, then counted in tell()
        self.best = _best(driver.study)
        self.waiting: list[TrialJob] = []  # asked ahead, not yet submitted
        # Never with a pruner: its rulings depend on which trials finished first
        blind = driver.config.pruner == "none"
        self.blind = results_free_trials(driver.study.user_attrs["sampler"]) if blind else 0

    def fraction_done(self) -> float:
        return self.finished / self.target

    def done(self) -> bool:
        return self.finished >= self.target

    def next_job(self) -> TrialJob | None:
        if self.waiting:
            return self.waiting.pop(0)
        if self.finished + len(self.driver.asked) >= self.target:
            return None
        return self.driver.ask()

    def ahead_job(self, fits: Callable[[TrialJob], bool]) -> TrialJob | None:
        for index, job in enumerate(self.waiting):
            if fits(job):
                return self.waiting.pop(index)
        while self._may_ask_ahead():
            job = self.driver.ask()
            if fits(job):
                return job
            self.waiting.append(job)
        return None

    def _may_ask_ahead(self) -> bool:
        """Whether the next trial may be asked now: the target is not yet asked for and its
        number is below the sampler's results-free trials (``samplers.results_free_trials``;
        trials are only ever added, so once past it stays past)."""
        if self.finished + len(self.driver.asked) >= self.target or not self.blind:
            return False
        study = self.driver.study
        if study._storage.get_n_trials(study._study_id) >= self.blind:
            self.blind = 0
        return self.blind > 0

    def tell(self, outcome: Outcome) -> None:
        if outcome.error is not None and outcome.error.startswith("ProblemNotImportable: "):
            # every trial would fail the same way: the study stops with the worker's line
            self.driver.tell(outcome)
            raise HarnessError(outcome.error.removeprefix("ProblemNotImportable: "))
        # Counted here rather than read back: two storage reads per job were a third of the
        # scheduler's overhead (scripts/bench_scheduler.py).
        state = self.driver.tell(outcome)
        if state in FINISHED_STATES:
            self.finished += 1
            if self.done():
                self.driver.persist()  # a study run in memory: to its storage, now whole
        if state == TrialState.COMPLETE:
            value = (outcome.record or {})[self.driver.objective]
            better = max if self.driver.study.direction == StudyDirection.MAXIMIZE else min
            self.best = value if self.best is None else better(self.best, value)
        if self.driver.failures > self.target:
            raise HarnessError(
                f"{self.driver.failures} trials of {self.name} failed in this session (more "
                f"than the {self.target} asked for); stopping. See each trial's fail_reason "
                "in the storage"
            )

    def on_epoch(self, job: TrialJob, epoch: int, value: float) -> bool:
        return self.driver.on_epoch(job.number, epoch, value)

    def interrupted(self, job: TrialJob, reason: str) -> None:
        trial = self.driver.asked.pop(job.number, None)
        if trial is not None:
            self.driver.fail(trial, reason, retry=True)


def _on_tick(
    progress: StudyProgress, tasks: dict[str, TaskID], drivers: list[Driver], started: float
) -> Callable[[Scheduler], None]:
    """An ``on_tick`` for the scheduler: each study's bar, with what its workers run, and each
    study's heartbeat (at most every ``lease.HEARTBEAT`` s)."""

    def tick(scheduler: Scheduler) -> None:
        running: dict[str, list[str]] = {}
        for worker, jobs in scheduler.pool.running().items():
            for job in jobs:
                item = scheduler.in_flight.get(job.token)
                if item is not None:
                    running.setdefault(item.source.name, []).append(f"{worker}→#{job.number}")
        for source in scheduler.sources:
            if isinstance(source, StudySource) and source.name in tasks:
                progress.update(
                    tasks[source.name],
                    source.finished,
                    source.best,
                    running.get(source.name, []),
                    time.monotonic() - started,
                )
        for driver in drivers:
            if driver.lease is not None:
                driver.lease.renew()

    return tick


def run_studies(
    config: StudyConfig,
    space: SearchSpace,
    drivers: list[Driver],
    pool: Pool | None = None,
    others: Sequence[JobSource] = (),
    follow_up: Callable[[str], list[JobSource]] | None = None,
) -> Usage:
    """Run the studies of ``drivers`` (and the ``others`` sources) at once on one scheduler,
    each study with ``config.concurrency`` trials in flight (default: every worker; K with
    ``config.simulate_workers``), with a progress bar per study. ``follow_up(name)``, when
    given, returns the sources to start as soon as study ``name`` is done (its retraining).
    ``pool`` is reused when given; otherwise one is started from ``config`` and ``space`` and
    shut down at the end."""
    progress = StudyProgress(config.show_progress)
    tasks = {
        d.config.name: progress.track(d.config.name, d.config.trials, d.finished) for d in drivers
    }
    owns_pool = pool is None
    uses_ray = isinstance(pool, RayPool) if pool is not None else config.executor == "ray"

    def on_done(source: JobSource) -> list[JobSource]:
        if follow_up is None or not isinstance(source, StudySource):
            return []
        best = "-" if source.best is None else f"{source.best:.4f}"
        progress.log(f"{source.name}: done, best {best}")
        return follow_up(source.name)

    try:
        with interrupt_between_calls(enabled=uses_ray) as check_interrupt:
            if pool is None:
                pool = _started_pool(config, space, drivers, (progress, tasks), check_interrupt)
            # simulated workers: K of each study in flight, whatever --per-study says
            limit = config.simulate_workers or config.concurrency or pool.slots
            if isinstance(pool, SimulatedPool):  # a resumed study goes on where it ended
                pool.clocks.update({d.config.name: last_sim_end(d.study) for d in drivers})
            tick = _on_tick(progress, tasks, drivers, time.monotonic())
            scheduler = Scheduler(
                pool,
                on_done=on_done,
                check_interrupt=check_interrupt,
                on_tick=tick,
                population=config.population_for(pool.on_gpu),
            )
            for source in [*(StudySource(d, limit) for d in drivers), *others]:
                scheduler.add(source)
            return scheduler.run()
    except BaseException as err:
        fail_asked(drivers, err)
        raise
    finally:
        progress.close()
        if owns_pool and pool is not None:
            pool.close()
        for driver in drivers:
            if driver.lease is not None:
                driver.lease.release()


def _started_pool(
    config: StudyConfig,
    space: SearchSpace,
    drivers: list[Driver],
    bars: tuple[StudyProgress, dict[str, TaskID]],
    check_interrupt: Callable[[], None],
) -> Pool:
    """The pool of ``config``, each study's bar saying so while it starts."""
    progress, tasks = bars
    for task in tasks.values():
        progress.message(task, "starting workers…")
    # Ray's start-up may take minutes: the studies' leases must not look dead
    with renewed_meanwhile([d.lease for d in drivers if d.lease is not None]):
        return make_pool(config, space, check_interrupt)


def run_study(config: StudyConfig, pool: Pool | None = None) -> optuna.Study:
    """Run trials until ``config.trials`` have finished (COMPLETE or PRUNED); resumable.

    ``pool`` lets a caller reuse one set of workers; otherwise one is started here and shut
    down at the end. The study keeps ``config.concurrency`` trials in flight (default: every
    worker busy).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    driver = open_study(config)
    if driver.finished >= config.trials:
        return driver.study
    usage = run_studies(config, driver.space, [driver], pool)
    driver.study.set_user_attr("pool_usage", usage.as_dict())
    return driver.study


def _best(study: optuna.Study) -> float | None:
    try:
        return study.best_value
    except ValueError:  # no COMPLETE trial yet
        return None
