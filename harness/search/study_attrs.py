"""What a study stores of how it was made: its sampler's and pruner's settings, its space, its
task (a tabular task's data, or a problem's reference and how its primary outcome is scored),
the storage (password hidden) and the library versions."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from harness.environment import library_versions
from harness.search.config import StudyConfig
from harness.search.spaces import SearchSpace
from harness.search.storage import redact_url


def study_attrs(
    config: StudyConfig,
    space: SearchSpace,
    url: str,
    sampler_settings: dict[str, Any],
    pruner_settings: dict[str, Any],
) -> dict[str, Any]:
    """Everything a new study records of how it was made (a resumed one is checked against
    them; the report lists them)."""
    return {
        "sampler": sampler_settings,
        "seed": config.seed,
        "objective": config.objective,
        "pruner": config.pruner,
        "pruner_settings": pruner_settings,
        "space": space.text,
        "space_source": space.source,
        "space_sha256": space.sha256,
        **task_attrs(space),
        "storage": redact_url(url),
        "target_trials": config.trials,
        "executor": config.executor,
        "versions": library_versions(),
        # a resumed study is refused another K (driver._check_resume); absent: real workers
        **({"simulate_workers": config.simulate_workers} if config.simulate_workers else {}),
    }


def task_attrs(space: SearchSpace) -> dict[str, Any]:
    """What a study stores of its task: its name, kind and data (a retraining trains on the
    same), and a task file's sha256 (a resumed study refuses another file)."""
    assert space.task is not None, space.source  # load_task_space resolved it
    task = space.task
    attrs: dict[str, Any] = {"task": task.name, "task_kind": task.kind}
    if task.problem is not None:  # no data: the problem's reference and how it is scored
        from harness.tasks.problem import load_problem, primary_source

        attrs["problem"] = asdict(task.problem)
        attrs["task_direction"] = task.direction
        problem = load_problem(task.problem)
        attrs["primary_source"] = primary_source(problem)
        if task.problem.is_surrogate:  # how far to trust it, as the report shows it
            from harness.surrogate.store import trust_summary

            attrs["surrogate"] = trust_summary(problem.meta)
        return attrs
    attrs["data"] = asdict(space.data)
    if task.sha256 is not None:
        attrs["task_sha256"] = task.sha256
    return attrs
