"""The tasks by name: the lab's Adult and scikit-learn's bundled sets (nothing downloaded),
and what ``harness tasks`` lists of each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.tasks.frames import BUNDLED
from harness.tasks.spec import ADULT, DataSpec, Task

BUILTIN_TASKS: dict[str, DataSpec] = {
    ADULT: DataSpec(source=ADULT, kind="binary"),
    **{name: DataSpec(source=name, kind=kind) for name, (kind, _) in BUNDLED.items()},
}
# a task's name is a part of its studies' names (RUN/<task>/<sampler>/r<repeat>)
TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def builtin_task(name: str) -> Task:
    """A built-in task by name, or HarnessError listing them."""
    if name not in BUILTIN_TASKS:
        raise HarnessError(
            f"--task must be one of {list(BUILTIN_TASKS)} or a task's TOML file, but got {name!r}"
        )
    return Task(name, BUILTIN_TASKS[name])


def file_task_name(path: str | Path) -> str:
    """A TOML task's name: its file's stem, which must be usable in a study name."""
    stem = Path(path).stem
    if not TASK_NAME.fullmatch(stem):
        raise HarnessError(
            f"a task file's name must be letters, digits, '_' or '-' before '.toml' (it names "
            f"the task's studies), but got {Path(path).name!r}"
        )
    return stem


def task_label(task: str) -> str:
    """A task's name in its studies' names: a built-in's name, a task file's stem, a problem
    class's name lower-cased (``surrogate-NAME`` for a surrogate)."""
    from harness.tasks.problem import is_problem_ref, parse_problem, problem_task_name

    if task.endswith(".toml"):
        return file_task_name(task)
    return problem_task_name(parse_problem(task)) if is_problem_ref(task) else task


@dataclass(frozen=True)
class TaskSummary:
    """One row of ``harness tasks``."""

    name: str
    rows: int
    features: int  # after encoding (one-hot columns counted)
    kind: str
    objective: str
    direction: str


def summarize(task: Task) -> TaskSummary:
    """The size, kind and objective of a task (its splits loaded)."""
    from harness.tasks.tabular import load_task_splits

    splits = load_task_splits(task.data)
    rows = sum(len(y) for y in (splits.y_train, splits.y_valid, splits.y_test))
    metrics = task.metrics
    return TaskSummary(
        task.name, rows, splits.n_features, task.kind, metrics.objective, metrics.direction
    )
