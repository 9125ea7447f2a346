"""What ``harness bench devices`` measures, as plain values (importable without torch).

The command's options and their defaults come from ``DeviceBenchConfig``'s fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.choices import BenchDevices, Variant
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.lab.recipes import Recipe

DEFAULT_JSON = "runs/devices.json"  # what 'harness report' reads
DEFAULT_SHAPES = tuple((h, b) for h in (64, 256, 1024) for b in (32, 128, 512))


@dataclass(frozen=True)
class DeviceBenchConfig:
    """What ``harness bench devices`` measures (its command-line options)."""

    recipes: tuple[Recipe, ...]
    shapes: tuple[tuple[int, int], ...] = DEFAULT_SHAPES
    device: BenchDevices = "all"
    epochs: int = 3
    rows: int | None = None  # train on the first N training rows (None: all 20,838)
    throughput: bool = True
    workers_per_gpu: tuple[int, ...] = (1, 2, 4, 8)
    trials_per_worker: int = 3
    trial_epochs: int = 5
    data: str | None = None
    variant: Variant = "lab"

    def __post_init__(self) -> None:
        if self.epochs < 2:
            raise HarnessError(
                f"epochs >= 2 must hold (one warm-up epoch, then at least one "
                f"timed), but got {self.epochs}"
            )
        if not self.recipes and not self.shapes:
            raise HarnessError("nothing to time: no recipe and no search shape selected")

    def settings(self) -> dict[str, Any]:
        """The options as JSON values (recipes by name, shapes as objects)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["recipes"] = [r.name for r in self.recipes]
        out["shapes"] = [{"hidden_size": h, "batch_size": b} for h, b in self.shapes]
        out["workers_per_gpu"] = list(self.workers_per_gpu)
        return out
