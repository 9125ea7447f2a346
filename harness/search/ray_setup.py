"""Ray's process plumbing for the Ray pool: starting or joining Ray, and how many workers of
which kind it can place.

``init_ray`` joins ``--address`` or starts a private local Ray under ``ray_init_guard``, which
patches two of Ray's private helpers for the length of ``ray.init`` (the job's recorded
entrypoint, without passwords; no SIGTERM handler of Ray's). ``check_ray`` refuses an address
where nothing listens, or workers a local Ray could never place, in seconds and before any
study is made; ``plan_workers`` turns the CPUs and GPUs Ray has into the pool's workers.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from harness.errors import HarnessError, first_line
from harness.search.config import StudyConfig


@dataclass
class WorkerSpec:
    name: str
    kind: str  # "cpu" or "gpu"
    gpu_fraction: float = 0.0


def check_ray(config: StudyConfig) -> None:
    """An unreachable ``--address`` is refused in seconds, before any study is created; so are
    workers that a local Ray could never place (a cluster's are known once it is joined)."""
    if config.executor == "ray" and config.address:
        check_ray_address(config.address)
    elif config.executor == "ray":
        check_placement(config.cpu_workers, config.gpu_workers)


def init_ray(address: str | None) -> None:
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

    # Ray starts its workers at nice 15 (its worker_niceness), so on a shared machine any other
    # process takes the CPU first and a study's trials and timings depend on the neighbours'
    # load (measured: the lab run's two workers at 57-68% CPU beside nice-19 work). The raylet
    # reads RAY_* settings from its environment when ray.init starts it; a user's own value wins.
    os.environ.setdefault("RAY_worker_niceness", "0")
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
