"""Where ``harness bench devices`` measures: the devices (CPU with a thread count, each CUDA
card), their measured fp32 matrix-multiply rate (the floor's denominator), and a record of
the machine (host, versions, load, GPUs and their driver)."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import torch

from harness.choices import BENCH_DEVICES
from harness.environment import cpu_name
from harness.errors import HarnessError


@dataclass(frozen=True)
class Device:
    """Where a workload runs: CPU with a thread count, or one CUDA card by index."""

    name: str  # "cpu-1t", "cpu" or "cuda:<index>"
    kind: str  # "cpu" or "cuda"
    threads: int | None = None
    index: int | None = None
    description: str = ""

    @property
    def train_device(self) -> str:
        # train() takes "cpu" or "cuda"; the card is chosen with torch.cuda.device(index).
        return self.kind


def list_devices(which: str) -> list[Device]:
    """``cpu-1t`` and ``cpu`` (torch's default thread count) and every visible CUDA card."""
    if which not in BENCH_DEVICES:
        raise HarnessError(f"--device must be one of {list(BENCH_DEVICES)}, but got {which!r}")
    devices = []
    if which in ("all", "cpu"):
        cpu = cpu_name()
        devices += [
            Device("cpu-1t", "cpu", threads=1, description=f"{cpu}, 1 thread"),
            Device(
                "cpu",
                "cpu",
                threads=torch.get_num_threads(),
                description=f"{cpu}, {torch.get_num_threads()} threads",
            ),
        ]
    cuda = torch.cuda.is_available()
    if which == "cuda" and not cuda:
        raise HarnessError("--device cuda was asked for, but torch sees no CUDA device here")
    if which in ("all", "cuda") and cuda:
        devices += [
            Device(f"cuda:{i}", "cuda", index=i, description=torch.cuda.get_device_name(i))
            for i in range(torch.cuda.device_count())
        ]
    return devices


@contextlib.contextmanager
def on_device(device: Device) -> Iterator[None]:
    """Set the CPU thread count (restored afterwards) or make the card the current one."""
    if device.kind == "cuda":
        with torch.cuda.device(device.index):
            yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(device.threads or before)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def synchronize(device: Device) -> None:
    if device.kind == "cuda":
        torch.cuda.synchronize()


def matmul_rate(device: Device, budget_s: float = 1.0, max_reps: int = 100) -> dict[str, float]:
    """The fp32 matrix-multiply rate (FLOP/s): square matrices of a size that keeps the device
    busy, the fastest rep after one warm-up, repeated for about ``budget_s`` (at least 5
    reps). A floor wants the peak, and on a shared machine interference only ever slows a rep
    down: the longer the window, the likelier one rep ran undisturbed. Call inside
    ``on_device``."""
    size = 8192 if device.kind == "cuda" else 1024
    where = torch.device("cuda" if device.kind == "cuda" else "cpu")
    a = torch.randn(size, size, device=where)  # the values do not matter, only the shape
    b = torch.randn(size, size, device=where)
    out = torch.empty(size, size, device=where)
    torch.mm(a, b, out=out)
    synchronize(device)
    best, reps, spent = float("inf"), 0, 0.0
    while reps < max_reps and (reps < 5 or spent < budget_s):
        started = time.perf_counter()
        torch.mm(a, b, out=out)
        synchronize(device)
        took = time.perf_counter() - started
        best, reps, spent = min(best, took), reps + 1, spent + took
    return {"flops": 2 * size**3 / best, "size": size, "seconds": best, "reps": reps}


# ---------------------------------------------------------------- workloads


def environment(devices: list[Device]) -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu": cpu_name(),
        "cpu_count": cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": load_average(),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "gpus": [d.description for d in devices if d.kind == "cuda"],
        "gpu_driver": gpu_driver() if any(d.kind == "cuda" for d in devices) else None,
    }


def gpu_driver() -> str | None:
    """The NVIDIA driver's version as ``nvidia-smi`` reports it (torch does not say), or None
    where there is no ``nvidia-smi``."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def cpu_count() -> int:
    """Cores this process may use (a container's or taskset's limit, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_average() -> float | None:
    """The 1-minute load average: a busy machine slows everything, CPU threads most."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None
