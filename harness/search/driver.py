"""The study driver: creates or resumes an Optuna study, asks it for trials and tells it how
each ended; the only writer of the storage.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from harness.choices import DIRECTIONS, Direction
from harness.errors import HarnessError
from harness.search.config import StudyConfig
from harness.search.interrupts import interrupt_reason
from harness.search.jobs import Outcome, TrialJob
from harness.search.lease import Lease, LeaseLost
from harness.search.outcomes import classify
from harness.search.pruners import build_pruner, pruner_settings
from harness.search.samplers import build_sampler, resume_seed, sampler_settings, stored_seed
from harness.search.spaces import SearchSpace
from harness.search.staging import is_staged, persist
from harness.search.storage import open_storage, storage_url
from harness.search.study_attrs import study_attrs, task_attrs
from harness.search.task_space import load_task_space, resolve_objective

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
    persist_to: BaseStorage | None = None  # a study run in memory is stored here when done
    proposal_s: float = 0.0  # this session's seconds inside the sampler's ask (its own time)

    def persist(self) -> None:
        """At the study's end: its samplers' proposal seconds added to those of earlier
        sessions, and a study run in memory (harness.search.staging) to its storage, whole."""
        self.study.set_user_attr(
            "proposal_seconds", self.study.user_attrs.get("proposal_seconds", 0.0) + self.proposal_s
        )
        self.proposal_s = 0.0
        if self.persist_to is not None:
            self.study, self.persist_to = persist(self.study, self.persist_to), None

    @property
    def finished(self) -> int:
        """Trials that count towards the target: COMPLETE and PRUNED (read from the storage)."""
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
        started = time.perf_counter()
        trial = self.study.ask(self.space.distributions)
        self.proposal_s += time.perf_counter() - started
        original = trial.user_attrs.get("retry_of", trial.number)
        seed = train_seed(self.config.seed, original)
        trial.set_user_attr("train_seed", seed)
        trial.set_user_attr("fixed_params", self.space.fixed_params)
        self.asked[trial.number] = trial
        params = self.space.full_params(trial.params)
        return TrialJob(
            trial.number,
            params,
            seed,
            self.objective,
            data=self.space.data,
            fixed=self.space.fixed,
            problem=self.space.task.problem if self.space.task else None,
        )

    @property
    def objective(self) -> str:
        """What the study optimises: the config's, resolved against the task in open_study."""
        assert self.config.objective is not None, self.config
        return self.config.objective

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
        ruling = classify(outcome)
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
            "val_log_loss",
            "val_rmse",
            "threshold",
            "simulated_seconds",  # a surrogate task's predicted training seconds
            "sim_start",  # and on a simulated clock (--simulate-workers), when it ran
            "sim_end",
        ):
            if key in record and _finite_or_str(record[key]):
                trial.set_user_attr(key, record[key])
        if "status" in record:
            trial.set_user_attr("status", record["status"])
        if ruling.state == "complete":
            self.study.tell(trial, record[self.objective])
            return TrialState.COMPLETE
        if ruling.state == "pruned":
            self.study.tell(trial, state=TrialState.PRUNED)
            return TrialState.PRUNED
        self.fail(trial, ruling.reason or "failed", retry=ruling.retry)
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


def _load_or_create(
    name: str, storage: BaseStorage, existing: optuna.Study | None, direction: Direction, **how: Any
) -> optuna.Study:
    """The study, loaded when it exists: loading writes nothing (create_study tries an INSERT
    first), so a second driver, refused by the lease, does not wait on a SQLite write lock a
    paused first driver may hold ('database is locked' instead of the lease's line)."""
    if existing is not None:
        return optuna.load_study(study_name=name, storage=storage, **how)
    # load_if_exists: two drivers creating it at once, the second loads it
    return optuna.create_study(
        study_name=name, storage=storage, direction=direction, load_if_exists=True, **how
    )


def open_study(config: StudyConfig) -> Driver:
    """Create the study, or resume it after checking that the settings still agree."""
    space = load_task_space(config.task, config.space_path, config.runs_root)
    config = resolve_objective(config, space)
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
    objective = config.objective
    assert objective is not None  # resolve_objective gave the task's
    how = {"sampler": sampler, "pruner": build_pruner(pruning)}
    # a problem task's value goes the problem's way; every other objective has one direction
    assert space.task is not None
    direction = space.task.direction if objective == "value" else DIRECTIONS[objective]
    # a new surrogate study runs in memory, stored whole when done (harness.search.staging)
    staged = existing is None and is_staged(space)
    where = optuna.storages.InMemoryStorage() if staged else storage
    study = _load_or_create(config.name, where, existing, direction, **how)
    lease = None if staged else Lease(study)
    if lease is not None:
        lease.acquire()  # before anything is written: a second driver changes nothing
    if existing is None:
        for key, value in study_attrs(config, space, url, settings, pruning).items():
            study.set_user_attr(key, value)
        # optuna-dashboard then labels the objective "val_auroc", not "Objective 0"
        import warnings

        with warnings.catch_warnings():  # set_metric_names is "experimental" since Optuna 3.2
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([objective])
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
    driver = Driver(config, space, study, url, lease=lease, persist_to=storage if staged else None)
    _recover_stale(driver)
    return driver


def _existing_study(storage: optuna.storages.BaseStorage, name: str) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name=name, storage=storage, sampler=None)
    except KeyError:
        return None


def _check_resume(study: optuna.Study, config: StudyConfig, space: SearchSpace) -> None:
    attrs, task = study.user_attrs, task_attrs(space)
    # the task first: a study from before tasks existed trained on Adult; a task file's
    # content (its sha256) must be the same too
    expected = {
        "task": task["task"],
        "task_sha256": task.get("task_sha256"),
        "sampler": sampler_settings(config.sampler, config.seed),
        "seed": config.seed,
        "objective": config.objective,
        "pruner": config.pruner,
        "space_sha256": space.sha256,
        "simulate_workers": config.simulate_workers,
    }
    found = {key: attrs.get(key) for key in expected}
    found["task"] = attrs.get("task", "adult")
    for key, want in expected.items():
        if found[key] != want:
            what = {
                "space_sha256": "space file content (sha256)",
                "task_sha256": "task file content (sha256)",
                "simulate_workers": "--simulate-workers",
            }.get(key, key)
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
