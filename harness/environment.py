"""The environment a result was made in: library versions, the CPU and the GPUs.

Every study stores it (user attribute ``versions``), the device bench records it and every
report prints it, because a timing or a score means little without the machine and versions.
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# What a study records; the report adds the libraries that only it uses.
STUDY_PACKAGES = (
    "adult-harness",
    "torch",
    "optuna",
    "ray",
    "numpy",
    "scikit-learn",
    "pandas",
    "optuna-dashboard",
)


def package_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def library_versions(packages: tuple[str, ...] = STUDY_PACKAGES) -> dict[str, str]:
    """Python, the platform, each package's version, the CPU and the GPUs."""
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    versions.update({package: package_version(package) for package in packages})
    versions["cpu"] = cpu_name()
    versions["gpu"] = gpu_name()
    return versions


def gpu_name() -> str:
    """The visible CUDA cards' names, ``none`` without CUDA."""
    try:
        import torch

        if torch.cuda.is_available():
            return ", ".join(
                torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
            )
    except Exception:  # a broken CUDA set-up must not stop a study or a report
        return "unknown"
    return "none"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
