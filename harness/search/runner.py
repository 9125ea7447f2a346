"""The worker: a ``TrialRunner`` loads the data once, keeps it resident on its device (the GPU
for a GPU worker) and trains the jobs it is given, one after another; it never opens the
Optuna storage.

Each epoch's objective value goes either to a hook called in the training thread (the local
pool: the driver reports it and answers whether to stop) or into a buffer that the Ray pool
polls from beside the training (``poll``, ``stop``). Epoch values and stop requests name the
job's token, and a worker ignores a stop for a job it is not running: a late prune must not
hit the next job that reuses a trial number.

A worker may also train several jobs as one population (``run_population``: K search trials
of one batch size in one stacked step, ``search/population_jobs.py``); each member reports its
epochs under its own token and ends with its own result.

Each record carries the job's ``profile`` as the worker saw it (``search/job_clock.py``): wall
time, CPU time, time waiting for a CPU, blocked time, set-up and hooks.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from harness.search.job_clock import JobClock
from harness.search.jobs import EpochHook, MemberResult, TrialJob
from harness.search.outcomes import exception_line

if TYPE_CHECKING:
    from harness.engine.splits import Splits
    from harness.engine.train import ResidentSplits
    from harness.tasks.spec import DataSpec


class TrialStopped(Exception):
    """Raised inside training when the driver asked to stop (prune) the trial."""


class TrialTimedOut(Exception):
    """Raised at an epoch's end when the trial has run past its timeout (seconds)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"timeout after {timeout:g} s")
        self.timeout = timeout


class TrialRunner:
    """Keeps the data set resident and trains the jobs it is given, one after another."""

    def __init__(
        self,
        space_text: str,
        space_source: str,
        device: str,
        threads: int | None,
        data: DataSpec | None = None,
    ):
        import torch

        from harness.engine.train import resolve_device
        from harness.search.spaces import parse_space
        from harness.tasks.frames import resolve_data

        if threads is not None:
            torch.set_num_threads(threads)
        self.device = str(resolve_device(device))
        self._loaded: dict[DataSpec, tuple[Splits, ResidentSplits]] = {}
        # A pool started for a problem task has no space file (space_text ""): it loads no
        # data until a tabular job comes (each job carries its data and settings).
        self.space = parse_space(space_text, space_source) if space_text else None
        self.data = data or (resolve_data(self.space.data) if self.space else None)
        if self.data is not None:
            # The first optimizer built in a process imports torch._dynamo (about 1.5 s): pay
            # it here, at start-up, not inside the first trial's timing.
            torch.optim.Adam([torch.zeros(1, requires_grad=True)])
            self.loaded(self.data)
        self._lock = threading.Lock()
        self._pending: list[tuple[str, int, float]] = []  # (token, epoch, value) not yet polled
        self._running: set[str] = set()  # the tokens of the jobs being trained
        self._stops: set[str] = set()  # those asked to stop
        self.node = _ray_node_id()

    def loaded(self, data: DataSpec) -> tuple[Splits, ResidentSplits]:
        """A task's splits, resident on this worker's device: loaded at its first job, kept
        for the next (a pool of several tasks' studies keeps each task's data once)."""
        if data not in self._loaded:
            from harness.engine.train import ResidentSplits, resolve_device
            from harness.tasks.tabular import load_task_splits

            splits = load_task_splits(data)
            self._loaded[data] = (splits, ResidentSplits(splits, resolve_device(self.device)))
        return self._loaded[data]

    def describe(self) -> dict[str, Any]:
        import torch

        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "device": self.device,
            "node": self.node,
            "torch_threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
        }

    def run(
        self, job: TrialJob, hook: EpochHook | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Train ``job``; with ``timeout``, raise ``TrialTimedOut`` at the first epoch's end
        past it (a thread cannot be stopped mid-epoch)."""
        from harness.search.config import FixedSettings
        from harness.search.task import run_trial

        if job.problem is not None:
            return self._evaluate(job)

        def on_epoch(epoch: int, record: dict[str, float]) -> None:
            clock.hook_entered()
            try:
                if self.report(job.token, epoch, record[job.objective], hook):
                    raise TrialStopped
            finally:
                clock.hook_left()
            if timeout is not None and time.perf_counter() - started > timeout:
                raise TrialTimedOut(timeout)

        data = job.data or self.data
        assert data is not None, "a pool without a space file runs jobs that carry their data"
        splits, resident = self.loaded(data)
        started = time.perf_counter()
        clock = JobClock()
        with self._lock:
            self._running, self._stops = {job.token}, set()
        try:
            record = run_trial(
                job.params,
                splits,
                seed=job.seed,
                device=self.device,
                fixed=job.fixed or (self.space.fixed if self.space else FixedSettings()),
                on_epoch=on_epoch,
                resident=resident,
                score_test=job.score_test,
                test_probabilities=job.test_probabilities,
            )
        except TrialStopped:
            record = {"status": "pruned", "seconds": time.perf_counter() - started}
        finally:
            with self._lock:
                self._running, self._stops = set(), set()
        return self.stamp(record, clock.profile())

    def run_population(
        self, jobs: list[TrialJob], hook: EpochHook | None = None, timeout: float | None = None
    ) -> list[MemberResult]:
        """Train ``jobs`` (one population key, ``jobs.population_key``) together in one
        stacked step; one result per job, in order (``search/population_jobs.py``). On CPU a
        population of one is today's solo path, ``run``."""
        from harness.search.population_jobs import Members

        if len(jobs) == 1 and not self.device.startswith("cuda"):
            try:
                return [("record", self.run(jobs[0], hook, timeout))]
            except TrialTimedOut as err:
                return [("timed_out", err.timeout)]
            except Exception as err:  # as the pools classify a solo job that raised
                return [("error", exception_line(err))]
        clock, members = JobClock(), Members(jobs, timeout)
        with self._lock:
            self._running, self._stops = {job.token for job in jobs}, set()
        try:
            members.train(self, clock, hook)
        finally:
            with self._lock:
                self._running, self._stops = set(), set()
        return members.results(self, clock.profile())

    def report(self, token: str, epoch: int, value: float, hook: EpochHook | None) -> bool:
        """Hand job ``token``'s epoch value on: to ``hook`` (the local pool), or to the buffer
        the Ray pool polls. Whether the job is to stop (pruned)."""
        if hook is not None:
            return hook(token, epoch, value)
        with self._lock:
            self._pending.append((token, epoch, value))
            return token in self._stops

    def stamp(self, record: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
        """``record`` with where and how it trained: its profile, host and Ray node."""
        record["profile"] = profile
        record["host"] = socket.gethostname()
        if self.node is not None:
            record["node"] = self.node
        return record

    def _evaluate(self, job: TrialJob) -> dict[str, Any]:
        """A problem task's job: one evaluate() call (no epochs, nothing to stop), with the
        host and node as a trained job's record has them."""
        from harness.tasks.problem import evaluate

        assert job.problem is not None
        clock = JobClock()
        record = evaluate(job.problem, job.params, job.seed, score=job.score_test)
        record["profile"] = clock.profile()
        record["host"] = socket.gethostname()
        if self.node is not None:
            record["node"] = self.node
        return record

    def poll(self) -> list[tuple[str, int, float]]:
        """Epoch values reported since the last poll (called concurrently with ``run``)."""
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def stop(self, token: str) -> bool:
        """Ask the job ``token`` to stop at its next epoch; a stop for a job this worker is
        not running (it ended before the request arrived) is ignored. Returns whether it
        applied."""
        with self._lock:
            if token not in self._running:
                return False
            self._stops.add(token)
            return True


def _ray_node_id() -> str | None:
    """The Ray node this process runs on (a worker records it with each trial), or None
    outside Ray."""
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    except Exception:  # no Ray installed, or a context without a node
        return None
