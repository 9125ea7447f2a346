"""A study's task and search space together: ``--task`` and ``--space`` resolved into one
checked ``SearchSpace`` whose ``data`` is the task's (kind known) and whose ``task`` names it.

- ``--task NAME`` (a built-in, ``harness.tasks.registry``): the built-in's data, searched in
  ``--space`` or the task's own space (Adult: the lab's; the bundled sets: ``tabular_mlp.toml``);
  the space's ``[data]`` may take a training subset, but may not name another source.
- ``--task FILE.toml``: the file is the task, its search space and its ``[data]`` in one; its
  name is the file's stem, and its sha256 is stored with each study (resume checks it).
- ``--task module:Class`` or ``surrogate:NAME`` (``harness.tasks.problem``): the problem's own
  search space and direction; no space file, no data, no pruner (one value per trial).
- neither: the space file's ``[data]`` source (a task file given as ``--space``), else Adult.

Every check runs here, before a study is created or anything is written: the space's rules,
the data's (``harness.tasks.frames``: missing values, constant columns, ...), and batch sizes
that fit the task's training rows.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.errors import HarnessError
from harness.paths import DEFAULT_SPACE, TABULAR_SPACE
from harness.search.config import StudyConfig
from harness.search.distributions import space_error
from harness.search.spaces import SearchSpace, largest_batch, load_space
from harness.tasks.frames import resolve_data
from harness.tasks.problem import (
    direction_of,
    is_problem_ref,
    load_problem,
    parse_problem,
    problem_task_name,
    space_text,
)
from harness.tasks.registry import builtin_task, file_task_name
from harness.tasks.spec import ADULT, DataSpec, Task, objectives_for
from harness.tasks.tabular import load_task_splits


def is_task_file(task: str | None) -> bool:
    return task is not None and task.endswith(".toml")


def task_space_path(task: str | None, space_path: str | Path | None) -> str | Path:
    """The space file a study of ``task`` searches (module's text)."""
    if is_task_file(task):
        if space_path is not None:
            raise HarnessError(
                f"--task {task} is a task file with its own search space; leave --space out"
            )
        assert task is not None  # (is_task_file)
        return task
    if space_path is not None:
        return space_path
    return DEFAULT_SPACE if task in (None, ADULT) else TABULAR_SPACE


def load_task_space(
    task: str | None,
    space_path: str | Path | None = None,
    runs_root: str | Path | None = None,
) -> SearchSpace:
    """The checked space of a study of ``task`` with its data resolved (module's text);
    ``runs_root`` is where a surrogate task's files are (default: runs/)."""
    if is_problem_ref(task):
        assert task is not None  # (is_problem_ref)
        return problem_space(task, space_path, runs_root)
    path = task_space_path(task, space_path)
    space = load_space(path)
    if is_task_file(task) or (task is None and space.declares_source):
        resolved = Task(file_task_name(path), space.data, space.sha256)
    elif task is None:
        resolved = Task(ADULT, space.data)
    else:
        builtin = builtin_task(task)
        if space.declares_source and space.data.source != builtin.data.source:
            raise space_error(
                space.source,
                "data.source",
                f"--task {task} brings its own data, but the space names {space.data.source!r}",
            )
        data = replace(
            space.data, source=builtin.data.source, kind=space.data.kind or builtin.data.kind
        )
        resolved = Task(task, data)
    data = resolve_data(resolved.data)
    space = replace(space, data=data, task=replace(resolved, data=data))
    if data.source != ADULT:  # Adult's rows are checked with the space file
        _check_rows(space)
    return space


def problem_space(
    task: str, space_path: str | Path | None, runs_root: str | Path | None
) -> SearchSpace:
    """A problem task's space: its class imported here (a module that cannot be, or a class
    without the members, is refused before any study exists), its distributions as they are."""
    if space_path is not None:
        raise HarnessError(f"--task {task} brings its own search space; leave --space out")
    spec = parse_problem(task, runs_root)
    problem = load_problem(spec)
    resolved = Task(
        problem_task_name(spec), DataSpec(), problem=spec, direction=direction_of(problem)
    )
    return SearchSpace(
        source=task,
        text=space_text(problem),
        distributions=dict(problem.search_space),
        fixed_params={},
        task=resolved,
    )


def _check_rows(space: SearchSpace) -> None:
    """A training subset and batches that fit the task's training rows (a batch larger than
    them would silently be the whole set)."""
    rows = len(load_task_splits(replace(space.data, train_rows=None)).y_train)
    subset = space.data.train_rows
    if subset is not None and subset > rows:
        raise space_error(
            space.source,
            "data.train_rows",
            f"must be <= {rows} (the task's training rows), but got {subset}",
        )
    largest = largest_batch(space.distributions, space.fixed_params)
    if largest > (subset or rows):
        raise space_error(
            space.source,
            "params.batch_size",
            f"batch_size <= {subset or rows} (the task's training rows) must hold, but the "
            f"space allows {largest}",
        )


def check_simulated(space: SearchSpace) -> None:
    """``--simulate-workers`` needs each trial's seconds without training it: a surrogate's
    runtime model (or a problem class's own ``seconds(params)``)."""
    assert space.task is not None, space.source
    problem = space.task.problem
    if problem is None or not callable(getattr(load_problem(problem), "seconds", None)):
        raise HarnessError(
            "--simulate-workers needs a surrogate task (its runtime model predicts each "
            "trial's seconds), --task surrogate:NAME, or a problem class with "
            f"seconds(params); the task {space.task.name!r} has none"
        )


def resolve_objective(config: StudyConfig, space: SearchSpace) -> StudyConfig:
    """``config`` with its objective the task's when not given; one the task's kind cannot
    score refused, a pruner on a problem task (one value per trial, no epochs), and simulated
    workers on a task without a runtime model."""
    assert space.task is not None, space.source
    if config.simulate_workers is not None:
        check_simulated(space)
    if space.task.problem is not None and config.pruner != "none":
        raise HarnessError(
            f"--pruner {config.pruner}: the problem task {space.source} reports one value per "
            "trial and no epochs, so nothing can be pruned; leave --pruner out"
        )
    allowed = objectives_for(space.task.kind)
    objective = config.objective or allowed[0]
    if objective not in allowed:
        raise HarnessError(
            f"--objective must be one of {list(allowed)} for the {space.task.kind} task "
            f"{space.task.name!r}, but got {objective!r}"
        )
    return replace(config, objective=objective)
