"""Create or resume Optuna studies and run the ask/tell loop over a pool of workers.

The Optuna storage is the one source of truth: only this driver asks and tells, so any storage
works, resuming is opening it again, and optuna-dashboard sees every epoch live. Failures are
recorded, never lost: every job outcome is mapped to a state by ``outcomes.classify``; a trial
whose worker died or whose driver was stopped is marked FAIL with its reason and its
parameters are enqueued once more; one that raised, diverged or timed out is FAIL, not retried.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.trial import TrialState

from harness.choices import DIRECTIONS
from harness.environment import library_versions
from harness.errors import HarnessError
from harness.search.config import StudyConfig
from harness.search.interrupts import interrupt_between_calls, interrupt_reason
from harness.search.lease import Lease, LeaseLost, renewed_meanwhile
from harness.search.outcomes import Outcome, classify
from harness.search.progress import StudyProgress
from harness.search.pruners import build_pruner, pruner_settings
from harness.search.samplers import build_sampler, resume_seed, sampler_settings, stored_seed
from harness.search.scheduler import JobSource, Scheduler, Usage
from harness.search.spaces import SearchSpace, load_space
from harness.search.storage import open_storage, redact_url, storage_url
from harness.search.workers import LocalPool, RayPool, TrialJob

if TYPE_CHECKING:
    from rich.progress import TaskID

# Trials that count towards a study's target (Optuna's ``n_trials`` sense; without a pruner
# only COMPLETE ones exist). FAIL ones are retried instead.
FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)


def finished_count(study: optuna.Study) -> int:
    """How many of the study's trials count towards its ``--trials`` target."""
    return len(study.get_trials(deepcopy=False, states=FINISHED_STATES))


# ---------------------------------------------------------------- seeds


def train_seed(seed: int, number: int) -> int:
    """The training seed of a trial (model init, dropout, batch order); a retry reuses it."""
    return seed * 100_000 + number


# ---------------------------------------------------------------- create or resume


@dataclass
class Driver:
    """One session of the ask/tell loop for one study."""

    config: StudyConfig
    space: SearchSpace
    study: optuna.Study
    url: str
    asked: dict[int, optuna.Trial] = field(default_factory=dict)
    failures: int = 0
    lease: Lease | None = None  # this driver's hold on the study (harness.search.lease)
    lost: LeaseLost | None = None  # the study was taken over: write nothing more to it

    @property
    def complete(self) -> int:
        return finished_count(self.study)

    def release(self) -> None:
        """Give the study back (its lease) without running it: another driver may take it."""
        if self.lease is not None:
            self.lease.release()

    # -- per-epoch hook, called by the pools from the driver's thread
    def on_epoch(self, number: int, epoch: int, value: float) -> bool:
        if self.lease is not None:  # the local executor trains inside this call: beat here too
            try:
                self.lease.renew()
            except LeaseLost as err:  # stop the trial; tell() raises it outside the pool
                self.lost = err
                return True
        trial = self.asked.get(number)
        if trial is None:
            return True
        if np.isfinite(value):
            trial.report(value, step=epoch)
        return self.config.pruner != "none" and trial.should_prune()

    def ask(self) -> TrialJob:
        trial = self.study.ask(self.space.distributions)
        original = trial.user_attrs.get("retry_of", trial.number)
        seed = train_seed(self.config.seed, original)
        trial.set_user_attr("train_seed", seed)
        trial.set_user_attr("fixed_params", self.space.fixed_params)
        self.asked[trial.number] = trial
        params = self.space.full_params(trial.params)
        return TrialJob(trial.number, params, seed, self.config.objective)

    def tell(self, outcome: Outcome) -> TrialState:
        """Write the outcome to the storage; the state the trial ended in. When the storage
        fails midway (a full disk), the trial is marked FAIL if it still takes that."""
        trial = self.asked.pop(outcome.job.number)
        if self.lost is not None:
            raise self.lost
        try:
            return self._tell(trial, outcome)
        except Exception as err:
            if isinstance(err, optuna.exceptions.UpdateFinishedTrialError) and self.lease:
                self.lease.check()  # finished by a driver that took the study: say so
            if _state_of(trial) == TrialState.RUNNING:
                with contextlib.suppress(Exception):
                    self.fail(trial, interrupt_reason(err), retry=True)
            raise

    def _tell(self, trial: optuna.Trial, outcome: Outcome) -> TrialState:
        trial.set_user_attr("worker", outcome.worker)
        verdict = classify(outcome)
        record = outcome.record or {}
        trial.set_user_attr("host", record.get("host", outcome.host))
        if record.get("node"):
            trial.set_user_attr("ray_node", record["node"])  # the Ray node it trained on
        for key in (
            "epochs",
            "best_epoch",
            "seconds",
            "seconds_per_epoch",
            "device",
            "val_loss",
            "val_auroc",
            "threshold",
        ):
            if key in record and _finite_or_str(record[key]):
                trial.set_user_attr(key, record[key])
        if "status" in record:
            trial.set_user_attr("status", record["status"])
        if verdict.state == "complete":
            self.study.tell(trial, record[self.config.objective])
            return TrialState.COMPLETE
        if verdict.state == "pruned":
            self.study.tell(trial, state=TrialState.PRUNED)
            return TrialState.PRUNED
        self.fail(trial, verdict.reason or "failed", retry=verdict.retry)
        return TrialState.FAIL

    def fail(
        self, trial: optuna.Trial | optuna.trial.FrozenTrial, reason: str, retry: bool
    ) -> None:
        """Mark FAIL with the reason; enqueue the same parameters once if this was no retry."""
        self.failures += 1
        storage, trial_id = self.study._storage, trial._trial_id
        storage.set_trial_user_attr(trial_id, "fail_reason", reason)
        storage.set_trial_user_attr(trial_id, "status", "failed")
        self.study.tell(trial.number, state=TrialState.FAIL)
        if retry and "retry_of" not in trial.user_attrs and trial.params:
            self.study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def _state_of(trial: optuna.Trial) -> TrialState | None:
    with contextlib.suppress(Exception):
        return trial.study._storage.get_trial(trial._trial_id).state
    return None


def fail_asked(drivers: Sequence[Driver], error: BaseException) -> None:
    """Mark FAIL every trial still asked when ``error`` ended the loop (the scheduler has told
    its sources of the jobs in flight; this catches one asked but not yet submitted), where
    the storage still takes the write."""
    reason = interrupt_reason(error)
    for driver in drivers:
        for number, trial in list(driver.asked.items()):
            with contextlib.suppress(Exception):
                driver.fail(trial, reason, retry=True)
                del driver.asked[number]


def _finite_or_str(value: Any) -> bool:
    return isinstance(value, str | int) or (isinstance(value, float) and np.isfinite(value))


def _study_attrs(
    config: StudyConfig,
    space: SearchSpace,
    url: str,
    sampler_settings: dict[str, Any],
    pruner_settings: dict[str, Any],
) -> dict[str, Any]:
    return {
        "sampler": sampler_settings,
        "seed": config.seed,
        "objective": config.objective,
        "pruner": config.pruner,
        "pruner_settings": pruner_settings,
        "space": space.text,
        "space_source": space.source,
        "space_sha256": space.sha256,
        "storage": redact_url(url),
        "target_trials": config.trials,
        "executor": config.executor,
        "versions": library_versions(),
    }


def open_study(config: StudyConfig) -> Driver:
    """Create the study, or resume it after checking that the settings still agree."""
    space = load_space(config.space_path)
    url = storage_url(config.storage)
    storage = open_storage(url)
    existing = _existing_study(storage, config.name)
    n_existing = len(existing.trials) if existing else 0
    if existing is not None:
        _check_resume(existing, config, space)
        settings = existing.user_attrs["sampler"]  # a resumed study keeps its own settings
        # and its pruner's (a study from before they were stored: those of its pruner's name)
        pruning = existing.user_attrs.get("pruner_settings") or pruner_settings(config.pruner)
    else:
        settings = sampler_settings(config.sampler, config.seed)
        pruning = pruner_settings(config.pruner)
    seed = resume_seed(settings, n_existing)
    sampler = build_sampler(settings, seed)
    study = optuna.create_study(
        study_name=config.name,
        storage=storage,
        sampler=sampler,
        pruner=build_pruner(pruning),
        direction=DIRECTIONS[config.objective],
        load_if_exists=True,
    )
    lease = Lease(study)
    lease.acquire()  # before anything is written: a second driver changes nothing
    if existing is None:
        for key, value in _study_attrs(config, space, url, settings, pruning).items():
            study.set_user_attr(key, value)
        # optuna-dashboard then labels the objective "val_auroc", not "Objective 0"
        import warnings

        with warnings.catch_warnings():  # set_metric_names is "experimental" since Optuna 3.2
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([config.objective])
    study.set_user_attr("target_trials", config.trials)
    sessions = study.user_attrs.get("sessions", [])
    study.set_user_attr(
        "sessions",
        [
            *sessions,
            {
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "sampler_seed": stored_seed(settings) if seed is None else seed,
                "existing_trials": n_existing,
            },
        ],
    )
    driver = Driver(config, space, study, url, lease=lease)
    _recover_stale(driver)
    return driver


def _existing_study(storage: optuna.storages.BaseStorage, name: str) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name=name, storage=storage, sampler=None)
    except KeyError:
        return None


def _check_resume(study: optuna.Study, config: StudyConfig, space: SearchSpace) -> None:
    attrs = study.user_attrs
    expected = {
        "sampler": sampler_settings(config.sampler, config.seed),
        "seed": config.seed,
        "objective": config.objective,
        "pruner": config.pruner,
        "space_sha256": space.sha256,
    }
    found = {key: attrs.get(key) for key in expected}
    for key, want in expected.items():
        if found[key] != want:
            what = "space file content (sha256)" if key == "space_sha256" else key
            raise HarnessError(
                f"study {config.name!r} exists with {what} {found[key]!r}, but this run asks for "
                f"{want!r}; use another --name, or the study's own settings to resume it"
            )


def _recover_stale(driver: Driver) -> None:
    """RUNNING trials at start belong to a driver that died (this one holds the study's
    lease, so no other driver is alive): FAIL them with the reason and retry their parameters."""
    stale = driver.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        driver.fail(trial, "stale: the driver stopped before the trial finished", retry=True)
    driver.failures = 0


# ---------------------------------------------------------------- the loop


def make_pool(
    config: StudyConfig, space: SearchSpace, check_interrupt: Callable[[], None] = lambda: None
) -> LocalPool | RayPool:
    """The workers of ``config.executor`` for ``space`` (their epoch hook is set by the
    scheduler); a Ray pool calls ``check_interrupt`` between the calls of its start-up."""
    if config.executor == "local":
        return LocalPool(
            space.text, space.source, config.device, _stop_nothing, config.trial_timeout
        )
    return RayPool(
        space.text,
        space.source,
        _stop_nothing,
        config.cpu_workers,
        config.gpu_workers,
        config.address,
        config.trial_timeout,
        check_interrupt,
    )


def _stop_nothing(token: str, epoch: int, value: float) -> bool:
    return False


class StudySource:
    """A study as a source of the scheduler: asks trials until its target has finished, at
    most ``limit`` in flight; tells each outcome; reports each epoch (pruning)."""

    def __init__(self, driver: Driver, limit: int) -> None:
        self.driver, self.limit = driver, limit
        self.name = driver.config.name
        self.target = driver.config.trials
        self.finished = driver.complete  # read once here, then counted in tell()
        self.best = _best(driver.study)

    def fraction_done(self) -> float:
        return self.finished / self.target

    def done(self) -> bool:
        return self.finished >= self.target

    def next_job(self) -> TrialJob | None:
        if self.finished + len(self.driver.asked) >= self.target:
            return None
        return self.driver.ask()

    def tell(self, outcome: Outcome) -> None:
        # Counted here rather than read back: two storage reads per job were a third of the
        # scheduler's overhead (scripts/bench_scheduler.py).
        state = self.driver.tell(outcome)
        if state in FINISHED_STATES:
            self.finished += 1
        if state == TrialState.COMPLETE:
            value = (outcome.record or {})[self.driver.config.objective]
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


def _show_progress(
    progress: StudyProgress, tasks: dict[str, TaskID], started: float
) -> Callable[[Scheduler], None]:
    """An ``on_tick`` for the scheduler: each study's bar, with what its workers run."""

    def tick(scheduler: Scheduler) -> None:
        running: dict[str, list[str]] = {}
        for worker, job in scheduler.pool.running().items():
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

    return tick


def run_studies(
    config: StudyConfig,
    space: SearchSpace,
    drivers: list[Driver],
    pool: LocalPool | RayPool | None = None,
    others: Sequence[JobSource] = (),
    follow_up: Callable[[str], list[JobSource]] | None = None,
) -> Usage:
    """Run the studies of ``drivers`` (and the ``others`` sources) at once on one scheduler,
    each study with ``config.concurrency`` trials in flight (default: every worker), with a
    progress bar per study. ``follow_up(name)``, when given, returns the sources to start as
    soon as study ``name`` is done (its retraining). ``pool`` is reused when given; otherwise
    one is started from ``config`` and ``space`` and shut down at the end."""
    progress = StudyProgress(config.show_progress)
    tasks = {
        d.config.name: progress.track(d.config.name, d.config.trials, d.complete) for d in drivers
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
                for task in tasks.values():
                    progress.message(task, "starting workers…")
                # Ray's start-up may take minutes: the studies' leases must not look dead
                with renewed_meanwhile([d.lease for d in drivers if d.lease is not None]):
                    pool = make_pool(config, space, check_interrupt)
            limit = config.concurrency or pool.slots
            show = _show_progress(progress, tasks, time.monotonic())

            def tick(scheduler: Scheduler) -> None:
                show(scheduler)
                for driver in drivers:  # heartbeats: each at most every lease.HEARTBEAT s
                    if driver.lease is not None:
                        driver.lease.renew()

            scheduler = Scheduler(
                pool, on_done=on_done, check_interrupt=check_interrupt, on_tick=tick
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


def run_study(config: StudyConfig, pool: LocalPool | RayPool | None = None) -> optuna.Study:
    """Run trials until ``config.trials`` have finished (COMPLETE or PRUNED); resumable.

    ``pool`` lets a caller reuse one set of workers; otherwise one is started here and shut
    down at the end. The study keeps ``config.concurrency`` trials in flight (default: every
    worker busy).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    driver = open_study(config)
    if driver.complete >= config.trials:
        return driver.study
    usage = run_studies(config, driver.space, [driver], pool)
    driver.study.set_user_attr("pool_usage", usage.as_dict())
    return driver.study


def _best(study: optuna.Study) -> float | None:
    try:
        return study.best_value
    except ValueError:  # no COMPLETE trial yet
        return None
