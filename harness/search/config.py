"""What a study is asked to do, as plain validated values (no Optuna, no torch to import).

``FixedSettings`` are the training settings a search does not vary (a space file's ``[fixed]``
table), ``DataSettings`` the data it trains on (its ``[data]`` table), ``StudyConfig`` one
study; the key tables of space files are derived from these fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.choices import (
    EXECUTORS,
    OBJECTIVES,
    OPTIMIZERS,
    PRUNERS,
    Device,
    Executor,
    Objective,
    Optimizer,
    Pruner,
    Variant,
)
from harness.errors import HarnessError
from harness.paths import DEFAULT_SPACE
from harness.search.samplers import check_sampler

DEFAULT_STORAGE = "sqlite:///runs/harness.db"


@dataclass(frozen=True)
class FixedSettings:
    """What the search does not vary (LAB.md: Adam, at most 300 epochs, patience 10)."""

    optimizer: Optimizer = "adam"
    max_epochs: int = 300
    patience: int = 10
    cuda_graph: bool = True  # on CUDA, replay the training step as a CUDA graph
    hand_backward: bool = True  # on CPU, the MLP's backward written out (harness.engine.mlp_step)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise HarnessError(
                f"optimizer must be one of {list(OPTIMIZERS)}, but got {self.optimizer!r}"
            )
        if self.max_epochs < 1 or self.patience < 1:
            raise HarnessError(
                "max_epochs >= 1 and patience >= 1 must hold, but got "
                f"(max_epochs={self.max_epochs}, patience={self.patience})"
            )


@dataclass(frozen=True)
class DataSettings:
    """The data a search trains on: the feature variant and an optional training subset
    (checked, with the file and key, where a space file is read)."""

    train_rows: int | None = None  # the first N training rows, for quick studies (None: all)
    variant: Variant = "lab"


@dataclass(frozen=True)
class StudyConfig:
    """One study: what ``harness study`` runs, and the template each study of a comparison
    is derived from (``dataclasses.replace``)."""

    name: str
    sampler: str  # a built-in name or "module:Class[:json]" (harness.search.samplers)
    trials: int = 30
    space_path: str | Path = DEFAULT_SPACE
    storage: str | None = None
    seed: int = 0
    objective: Objective = "val_auroc"
    pruner: Pruner = "none"
    executor: Executor = "ray"
    cpu_workers: int | None = None
    gpu_workers: int | None = None
    address: str | None = None
    show_progress: bool = True
    device: Device = "auto"  # for the local executor; Ray workers choose by their kind
    # Trials of this study in flight at once; None: as many as there are workers. 1 makes a
    # seeded study's trials the same for any pool (TPE sees every earlier result).
    concurrency: int | None = None

    def __post_init__(self) -> None:
        check_sampler(self.sampler)  # imports only a user's sampler module, never for a name
        rules = [
            (self.objective in OBJECTIVES, f"objective must be one of {list(OBJECTIVES)}",
             self.objective),
            (self.pruner in PRUNERS, f"pruner must be one of {list(PRUNERS)}", self.pruner),
            (self.executor in EXECUTORS, f"executor must be one of {list(EXECUTORS)}",
             self.executor),
            (self.trials >= 1, "trials >= 1 must hold", self.trials),
            (self.concurrency is None or self.concurrency >= 1,
             "concurrency >= 1 must hold", self.concurrency),
            (bool(self.name.strip()), "a study name must not be empty", self.name),
        ]  # fmt: skip
        for ok, rule, value in rules:
            if not ok:
                raise HarnessError(f"{rule}, but got {value!r}")
