"""The Ray pool: CPU and GPU workers (``TrialRunner`` actors) in one pool, which the driver polls
for epoch values and results.

Each worker is one ``_Slot``: its actor, the job it runs and that job's result, when the job's
clock started, and whether the worker is a replacement still starting. A worker whose process
dies has its job reported as lost (the driver retries it) and is replaced; with a trial
timeout, a worker whose job runs past it is killed (an actor cannot be stopped mid-call) and
replaced, its job reported as timed out. An exception raised in training is the job's outcome
and the worker lives on. A worker may train a population (``submit_population``: several
jobs in one stacked step, ``TrialRunner.run_population``): its members end together, each
with its own outcome; past the trial timeout times the members (each member's own timeout is
its worker's business) the worker is killed and every member reported as timed out.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError, first_line
from harness.search.jobs import EpochHook, Outcome, TrialJob, member_outcome
from harness.search.outcomes import lost_line, task_error_line
from harness.search.ray_setup import WorkerSpec, init_ray, plan_workers, ray_init_guard
from harness.search.runner import TrialRunner

if TYPE_CHECKING:
    from harness.tasks.spec import DataSpec

# Seconds for every worker to be placed and to load its data: past that, the pool is refused
# with what is missing (a worker Ray cannot place would otherwise be waited for forever).
START_TIMEOUT = 120.0


@dataclass
class _Slot:
    """One worker and what it is doing. Free: no call of ours runs on it (``ref`` is None)."""

    spec: WorkerSpec
    actor: Any
    order: int  # when it became free, or when its job was submitted: first come, first served
    jobs: list[TrialJob] = field(default_factory=list)  # whose results the pool waits for
    together: bool = False  # the jobs train as one population (run_population)
    ref: Any = None  # the result of the call running on the actor (a Ray ObjectRef)
    started: float | None = None  # when the job's clock started; None: not yet (see starting)
    starting: Any = None  # a replacement's describe() ref until it has started (loaded its data)

    @property
    def name(self) -> str:
        return self.spec.name


class RayPool:
    """CPU and GPU Ray actors in one pool; see the module's text."""

    def __init__(
        self,
        space_text: str,
        space_source: str,
        cpu_workers: int | None,
        gpu_workers: int | None,
        address: str | None = None,
        trial_timeout: float | None = None,
        check_interrupt: Callable[[], None] = lambda: None,
        data: DataSpec | None = None,  # the task's data (None: the space's), resolved
    ) -> None:
        import ray

        self.ray = ray
        self.trial_timeout = trial_timeout
        self.space_args = (space_text, space_source)
        self.data = data
        # Ctrl-C and SIGTERM are taken between Ray calls (harness.search.interrupts): start-up
        # checks between its calls too, instead of after every worker has started
        self.check_interrupt = check_interrupt
        self.owns_ray = not ray.is_initialized()
        self._order = itertools.count()
        self._slots: dict[str, _Slot] = {}
        try:
            if self.owns_ray:
                with ray_init_guard():
                    init_ray(address)
            check_interrupt()
            resources = ray.cluster_resources()
            self.specs = plan_workers(
                int(resources.get("CPU", 1)), int(resources.get("GPU", 0)), cpu_workers, gpu_workers
            )
            for spec in self.specs:
                self._slots[spec.name] = _Slot(spec, self._spawn(spec), next(self._order))
            self._check_started()
        except BaseException:
            self.close()  # a Ray of our own, half started, must not outlive us (nor crash exit)
            raise
        self.slots = len(self.specs)
        self.names = [spec.name for spec in self.specs]
        self.on_gpu = all(spec.kind == "gpu" for spec in self.specs)

    def _spawn(self, spec: WorkerSpec) -> Any:
        remote = self.ray.remote(TrialRunner)
        if spec.kind == "gpu":
            options = {"num_cpus": 1, "num_gpus": spec.gpu_fraction}
            device, threads = "cuda", 1
        else:
            # Ray may leave CUDA visible to CPU actors: force the device and one thread.
            options = {"num_cpus": 1, "num_gpus": 0}
            device, threads = "cpu", 1
        return remote.options(max_concurrency=2, max_restarts=0, name=None, **options).remote(
            *self.space_args, device, threads, *([self.data] if self.data is not None else [])
        )

    def _check_started(self) -> None:
        """Surface a worker that cannot start (no CUDA, bad data) or that Ray cannot place
        (not enough free CPUs or GPU share on any node) as one clear error now, rather than as
        endless lost trials or an endless wait later."""
        refs = {name: slot.actor.describe.remote() for name, slot in self._slots.items()}
        pending, deadline = list(refs.values()), time.monotonic() + START_TIMEOUT
        while pending and time.monotonic() < deadline:
            wait = min(0.5, deadline - time.monotonic())
            _, pending = self.ray.wait(pending, num_returns=len(pending), timeout=wait)
            self.check_interrupt()
        if pending:
            missing = [name for name, ref in refs.items() if ref in pending]
            message = self._unplaced(missing, len(refs))
            self.close()
            raise HarnessError(message)
        try:
            self.ray.get(list(refs.values()))
        except self.ray.exceptions.RayError as err:
            self.close()
            # Ray wraps the worker's exception in text; keep the worker's own one-line message.
            text = str(err)
            marker = "HarnessError: "
            reason = text.split(marker, 1)[1] if marker in text else text
            raise HarnessError(f"a worker could not start: {first_line(reason)}") from None
        except BaseException:
            self.close()
            raise

    def _unplaced(self, missing: list[str], workers: int) -> str:
        """Which workers Ray could not place, what each needs, and what Ray has free."""
        free = {
            k: round(v, 2) for k, v in self.ray.available_resources().items() if k in ("CPU", "GPU")
        }
        need = self._slots[missing[0]].spec
        each = f"1 CPU and {need.gpu_fraction:g} of one GPU" if need.kind == "gpu" else "1 CPU"
        return (
            f"{len(missing)} of {workers} workers could not be placed within "
            f"{START_TIMEOUT:.0f} s ({', '.join(missing)}; each needs {each}); Ray has "
            f"{free or 'nothing'} free: ask for fewer workers (--cpu-workers, --gpu-workers)"
        )

    def _busy(self) -> list[_Slot]:
        """The workers whose jobs the pool waits for, in the order the jobs were submitted."""
        return sorted((s for s in self._slots.values() if s.jobs), key=_by_order)

    def _free(self) -> list[_Slot]:
        """The free workers, the one free the longest first."""
        return sorted((s for s in self._slots.values() if s.ref is None), key=_by_order)

    def free_slots(self) -> int:
        return len(self._free())

    def running(self) -> dict[str, list[TrialJob]]:
        return {slot.name: slot.jobs for slot in self._busy()}

    def submit(self, job: TrialJob) -> None:
        self._start(self._free()[0], [job], False)

    def submit_population(self, jobs: list[TrialJob]) -> None:
        self._start(self._free()[0], list(jobs), True)

    def _start(self, slot: _Slot, jobs: list[TrialJob], together: bool) -> None:
        run = slot.actor.run_population if together else slot.actor.run
        slot.jobs, slot.together, slot.order = jobs, together, next(self._order)
        slot.ref = run.remote(jobs if together else jobs[0])
        slot.started = None if slot.starting is not None else time.monotonic()

    def _poll_epochs(self, on_epoch: EpochHook) -> None:
        busy = self._busy()
        refs = {slot.name: slot.actor.poll.remote() for slot in busy}
        for slot in busy:
            try:
                events = self.ray.get(refs[slot.name], timeout=30)
            except Exception:
                continue
            for token, epoch, value in events:
                if on_epoch(token, epoch, value):
                    slot.actor.stop.remote(token)

    def wait(self, timeout: float, on_epoch: EpochHook) -> list[Outcome]:
        busy = self._busy()
        if not busy:
            return []
        # Return as soon as one trial ends (not at the timeout), with any others done by then.
        ready, rest = self.ray.wait([slot.ref for slot in busy], num_returns=1, timeout=timeout)
        if ready and rest:
            ready += self.ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        outcomes = self._stop_overdue(set(ready))
        self._poll_epochs(on_epoch)
        by_ref = {slot.ref: slot for slot in busy}
        for ref in ready:
            outcomes += self._finish(by_ref[ref])
        return outcomes

    def _finish(self, slot: _Slot) -> list[Outcome]:
        """The outcomes of the jobs ``slot`` ran to their end; the worker is free again, or
        replaced when its process died."""
        jobs, ref, name = slot.jobs, slot.ref, slot.name
        slot.jobs, slot.started = [], None
        try:
            value = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as err:  # the worker's process died
            self._replace(slot)
            return [Outcome(job, name, lost=lost_line(err)) for job in jobs]
        except self.ray.exceptions.RayTaskError as err:  # training raised: the worker lives
            self._set_free(slot)
            return [Outcome(job, name, error=task_error_line(err)) for job in jobs]
        self._set_free(slot)
        if not slot.together:
            return [Outcome(jobs[0], name, record=value)]
        return [member_outcome(job, name, result) for job, result in zip(jobs, value, strict=True)]

    def _stop_overdue(self, ready: set[Any]) -> list[Outcome]:
        """Kill the worker of each job running past the trial timeout (an actor cannot be
        stopped mid-call otherwise) and start its replacement. The clock of a job on a
        replacement starts when that worker has started (loaded its data)."""
        if self.trial_timeout is None:
            return []
        now = time.monotonic()
        for slot in self._slots.values():
            if slot.starting is not None and self.ray.wait([slot.starting], timeout=0)[0]:
                slot.starting = None
        outcomes = []
        for slot in self._busy():
            if slot.ref in ready:
                continue
            if slot.started is None:
                if slot.starting is None:
                    slot.started = now
                continue
            # a population's members keep their own timeouts (their shares of its clock):
            # its worker is killed only past the timeout times its members
            if now - slot.started > self.trial_timeout * len(slot.jobs):
                jobs, slot.jobs, slot.started = slot.jobs, [], None
                self.ray.kill(slot.actor, no_restart=True)
                outcomes += [Outcome(j, slot.name, timed_out=self.trial_timeout) for j in jobs]
                self._replace(slot)
        return outcomes

    def _replace(self, slot: _Slot) -> None:
        slot.actor = self._spawn(slot.spec)
        slot.starting = slot.actor.describe.remote()
        self._set_free(slot)

    def _set_free(self, slot: _Slot) -> None:
        slot.ref, slot.order = None, next(self._order)

    def stop_all(self) -> list[TrialJob]:
        """Ask every job to stop and wait for none of them. Their workers stay out of the pool
        (each still ends its job, at its next epoch)."""
        jobs = []
        for slot in self._busy():
            for job in slot.jobs:
                slot.actor.stop.remote(job.token)
            jobs += slot.jobs
            slot.jobs, slot.started = [], None
        return jobs

    def describe(self, worker: str) -> dict[str, Any]:
        """Where a worker runs: host, process id, device, Ray node (tests use it)."""
        return self.ray.get(self._slots[worker].actor.describe.remote())

    def worker_pid(self, worker: str) -> int:
        """The process id of a worker (tests kill it to check fault handling)."""
        return self.describe(worker)["pid"]

    def close(self) -> None:
        for slot in self._slots.values():
            with contextlib.suppress(Exception):  # already gone (a failed start-up)
                self.ray.kill(slot.actor)
        self._slots = {}
        if self.owns_ray:
            self.ray.shutdown()
            self.owns_ray = False


def _by_order(slot: _Slot) -> int:
    return slot.order
