"""What a task is: its data (``DataSpec``, what crosses to a worker) and what a study of it
optimises (``KindMetrics``: the objective on validation, its direction, the primary outcome).

A task is a search space (the MLP family's five hyperparameters, a space file's ``[params]``)
trained on one tabular data set; its kind decides the net's head, the loss and the metrics:

| kind | net's outputs, loss | objective (validation) | primary outcome (test) |
|---|---|---|---|
| binary | 1 logit, BCE | AUROC, maximised | AUROC |
| multiclass | C logits, cross-entropy | log-loss, minimised | log-loss |
| regression | 1 value, MSE on the standardised target | RMSE, minimised | RMSE |

Multiclass optimises log-loss rather than macro one-vs-rest AUROC: AUROC only ranks, and on
small, easy sets such as wine (36 validation rows) or digits it reaches 1.0 within a few epochs
for most configurations, so every trial would tie and a sampler would have nothing to climb;
log-loss also scores calibration, keeps separating good configurations from better ones, and
is the quantity early stopping already watches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.choices import TASK_KINDS, Direction, Objective, TaskKind, Variant
from harness.tasks.problem import ProblemSpec

# the built-in source of the lab's data set (harness.lab.data); others are scikit-learn's
# bundled sets (harness.tasks.frames.BUNDLED) or a user's CSV/Parquet file
ADULT = "adult"


@dataclass(frozen=True)
class DataSpec:
    """A task's data: where it comes from, what to predict, how it is split. Frozen and
    plain, so that it pickles to a worker and keys the worker's cache of loaded splits."""

    source: str = ADULT  # "adult", a bundled set's name, or a CSV/Parquet file's path
    target: str | None = None  # a file's label column (a bundled set's is its own)
    kind: TaskKind | None = None  # None: inferred from the target (harness.tasks.frames)
    categorical: tuple[str, ...] | None = None  # None: the columns that are not numeric
    # Both as the lab splits Adult: test_fraction of all rows is the test split, then
    # valid_fraction of the rest the validation split, stratified for classes.
    test_fraction: float = 0.2
    valid_fraction: float = 0.2
    split_seed: int = 0  # random_state of both splits (the lab's 0)
    train_rows: int | None = None  # the first N training rows, for quick studies (None: all)
    variant: Variant = "lab"  # Adult's feature variant (harness.lab.data); others ignore it

    def __post_init__(self) -> None:
        from harness.errors import HarnessError

        if self.kind is not None and self.kind not in TASK_KINDS:
            raise HarnessError(f"kind must be one of {list(TASK_KINDS)}, but got {self.kind!r}")
        for name in ("test_fraction", "valid_fraction"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise HarnessError(f"0 < {name} < 1 must hold, but got {value!r}")


@dataclass(frozen=True)
class KindMetrics:
    """What a study of a task of this kind optimises and what its verdict compares."""

    objective: Objective  # the per-epoch validation value a sampler optimises
    direction: Direction
    primary: str  # the retrained test metric (the primary outcome): a record's key
    title: str  # the metric's name in reports: "AUROC", "log-loss", "RMSE"


KIND_METRICS: dict[TaskKind, KindMetrics] = {
    "binary": KindMetrics("val_auroc", "maximize", "test_auroc", "AUROC"),
    "multiclass": KindMetrics("val_log_loss", "minimize", "test_log_loss", "log-loss"),
    "regression": KindMetrics("val_rmse", "minimize", "test_rmse", "RMSE"),
}


def objectives_for(kind: str) -> tuple[Objective, ...]:
    """The objectives a study of this kind may optimise: its metric, or the validation loss (a
    problem task: its value only)."""
    if kind == PROBLEM_KIND:
        return ("value",)
    return (KIND_METRICS[kind].objective, "val_loss")  # type: ignore[index]


PROBLEM_KIND = "problem"  # a user's problem class or a surrogate (harness.tasks.problem)


@dataclass(frozen=True)
class Task:
    """A resolved task: its name (a built-in's, or its TOML file's stem), its data with the
    kind known, and the TOML file's sha256 when it came from one (a resumed study checks it).
    A problem task (``problem`` set) has no data of its own: its direction is the problem's."""

    name: str
    data: DataSpec
    sha256: str | None = None
    problem: ProblemSpec | None = None
    direction: Direction = "maximize"  # a problem task's; a tabular one's is its kind's

    @property
    def kind(self) -> str:
        if self.problem is not None:
            return PROBLEM_KIND
        assert self.data.kind is not None, self.data  # resolve_data sets it
        return self.data.kind

    @property
    def metrics(self) -> KindMetrics:
        if self.problem is not None:
            return problem_metrics(self.direction)
        return KIND_METRICS[self.data.kind or "binary"]


def problem_metrics(direction: Direction) -> KindMetrics:
    """A problem task's: evaluate()'s value in the problem's direction; its primary outcome the
    chosen parameters' ``test_value`` (harness.tasks.problem)."""
    return KindMetrics("value", direction, "test_value", "objective value")


def stored_metrics(attrs: dict[str, Any]) -> KindMetrics:
    """A stored study's metrics, from its user attributes: its ``task_kind`` (a study from
    before tasks: binary) and a problem's ``task_direction``."""
    kind = attrs.get("task_kind", "binary")
    if kind == PROBLEM_KIND:
        direction = attrs.get("task_direction")
        return problem_metrics("minimize" if direction == "minimize" else "maximize")
    return KIND_METRICS[kind]
