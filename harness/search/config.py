"""What a study is asked to do, as plain validated values (no Optuna, no torch to import).

``FixedSettings`` are the training settings a search does not vary (a space file's ``[fixed]``
table), ``StudyConfig`` one study; the key tables of space files are derived from these
fields. The data a study trains on is its task's (``harness.tasks``: a space file's
``[data]`` table, or a built-in task).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.choices import (
    EXECUTORS,
    OBJECTIVES,
    PRUNERS,
    Device,
    Executor,
    Objective,
    Pruner,
)
from harness.engine.settings import LoopSettings
from harness.errors import HarnessError
from harness.search.samplers import check_sampler

DEFAULT_STORAGE = "sqlite:///runs/harness.db"
# The storage URL when --storage is not given: a password then stays out of the command line
# (shell history, ps, Ray's job table, which records the driver's command line).
STORAGE_ENV = "HARNESS_STORAGE"


def storage_url(given: str | None) -> str:
    """The storage to use: ``--storage`` > ``$HARNESS_STORAGE`` (if not empty) > the default
    SQLite file."""
    return given or os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE


# Optuna's samplers seed numpy's RandomState, which takes [0, 2**32 - 1] only; a seed outside
# it would fail deep inside the first trial (or, for torch, wrap around silently).
SEED_MAX = 2**32 - 1
# Optuna's RDB storage keeps study names in a String(512) column (MAX_INDEXED_STRING_LENGTH in
# optuna/storages/_rdb/models.py): PostgreSQL and MySQL refuse longer ones, SQLite and the
# journal keep them; refused for every storage, so that a study can move between them.
STUDY_NAME_MAX = 512
# The lab runs 300 epochs with early stopping; 100,000 epochs is hours even on a 2,000-row
# subset, so a larger value is a typo (2**63 - 1 was accepted), not a plan.
MAX_EPOCHS_MAX = 100_000
# Trials a worker trains together as one population (--population) when none is given,
# measured (docs/performance.md, "Population training inside studies"): on CPU no setting won
# on the lab's studies, so each trial trains alone; on a GPU a population of K small MLPs runs
# at 3.5x (K = 8) to 9.3x (K = 64) the model-epochs per second of one (mixed sizes: 1.9x to
# 2.9x, NVIDIA H200), and 16 leaves jobs for the other workers sharing the card.
POPULATION_CPU = 1
POPULATION_GPU = 16


def check_seed(seed: int) -> int:
    """A seed in numpy's and Optuna's range, or HarnessError with the range and the value."""
    if not 0 <= seed <= SEED_MAX:
        raise HarnessError(
            f"--seed must be in [0, {SEED_MAX}] (the seeds numpy and Optuna's "
            f"samplers take), but got {seed}"
        )
    return seed


@dataclass(frozen=True, kw_only=True)
class FixedSettings(LoopSettings):
    """What the search does not vary: the engine's loop settings, their defaults the lab's
    search task (Adam, at most 300 epochs, patience 10), with a trial's ceiling on epochs."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_epochs > MAX_EPOCHS_MAX:
            raise HarnessError(
                f"max_epochs <= {MAX_EPOCHS_MAX} must hold (a trial's ceiling; the "
                f"lab uses 300), but got {self.max_epochs}"
            )


@dataclass(frozen=True)
class StudyConfig:
    """One study: what ``harness study`` runs, and the template each study of a comparison
    is derived from (``dataclasses.replace``)."""

    name: str
    sampler: str  # a built-in name or "module:Class[:json]" (harness.search.samplers)
    trials: int = 30
    # a built-in task's name or a task's TOML file; None: the space file's [data] source, or
    # the lab's Adult (harness.search.tasks)
    task: str | None = None
    space_path: str | Path | None = None  # None: the task's own space
    storage: str | None = None
    seed: int = 0
    objective: Objective | None = None  # None: the task's (validation AUROC for Adult)
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
    # Seconds a trial may run; past it, Ray kills its worker (FAIL "timeout after N s", a
    # replacement worker starts); the local executor stops it at its next epoch's end.
    trial_timeout: float | None = None
    # where a surrogate task's fitted files are (--task surrogate:NAME); None: runs/
    runs_root: str | Path | None = None
    # K simulated workers per study on a simulated clock (harness.search.simulated_pool): a
    # surrogate task's trials in this process, K of a study in flight; None: real workers
    simulate_workers: int | None = None
    # Compatible trials (same task, fixed settings and batch size) a worker trains together in
    # one stacked step, each still its own trial; None: POPULATION_CPU or POPULATION_GPU by the
    # workers' device. 1 trains every trial alone (the path before populations).
    population: int | None = None

    def population_for(self, on_gpu: bool) -> int:
        """The population size for a pool whose workers are (all) on a GPU or not."""
        if self.population is not None:
            return self.population
        return POPULATION_GPU if on_gpu else POPULATION_CPU

    def __post_init__(self) -> None:
        check_sampler(self.sampler)  # imports only a user's sampler module, never for a name
        rules = [
            (
                self.objective is None or self.objective in OBJECTIVES,
                f"objective must be one of {list(OBJECTIVES)}",
                self.objective,
            ),
            (self.pruner in PRUNERS, f"pruner must be one of {list(PRUNERS)}", self.pruner),
            (
                self.executor in EXECUTORS,
                f"executor must be one of {list(EXECUTORS)}",
                self.executor,
            ),
            (self.trials >= 1, "trials >= 1 must hold", self.trials),
            (
                self.concurrency is None or self.concurrency >= 1,
                "concurrency >= 1 must hold",
                self.concurrency,
            ),
            (
                self.population is None or self.population >= 1,
                "population >= 1 must hold",
                self.population,
            ),
            (
                self.trial_timeout is None or 0 < self.trial_timeout < float("inf"),
                "trial_timeout > 0 must hold",
                self.trial_timeout,
            ),
            (bool(self.name.strip()), "a study name must not be empty", self.name),
            (
                self.simulate_workers is None or self.simulate_workers >= 1,
                "--simulate-workers K must be >= 1",
                self.simulate_workers,
            ),
            (
                self.simulate_workers is None or self.executor == "local",
                "--simulate-workers runs its studies in this process: executor must be 'local'",
                self.executor,
            ),
        ]
        for ok, rule, value in rules:
            if not ok:
                raise HarnessError(f"{rule}, but got {value!r}")
        if len(self.name) > STUDY_NAME_MAX:  # the name itself would be a page: its length
            raise HarnessError(
                f"a study name must be at most {STUDY_NAME_MAX} characters (the "
                "storage's study_name column), but got one of "
                f"{len(self.name)}"
            )
        check_seed(self.seed)
