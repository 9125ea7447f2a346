"""Workers that train trial after trial, and the pools that drive them.

A worker (``TrialRunner``) loads the data once, keeps it resident on its device (the GPU for a
GPU worker) and runs one trial at a time; it never opens the Optuna storage. Each epoch's
objective value is handed to an ``epoch_hook`` owned by the driver, which reports it to the
storage and answers whether to stop (pruning). Every job carries a token unique to its
submission; epoch values and stop requests name the token, and a worker ignores a stop for a
job it is not running (a late prune must not hit the next job that reuses a trial number).
``LocalPool`` runs trials in this process;
``RayPool`` runs them on Ray actors (CPU and GPU workers in one pool) and replaces a worker
whose process dies, reporting its trial as lost so the driver can retry it.

Every job ends as an ``Outcome`` (``harness.search.outcomes``): an exception raised in
training is caught by the pool and reported as the exception's own line; with a trial
timeout, Ray kills a worker whose job runs past it and starts a replacement, while the local
pool, which cannot stop a thread, checks the deadline at each epoch's end.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError, first_line
from harness.search.outcomes import Outcome, exception_line, lost_line, task_error_line

# Seconds for every worker to be placed and to load its data: past that, the pool is refused
# with what is missing (a worker Ray cannot place would otherwise be waited for forever).
START_TIMEOUT = 120.0

__all__ = ["LocalPool", "Outcome", "RayPool", "TrialJob", "TrialRunner", "TrialTimedOut"]

# epoch_hook(job token, epoch, value) -> True to stop the job (pruned)
EpochHook = Callable[[str, int, float], bool]


@dataclass(frozen=True)
class TrialJob:
    """What crosses to a worker: plain, picklable values only."""

    number: int
    params: dict[str, Any]
    seed: int
    objective: str  # the per-epoch value reported: "val_auroc" or "val_loss"
    # Search trials are chosen on validation, so they never see the test split; only the
    # retraining of a chosen configuration scores it.
    score_test: bool = False
    test_probabilities: bool = False  # a retraining keeps its test-row probabilities
    token: str = ""  # unique per submission (the scheduler sets it); stops name it


class TrialStopped(Exception):
    """Raised inside training when the driver asked to stop (prune) the trial."""


class TrialTimedOut(Exception):
    """Raised at an epoch's end when the trial has run past its timeout (seconds)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"timeout after {timeout:g} s")
        self.timeout = timeout


class TrialRunner:
    """Keeps the data set resident and trains the jobs it is given, one after another."""

    def __init__(self, space_text: str, space_source: str, device: str, threads: int | None):
        import torch

        from harness.engine.train import ResidentSplits, resolve_device
        from harness.lab.data import load_splits
        from harness.search.spaces import parse_space

        if threads is not None:
            torch.set_num_threads(threads)
        self.space = parse_space(space_text, space_source)
        splits = load_splits(variant=self.space.variant, train_rows=self.space.train_rows)
        self.splits = splits
        self.device = str(resolve_device(device))
        # The first optimizer built in a process imports torch._dynamo (about 1.5 s): pay it
        # here, at start-up, not inside the first trial's timing.
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        self.resident = ResidentSplits(splits, resolve_device(self.device))
        self._lock = threading.Lock()
        self._pending: list[tuple[str, int, float]] = []  # (token, epoch, value) not yet polled
        self._running: str | None = None  # the token of the job being trained
        self._stop_requested = False
        self.node = _ray_node_id()

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

        started = time.perf_counter()
        with self._lock:
            self._running, self._stop_requested = job.token, False
        try:
            record = run_trial(
                job.params,
                self.splits,
                seed=job.seed,
                device=self.device,
                fixed=self.space.fixed,
                on_epoch=on_epoch,
                resident=self.resident,
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


class LocalPool:
    """One in-process worker: for debugging, and to measure what Ray costs. An exception in a
    trial becomes its outcome (the study goes on); ``trial_timeout`` acts at epoch ends."""

    def __init__(
        self,
        space_text: str,
        space_source: str,
        device: str,
        hook: EpochHook,
        trial_timeout: float | None = None,
    ) -> None:
        self.runner = TrialRunner(space_text, space_source, device, threads=None)
        self.hook = hook
        self.trial_timeout = trial_timeout
        self.slots = 1
        self.names = [f"local:{self.runner.device}"]
        self._queue: list[TrialJob] = []

    def free_slots(self) -> int:
        return self.slots - len(self._queue)

    def running(self) -> dict[str, TrialJob]:
        return {self.names[0]: self._queue[0]} if self._queue else {}

    def submit(self, job: TrialJob) -> None:
        self._queue.append(job)

    def wait(self, timeout: float) -> list[Outcome]:
        if not self._queue:
            return []
        job = self._queue[0]  # stays queued while it runs, so Ctrl-C can still FAIL it
        try:
            record = self.runner.run(job, self.hook, self.trial_timeout)
        except TrialTimedOut as err:
            outcome = Outcome(job, self.names[0], timed_out=err.timeout)
        except Exception as err:  # a KeyboardInterrupt still ends the loop (and FAILs the job)
            outcome = Outcome(job, self.names[0], error=exception_line(err))
        else:
            outcome = Outcome(job, self.names[0], record=record)
        self._queue.pop(0)
        return [outcome]

    def stop_all(self) -> list[TrialJob]:
        jobs, self._queue = self._queue, []
        return jobs

    def close(self) -> None:
        pass


@dataclass
class WorkerSpec:
    name: str
    kind: str  # "cpu" or "gpu"
    gpu_fraction: float = 0.0


class RayPool:
    """CPU and GPU Ray actors in one pool; the driver polls them for epochs and results."""

    def __init__(
        self,
        space_text: str,
        space_source: str,
        hook: EpochHook,
        cpu_workers: int | None,
        gpu_workers: int | None,
        address: str | None = None,
        trial_timeout: float | None = None,
        check_interrupt: Callable[[], None] = lambda: None,
    ) -> None:
        import ray

        self.ray = ray
        self.hook = hook
        self.trial_timeout = trial_timeout
        self.space_args = (space_text, space_source)
        # Ctrl-C and SIGTERM are taken between Ray calls (harness.search.interrupts): start-up
        # checks between its calls too, instead of after every worker has started
        self.check_interrupt = check_interrupt
        self.owns_ray = not ray.is_initialized()
        self.actors: dict[str, Any] = {}
        try:
            if self.owns_ray:
                with ray_init_guard():
                    _init_ray(address)
            check_interrupt()
            resources = ray.cluster_resources()
            self.specs = plan_workers(
                int(resources.get("CPU", 1)), int(resources.get("GPU", 0)), cpu_workers, gpu_workers
            )
            for spec in self.specs:
                self.actors[spec.name] = self._spawn(spec)
            self._check_started()
        except BaseException:
            self.close()  # a Ray of our own, half started, must not outlive us (nor crash exit)
            raise
        self.idle = [spec.name for spec in self.specs]
        self.busy: dict[Any, tuple[str, TrialJob]] = {}  # result ref -> (worker, job)
        # result ref -> when its job started (None: its worker, a replacement, is starting)
        self.started: dict[Any, float | None] = {}
        self.starting: dict[str, Any] = {}  # replacement worker -> its describe() ref
        self.slots = len(self.specs)
        self.names = [spec.name for spec in self.specs]

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
            *self.space_args, device, threads
        )

    def _check_started(self) -> None:
        """Surface a worker that cannot start (no CUDA, bad data) or that Ray cannot place
        (not enough free CPUs or GPU share on any node) as one clear error now, rather than as
        endless lost trials or an endless wait later."""
        refs = {name: actor.describe.remote() for name, actor in self.actors.items()}
        pending, deadline = list(refs.values()), time.monotonic() + START_TIMEOUT
        while pending and time.monotonic() < deadline:
            wait = min(0.5, deadline - time.monotonic())
            _, pending = self.ray.wait(pending, num_returns=len(pending), timeout=wait)
            self.check_interrupt()
        if pending:
            missing = [name for name, ref in refs.items() if ref in pending]
            free = {
                k: round(v, 2)
                for k, v in self.ray.available_resources().items()
                if k in ("CPU", "GPU")
            }
            need = {s.name: s for s in self.specs}[missing[0]]
            each = f"1 CPU and {need.gpu_fraction:g} of one GPU" if need.kind == "gpu" else "1 CPU"
            self.close()
            raise HarnessError(
                f"{len(missing)} of {len(refs)} workers could not be placed within "
                f"{START_TIMEOUT:.0f} s ({', '.join(missing)}; each needs {each}); Ray has "
                f"{free or 'nothing'} free: ask for fewer workers (--cpu-workers, --gpu-workers)"
            )
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

    def free_slots(self) -> int:
        return len(self.idle)

    def running(self) -> dict[str, TrialJob]:
        return {worker: job for worker, job in self.busy.values()}

    def submit(self, job: TrialJob) -> None:
        worker = self.idle.pop(0)
        ref = self.actors[worker].run.remote(job)
        self.busy[ref] = (worker, job)
        self.started[ref] = None if worker in self.starting else time.monotonic()

    def _poll_epochs(self) -> None:
        workers = {worker: job for worker, job in self.busy.values()}
        refs = {w: self.actors[w].poll.remote() for w in workers}
        for worker, ref in refs.items():
            try:
                events = self.ray.get(ref, timeout=30)
            except Exception:
                continue
            for token, epoch, value in events:
                if self.hook(token, epoch, value):
                    self.actors[worker].stop.remote(token)

    def wait(self, timeout: float) -> list[Outcome]:
        if not self.busy:
            return []
        # Return as soon as one trial ends (not at the timeout), with any others done by then.
        ready, rest = self.ray.wait(list(self.busy), num_returns=1, timeout=timeout)
        if ready and rest:
            ready += self.ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        outcomes = self._stop_overdue(set(ready))
        self._poll_epochs()
        for ref in ready:
            worker, job = self.busy.pop(ref)
            self.started.pop(ref, None)
            try:
                outcomes.append(Outcome(job, worker, record=self.ray.get(ref)))
                self.idle.append(worker)
            except self.ray.exceptions.RayActorError as err:  # the worker's process died
                outcomes.append(Outcome(job, worker, lost=lost_line(err)))
                self._replace(worker)
            except self.ray.exceptions.RayTaskError as err:  # training raised: the worker lives
                outcomes.append(Outcome(job, worker, error=task_error_line(err)))
                self.idle.append(worker)
        return outcomes

    def _stop_overdue(self, ready: set[Any]) -> list[Outcome]:
        """Kill the worker of each job running past the trial timeout (an actor cannot be
        stopped mid-call otherwise) and start its replacement. The clock of a job on a
        replacement starts when that worker has started (loaded its data)."""
        if self.trial_timeout is None:
            return []
        now = time.monotonic()
        for worker, ref in list(self.starting.items()):
            if self.ray.wait([ref], timeout=0)[0]:
                del self.starting[worker]
        outcomes = []
        for ref, (worker, job) in list(self.busy.items()):
            if ref in ready:
                continue
            started = self.started[ref]
            if started is None:
                if worker not in self.starting:
                    self.started[ref] = now
                continue
            if now - started > self.trial_timeout:
                del self.busy[ref], self.started[ref]
                self.ray.kill(self.actors[worker], no_restart=True)
                outcomes.append(Outcome(job, worker, timed_out=self.trial_timeout))
                self._replace(worker)
        return outcomes

    def _replace(self, worker: str) -> None:
        spec = next(s for s in self.specs if s.name == worker)
        self.actors[worker] = self._spawn(spec)
        self.starting[worker] = self.actors[worker].describe.remote()
        self.idle.append(worker)

    def stop_all(self) -> list[TrialJob]:
        jobs = [job for _, job in self.busy.values()]
        for worker, job in self.busy.values():
            self.actors[worker].stop.remote(job.token)
        self.busy.clear()
        self.started.clear()
        return jobs

    def worker_pid(self, worker: str) -> int:
        """The process id of a worker (tests kill it to check fault handling)."""
        return self.ray.get(self.actors[worker].describe.remote())["pid"]

    def close(self) -> None:
        for actor in self.actors.values():
            with contextlib.suppress(Exception):  # already gone (a failed start-up)
                self.ray.kill(actor)
        self.actors = {}
        if self.owns_ray:
            self.ray.shutdown()
            self.owns_ray = False


def _init_ray(address: str | None) -> None:
    """Join the cluster at ``address``, or start a private local Ray."""
    import ray

    if address:
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except Exception as err:
            message = f"cannot join the Ray cluster at {address!r}: {first_line(err)}"
            raise HarnessError(message) from None
    else:
        # address="local": always a fresh Ray of our own, never a stray one left
        start_local_ray()


def _ray_node_id() -> str | None:
    """The Ray node this process runs on (a worker records it with each trial), or None
    outside Ray."""
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    except Exception:  # no Ray installed, or a context without a node
        return None


@contextlib.contextmanager
def ray_init_guard() -> Iterator[None]:
    """Around ``ray.init``: keep our SIGTERM handler (Ray's own one calls ``sys.exit`` from
    anywhere, even inside a Ray call, with no trial marked), and give Ray's job table the
    driver's command line with every password hidden (Ray records it as the job's
    entrypoint, visible to anyone who can list the cluster's jobs: a --storage URL must not
    carry its password there; better still, pass it in $HARNESS_STORAGE)."""
    import signal

    import ray._private.utils as ray_utils

    from harness.search.storage import redact_text

    entrypoint, set_handler = ray_utils.get_entrypoint_name, ray_utils.set_sigterm_handler
    main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if main_thread else None
    ray_utils.get_entrypoint_name = lambda: redact_text(entrypoint())
    # Ray's handler would exit with status 15 and no line (or 1, after killing its processes)
    # when SIGTERM comes during ray.init; ours marks it, and start-up then stops cleanly
    ray_utils.set_sigterm_handler = lambda handler: None
    try:
        yield
    finally:
        ray_utils.get_entrypoint_name, ray_utils.set_sigterm_handler = entrypoint, set_handler
        if main_thread and sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)


def check_ray_address(address: str, timeout: float = 3.0) -> None:
    """Refuse an ``--address`` where nothing listens (a TCP connect to its port), in seconds:
    ``ray.init`` would retry for minutes. "auto", "local" and an address without a port are
    left to Ray."""
    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise HarnessError(
            f"--address {address}: no Ray cluster answers there (TCP connect to {host} port "
            f"{port} within {timeout:g} s: {reason}); start one with 'ray start --head', or "
            "leave out --address for a Ray of this machine"
        ) from None


def _no_token_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Token authentication is enabled")


def start_local_ray(num_cpus: int | None = None) -> None:
    """A private local Ray: no dashboard, a small object store (trials exchange little data)."""
    import ray

    # Ray enables token authentication for a new local cluster and says so in a warning on
    # every start, a line before any of ours (and before a one-line error); the cluster is
    # private to this process, so the notice is dropped. (Setting RAY_AUTH_MODE=token instead
    # would not do: Ray has read its configuration at import, and then refuses its own GCS.)
    logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(
        _no_token_notice
    )

    ray.init(
        address="local",
        num_cpus=num_cpus,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
        object_store_memory=100 * 1024**2,
    )


def check_placement(cpu_workers: int | None, gpu_workers: int | None) -> None:
    """Refuse, before any study or run file is made, workers that a private local Ray could
    never place: the pool refuses them too (``plan_workers``), but only once Ray has started,
    after the studies were created. CPUs and GPUs are counted as Ray counts them; where they
    cannot be counted, the pool's own check remains."""
    if cpu_workers is None and gpu_workers is None:
        return  # the defaults always fit
    try:
        import ray._private.utils as ray_utils
        from ray._private.accelerators import get_accelerator_manager_for_resource

        cpus = int(ray_utils.get_num_cpus())
        manager = get_accelerator_manager_for_resource("GPU")
        gpus = manager.get_current_node_num_accelerators() if manager else 0
        visible = manager.get_current_process_visible_accelerator_ids() if manager else None
        if visible is not None:
            gpus = min(gpus, len(visible))
    except Exception:  # Ray's private helpers moved: leave it to the pool
        return
    plan_workers(cpus, int(gpus), cpu_workers, gpu_workers)


def plan_workers(
    cpus: int, gpus: int, cpu_workers: int | None, gpu_workers: int | None
) -> list[WorkerSpec]:
    """Default: one CPU worker per core without GPUs; four workers per GPU with them."""
    per_gpu = 4
    if gpu_workers is None:
        gpu_workers = min(gpus * per_gpu, cpus)
    if cpu_workers is None:
        cpu_workers = 0 if gpus else cpus
    if gpu_workers and not gpus:
        raise HarnessError(f"--gpu-workers {gpu_workers} asked for, but Ray sees no GPU")
    if cpu_workers + gpu_workers < 1:
        raise HarnessError("at least one worker is needed, but got 0 CPU and 0 GPU workers")
    if cpu_workers + gpu_workers > cpus:
        raise HarnessError(
            f"each worker needs one CPU: {cpu_workers} CPU + {gpu_workers} GPU "
            f"workers asked for, but Ray has {cpus} CPUs"
        )
    # Ray places a fractional GPU worker on one card: k workers per card must each take at
    # most 1/k of it (3 workers on 2 GPUs take 0.5 each, not 2/3, which no card could hold
    # twice); rounded down so k of them never add up to more than one card.
    per_card = math.ceil(gpu_workers / gpus) if gpu_workers else 1
    fraction = math.floor(10_000 / per_card) / 10_000 if gpu_workers else 0.0
    specs = [WorkerSpec(f"cpu-{i}", "cpu") for i in range(cpu_workers)]
    specs += [WorkerSpec(f"gpu-{i}", "gpu", min(1.0, fraction)) for i in range(gpu_workers)]
    return specs
