"""Every choice list of the harness, declared once as a ``Literal`` and its values.

The ``Literal`` types the dataclass fields; the tuple (``typing.get_args`` of it) validates
values and gives argparse its ``choices``. One light module, so that ``harness --help`` offers
them without importing torch or Optuna; the code behind each choice lives with its concern
(``engine/train.py`` builds the optimizers, ``search/samplers.py`` the samplers,
``search/pruners.py`` the pruners).
"""

from __future__ import annotations

from typing import Literal, get_args

Optimizer = Literal["sgd", "adam", "adamw"]
OPTIMIZERS: tuple[Optimizer, ...] = get_args(Optimizer)

# where to train: "auto" is CUDA when torch sees it, else the CPU
Device = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[Device, ...] = get_args(Device)

# the feature set: the lab's 108 columns, or the category merges it intended
Variant = Literal["lab", "grouped"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)

# the built-in samplers (harness/search/samplers.py builds them); a study's sampler may also be
# a user's own class, "module:Class[:json kwargs]", so a sampler field is a plain str
Sampler = Literal["tpe", "random", "qmc", "gp", "cmaes"]
SAMPLERS: tuple[Sampler, ...] = get_args(Sampler)
DEFAULT_SAMPLERS: tuple[Sampler, ...] = ("tpe", "random")  # what a comparison runs by default

Pruner = Literal["none", "median", "hyperband"]
PRUNERS: tuple[Pruner, ...] = get_args(Pruner)

# what the sampler optimises, and in which direction: validation AUROC (binary tasks),
# log-loss (multiclass), RMSE (regression), or the training loss on validation (any task);
# "value" is a problem task's evaluate() result, in the problem's own direction
Objective = Literal["val_auroc", "val_loss", "val_log_loss", "val_rmse", "value"]
OBJECTIVES: tuple[Objective, ...] = get_args(Objective)
Direction = Literal["maximize", "minimize"]
DIRECTIONS: dict[Objective, Direction] = {
    "val_auroc": "maximize",
    "val_loss": "minimize",
    "val_log_loss": "minimize",
    "val_rmse": "minimize",
    "value": "maximize",  # a problem task's direction is its own (Task.metrics), not this
}

# what a tabular task predicts: one of two classes, one of C classes, or a number
TaskKind = Literal["binary", "multiclass", "regression"]
TASK_KINDS: tuple[TaskKind, ...] = get_args(TaskKind)
DEFAULT_TASK = "adult"  # the lab's task: what every command runs without --task

# where trials run: Ray actors, or this process one trial at a time
Executor = Literal["ray", "local"]
EXECUTORS: tuple[Executor, ...] = get_args(Executor)

# which devices 'harness bench devices' times
BenchDevices = Literal["all", "cpu", "cuda"]
BENCH_DEVICES: tuple[BenchDevices, ...] = get_args(BenchDevices)
