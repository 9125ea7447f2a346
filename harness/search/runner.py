"""The worker: a ``TrialRunner`` loads the data once, keeps it resident on its device (the GPU
for a GPU worker) and trains the jobs it is given, one after another; it never opens the
Optuna storage.

Each epoch's objective value goes either to a hook called in the training thread (the local
pool: the driver reports it and answers whether to stop) or into a buffer that the Ray pool
polls from beside the training (``poll``, ``stop``). Epoch values and stop requests name the
job's token, and a worker ignores a stop for a job it is not running: a late prune must not
hit the next job that reuses a trial number.
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
        self.space = parse_space(space_text, space_source)
        self.data = data or resolve_data(self.space.data)
        self.device = str(resolve_device(device))
        # The first optimizer built in a process imports torch._dynamo (about 1.5 s): pay it
        # here, at start-up, not inside the first trial's timing.
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        self._loaded: dict[DataSpec, tuple[Splits, ResidentSplits]] = {}
        self.splits, self.resident = self.loaded(self.data)
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
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "device": self.device,
            "node": self.node,
        }

    def run(
        self, job: TrialJob, hook: EpochHook | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Train ``job``; with ``timeout``, raise ``TrialTimedOut`` at the first epoch's end
        past it (a thread cannot be stopped mid-epoch)."""
        from harness.search.task import run_trial

        def on_epoch(epoch: int, record: dict[str, float]) -> None:
            value = record[job.objective]
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

        splits, resident = self.loaded(job.data or self.data)
        started = time.perf_counter()
        with self._lock:
            self._running, self._stop_requested = job.token, False
        try:
            record = run_trial(
                job.params,
                splits,
                seed=job.seed,
                device=self.device,
                fixed=job.fixed or self.space.fixed,
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


def _ray_node_id() -> str | None:
    """The Ray node this process runs on (a worker records it with each trial), or None
    outside Ray."""
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    except Exception:  # no Ray installed, or a context without a node
        return None
