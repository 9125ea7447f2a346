"""Study throughput: trials per minute of N worker processes sharing one device.

A small MLP leaves a GPU mostly idle between kernel launches, so a study keeps the card busy
by running several trials on it at once (``harness study --gpu-workers``: fractional GPUs).
This measures how far that goes: N processes (spawned, one torch thread each) on one card,
each running the same number of short search-task trials with its own seeds. Start-up
(imports, data, CUDA context, a one-epoch warm-up trial) happens before the clock starts;
the clock stops when the last worker is done. On CPU the same is measured with one worker and
with one per core, as a baseline.

Plain ``multiprocessing`` rather than Ray: the measurement needs no scheduler, and the GPU
machines it matters on may have no Ray.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.bench.config import DeviceBenchConfig
from harness.bench.hardware import Device, cpu_count

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

# A mid-size configuration of the search space (lab_mlp.toml).
TRIAL_PARAMS = {
    "hidden_size": 256,
    "lr": 1e-3,
    "batch_size": 128,
    "weight_decay": 1e-5,
    "dropout": 0.2,
}
PHASE_TIMEOUT_S = 900  # start-up, and then the trials; a hung worker ends the run as an error
WARMUP_SEED = 1_000_000  # no trial of the run uses it


@dataclass(frozen=True)
class ThroughputRun:
    """N workers on one device: ``cpu`` or a card ``cuda:<index>``."""

    device: str
    index: int | None
    workers: int


@dataclass(frozen=True)
class WorkerJob:
    """What crosses to a worker process: plain, picklable values."""

    index: int | None  # the CUDA card, or None for CPU
    params: dict[str, Any]
    trial_epochs: int
    rows: int | None
    data: str | None
    variant: str


def throughput_plan(config: DeviceBenchConfig, devices: list[Device]) -> list[ThroughputRun]:
    """CPU: 1 worker and one per core; the first card: each of ``config.workers_per_gpu``."""
    runs = []
    if any(d.kind == "cpu" for d in devices):
        runs += [ThroughputRun("cpu", None, n) for n in dict.fromkeys((1, cpu_count()))]
    card = next((d for d in devices if d.kind == "cuda"), None)
    if card is not None:
        runs += [ThroughputRun(card.name, card.index, n) for n in config.workers_per_gpu]
    return runs


def throughput_runs(
    config: DeviceBenchConfig, runs: list[ThroughputRun], step: Callable[[str], None]
) -> list[dict[str, Any]]:
    records = []
    for run in runs:
        step(
            f"{run.device}: {run.workers} worker{'s' if run.workers > 1 else ''}, trials per minute"
        )
        records.append(measure_throughput(run, config))
    return records


def measure_throughput(run: ThroughputRun, config: DeviceBenchConfig) -> dict[str, Any]:
    """One JSON record: trials per minute of ``run.workers`` processes on ``run.device``."""
    job = WorkerJob(
        run.index, TRIAL_PARAMS, config.trial_epochs, config.rows, config.data, config.variant
    )
    k = config.trials_per_worker
    record: dict[str, Any] = {
        "device": run.device,
        "workers": run.workers,
        "threads_per_worker": 1,
        "trials": run.workers * k,
        "trial_epochs": config.trial_epochs,
        "params": TRIAL_PARAMS,
    }
    context = multiprocessing.get_context("spawn")  # CUDA cannot be used in a forked child
    messages, start = context.Queue(), context.Event()
    processes = [
        context.Process(
            target=worker_main,
            daemon=True,
            args=(job, w, list(range(w * k, (w + 1) * k)), messages, start),
        )
        for w in range(run.workers)
    ]
    for process in processes:
        process.start()
    finished = False
    try:
        _collect(messages, processes, "ready")
        started = time.perf_counter()
        start.set()
        done = _collect(messages, processes, "done")
        seconds = time.perf_counter() - started
        finished = True
    except WorkerFailed as err:
        return {**record, "status": f"error: {err}"}
    finally:
        _stop(processes, wait_s=10 if finished else 0)
    statuses = [s for payload in done for s in payload]
    return {
        **record,
        "status": "ok",
        "seconds": seconds,
        "trials_per_minute": len(statuses) * 60 / seconds,
        "trial_statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
    }


class WorkerFailed(Exception):
    """A worker raised, died or hung; the message says which and why."""


def _collect(messages: Queue[Any], processes: Sequence[BaseProcess], phase: str) -> list[Any]:
    """Wait for every worker's ``phase`` message; their payloads, in worker order."""
    payloads: dict[int, Any] = {}
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    while len(payloads) < len(processes):
        try:
            kind, worker, payload = messages.get(timeout=1)
        except queue_module.Empty:
            for worker, process in enumerate(processes):
                if worker not in payloads and process.exitcode is not None:
                    raise WorkerFailed(
                        f"worker {worker} exited with code {process.exitcode} before '{phase}'"
                    ) from None
            if time.monotonic() > deadline:
                raise WorkerFailed(
                    f"no '{phase}' from every worker within {PHASE_TIMEOUT_S} s"
                ) from None
            continue
        if kind == "error":
            raise WorkerFailed(f"worker {worker}: {payload}")
        payloads[worker] = payload
    return [payloads[w] for w in range(len(processes))]


def _stop(processes: Sequence[BaseProcess], wait_s: float) -> None:
    """Join the workers (they exit after 'done'); kill any still alive after ``wait_s``."""
    for process in processes:
        process.join(timeout=wait_s)
        if process.is_alive():
            process.kill()
            process.join()


def worker_main(
    job: WorkerJob, worker: int, seeds: list[int], messages: Queue[Any], start: Event
) -> None:
    """A worker process: load the data onto its device, warm up, say 'ready', wait for the
    start, run one trial per seed, say 'done' with their statuses. Top level: it is pickled
    by name into a spawned process."""
    try:
        messages.put(("done", worker, _work(job, worker, seeds, messages, start)))
    except Exception as err:
        lines = str(err).strip().splitlines()
        messages.put(("error", worker, f"{type(err).__name__}: {lines[0][:200] if lines else ''}"))


def _work(
    job: WorkerJob, worker: int, seeds: list[int], messages: Queue[Any], start: Event
) -> list[str]:
    import torch

    from harness.engine.train import ResidentSplits
    from harness.lab.data import load_splits
    from harness.search.task import FixedSettings, run_trial

    torch.set_num_threads(1)
    device = "cpu"
    if job.index is not None:
        torch.cuda.set_device(job.index)
        device = "cuda"
    splits = load_splits(job.data, job.variant, job.rows)
    resident = ResidentSplits(splits, torch.device(device))
    warm_up = FixedSettings(max_epochs=1, patience=1)
    run_trial(
        job.params,
        splits,
        seed=WARMUP_SEED + worker,
        device=device,
        fixed=warm_up,
        resident=resident,
    )
    messages.put(("ready", worker, None))
    start.wait()
    # patience = max_epochs: every trial trains all its epochs (equal work per trial).
    fixed = FixedSettings(max_epochs=job.trial_epochs, patience=job.trial_epochs)
    return [
        run_trial(job.params, splits, seed=seed, device=device, fixed=fixed, resident=resident)[
            "status"
        ]
        for seed in seeds
    ]
