"""The config fields that the shared options give (``harness.cli.options``): a study's
(``study_settings``), a comparison's design (``design_settings``) and its time budget."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.paths import DEFAULT_RUNS_ROOT
from harness.search.config import STORAGE_ENV, StudyConfig

if TYPE_CHECKING:
    from harness.experiment.verdict import Plan


# StudyConfig fields that shared options set; a command passes on those it has
STUDY_OPTIONS = (
    "task",
    "storage",
    "objective",
    "pruner",
    "executor",
    "cpu_workers",
    "gpu_workers",
    "address",
    "device",
    "concurrency",
    "trial_timeout",
    "simulate_workers",
)
# (the option's name differs from the StudyConfig field it sets)
RENAMED = {"runs_dir": "runs_root"}


def study_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ``StudyConfig`` fields given by this command's shared options."""
    settings = {key: getattr(args, key) for key in STUDY_OPTIONS if hasattr(args, key)}
    settings |= {field: getattr(args, key) for key, field in RENAMED.items() if hasattr(args, key)}
    surrogates = only_surrogates([args.task, *(getattr(args, "tasks", None) or [])])
    in_process = surrogates or settings.get("simulate_workers") is not None
    if "executor" in settings and settings["executor"] is None:
        settings["executor"] = "local" if in_process else StudyConfig.executor
    if surrogates and settings.get("storage") is None and not os.environ.get(STORAGE_ENV):
        settings["storage"] = surrogate_storage(getattr(args, "runs_dir", DEFAULT_RUNS_ROOT))
    return settings


def only_surrogates(tasks: list[str | None]) -> bool:
    """Whether every task given is a surrogate (``surrogate:NAME``): its studies then run in
    this process (microseconds a trial: Ray's start would be most of the time) and go to a
    journal file by default (``surrogate_storage``)."""
    from harness.tasks.problem import is_surrogate_ref

    given = [task for task in tasks if task is not None]
    return bool(given) and all(is_surrogate_ref(t) for t in given)


def surrogate_storage(runs_dir: str | Path) -> str:
    """Where surrogate studies go when --storage is not given: an Optuna journal file beside
    the runs, since copying a finished study there costs about 3 ms a trial against 30 ms
    into SQLite (harness.search.staging): a tenth of a 100-repeat comparison's time."""
    return f"journal:{Path(runs_dir) / 'surrogate-studies.journal'}"


def design_settings(args: argparse.Namespace, default: Plan) -> dict[str, Any]:
    """CompareConfig's design fields: ``--repeats`` (fixed; 1: one pair, no design to judge it)
    or ``--looks``/``--max-pairs`` (sequential), else ``default``; ``--margin`` applies to both."""
    from harness.experiment.verdict import Plan

    sequential = args.looks is not None or args.max_pairs is not None
    if args.repeats is not None:
        if sequential:
            raise HarnessError(
                "--repeats (a fixed number of pairs, one look) and --looks/"
                "--max-pairs (a sequential design) exclude each other, but both "
                "were given"
            )
        one = args.repeats == 1  # one pair: run it (a check, a timing); no design can judge it
        return {"repeats": 1} if one else {"plan": Plan.fixed(args.repeats, args.margin)}
    if not sequential:
        return {"plan": replace(default, margin=args.margin)}
    looks = tuple(args.looks) if args.looks is not None else default.looks
    max_pairs = args.max_pairs or (max(args.looks) if args.looks else default.max_pairs)
    return {"plan": Plan(looks, max_pairs, margin=args.margin)}


def time_budget_s(args: argparse.Namespace, minutes: float | None = None) -> float | None:
    """CompareConfig's ``time_budget_s``: ``--time-budget`` (minutes), else ``minutes``."""
    minutes = args.time_budget if args.time_budget is not None else minutes
    return None if minutes is None else 60.0 * minutes


def check_surrogate_trust(space: Any, forced: bool) -> None:
    """A surrogate whose held-out rho is below MIN_RHO is refused for a comparison unless
    forced (the report then marks its verdict as forced)."""
    problem = space.task.problem if space.task is not None else None
    if problem is None or not problem.is_surrogate or forced:
        return
    from harness.surrogate.store import MIN_RHO, trust_summary
    from harness.tasks.problem import load_problem

    rho = trust_summary(load_problem(problem).meta)["rho"]
    if rho < MIN_RHO:
        raise HarnessError(
            f"--task {problem.ref}: the surrogate's held-out Spearman rho is {rho:.3f}, below "
            f"{MIN_RHO}: it ranks configurations too unlike the real task for a verdict; refit "
            "it from more trials, or give --force-surrogate (the report then says so)"
        )
