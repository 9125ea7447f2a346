"""The worker: a ``TrialRunner`` loads the data once, keeps it resident on its device (the GPU
for a GPU worker) and trains the jobs it is given, one after another; it never opens the
Optuna storage.

Each epoch's objective value goes either to a hook called in the training thread (the local
pool: the driver reports it and answers whether to stop) or into a buffer that the Ray pool
polls from beside the training (``poll``, ``stop``). Epoch values and stop requests name the
job's token, and a worker ignores a stop for a job it is not running: a late prune must not
hit the next job that reuses a trial number.

Each record carries the job's ``profile`` as the worker saw it (``JobClock``): wall time, the
training thread's CPU time, the time it waited for a CPU while runnable (other processes on
the cores; Linux only), the rest (blocked: locks, I/O, sleeping), and the part of the wall time
spent before the first epoch, in the epoch hooks and after the last epoch. Reading it costs two
clock reads and one small file per job end (``scripts/worker_profile.py`` prints it).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from harness.search.jobs import EpochHook, TrialJob

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
        self._running: str | None = None  # the token of the job being trained
        self._stop_requested = False
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
                _report(epoch, record[job.objective])
            finally:
                clock.hook_left()

        def _report(epoch: int, value: float) -> None:
            if hook is not None:
                if hook(job.token, epoch, value):
                    raise TrialStopped
            else:
                with self._lock:
                    self._pending.append((job.token, epoch, value))
                    if self._stop_requested:
                        raise TrialStopped
            if timeout is not None and time.perf_counter() - started > timeout:
                raise TrialTimedOut(timeout)

        data = job.data or self.data
        assert data is not None, "a pool without a space file runs jobs that carry their data"
        splits, resident = self.loaded(data)
        started = time.perf_counter()
        clock = JobClock()
        with self._lock:
            self._running, self._stop_requested = job.token, False
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
                self._running, self._stop_requested = None, False
        record["profile"] = clock.profile()
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
            if token != self._running:
                return False
            self._stop_requested = True
            return True


class JobClock:
    """Where a job's wall time went, seen from the thread that trains it (module text)."""

    def __init__(self) -> None:
        self.wall0, self.cpu0, self.wait0 = time.perf_counter(), time.thread_time(), _run_wait()
        self.first_hook: float | None = None  # wall time when the first epoch's hook began
        self.last_hook = self.wall0  # wall time when the last hook returned
        self.hooks = 0.0  # wall seconds inside the epoch hooks

    def hook_entered(self) -> None:
        self._entered = time.perf_counter()
        if self.first_hook is None:
            self.first_hook = self._entered

    def hook_left(self) -> None:
        self.last_hook = time.perf_counter()
        self.hooks += self.last_hook - self._entered

    def profile(self) -> dict[str, float | None]:
        wall = time.perf_counter() - self.wall0
        cpu = time.thread_time() - self.cpu0
        wait0, wait1 = self.wait0, _run_wait()
        waited = wait1 - wait0 if wait0 is not None and wait1 is not None else None
        end = time.perf_counter()
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "runq_wait_s": waited,
            "blocked_s": None if waited is None else max(0.0, wall - cpu - waited),
            "to_first_epoch_s": (self.first_hook or end) - self.wall0,
            "hooks_s": self.hooks,
            "after_last_epoch_s": end - max(self.last_hook, self.first_hook or self.wall0),
        }


def _run_wait() -> float | None:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat's second
    field), or None where the kernel does not say."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def _ray_node_id() -> str | None:
    """The Ray node this process runs on (a worker records it with each trial), or None
    outside Ray."""
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    except Exception:  # no Ray installed, or a context without a node
        return None
