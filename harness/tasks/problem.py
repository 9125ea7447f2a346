"""A user's own problem as a task: ``--task module:Class``, where the class has the members of
OptunaHub's ``optunahub.benchmarks.BaseProblem`` (``search_space``, ``directions``,
``evaluate(params)``), single-objective; and ``--task surrogate:NAME``, a fitted surrogate
(``harness.surrogate.problem``) in the same shape.

The class is imported where it runs: once in the driver, to check it and read its space and
direction before any study is created, and again on each worker (cached per process). A module
a worker cannot import ends the study with one line naming the module and PYTHONPATH
(``ProblemNotImportable``), not with a FAIL per trial.

The primary outcome of a chosen configuration (what the verdict compares):
- ``evaluate(params, seed)``: the parameters re-evaluated with K fresh seeds (as a tabular
  task's configuration is retrained), unless the problem also has ``true_value(params)`` (a
  surrogate: its prediction without noise), which is then the exact primary outcome;
- ``evaluate(params)`` without a seed: the chosen trial's own value (nothing to re-draw).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.choices import Direction
from harness.errors import HarnessError

SURROGATE_PREFIX = "surrogate"  # --task surrogate:NAME (harness surrogate fit --name NAME)
_REF = re.compile(r"(?P<module>[A-Za-z_][\w.]*):(?P<cls>[A-Za-z_]\w*)")
# the primary outcome's source, as a retrain record and the report name it
# (each reads after "the chosen configuration ")
PRIMARY_SOURCES = {
    "seeds": "re-evaluated with K fresh seeds",
    "true": "at its true value, the surrogate's prediction without noise (the same for every seed)",
    "trial": "at the chosen trial's own value (evaluate takes no seed, so nothing is re-drawn)",
}


class ProblemNotImportable(HarnessError):
    """The problem's module cannot be imported here (a worker without it on its path)."""


@dataclass(frozen=True)
class ProblemSpec:
    """What crosses to a worker: the reference, and where a surrogate's files are."""

    ref: str  # "module:Class" or "surrogate:NAME"
    runs_root: str | None = None  # a surrogate's runs folder (absolute), else None

    @property
    def module(self) -> str:
        return self.ref.partition(":")[0]

    @property
    def cls(self) -> str:
        return self.ref.partition(":")[2]

    @property
    def is_surrogate(self) -> bool:
        return self.module == SURROGATE_PREFIX


def is_problem_ref(task: str | None) -> bool:
    """Whether ``--task`` names a problem class (``module:Class``) rather than a built-in or a
    task file."""
    return task is not None and ":" in task and not task.endswith(".toml")


def is_surrogate_ref(task: str | None) -> bool:
    """Whether ``--task`` names a fitted surrogate (``surrogate:NAME``)."""
    return task is not None and task.startswith(f"{SURROGATE_PREFIX}:")


def parse_problem(task: str, runs_root: str | Path | None = None) -> ProblemSpec:
    """``--task module:Class`` or ``surrogate:NAME`` checked for its form (nothing imported)."""
    if not _REF.fullmatch(task):
        raise HarnessError(
            f"--task {task!r}: a problem task is module:Class (a module on PYTHONPATH and a "
            "class with search_space, directions and evaluate) or surrogate:NAME"
        )
    if task.partition(":")[0] == SURROGATE_PREFIX:
        from harness.paths import DEFAULT_RUNS_ROOT

        return ProblemSpec(task, str(Path(runs_root or DEFAULT_RUNS_ROOT).resolve()))
    return ProblemSpec(task)


def problem_task_name(spec: ProblemSpec) -> str:
    """The name that labels the task's studies (``RUN/<task>/<sampler>/r<r>``): the class name
    lower-cased, as a user sampler's label is; ``surrogate-NAME`` for a surrogate."""
    if spec.is_surrogate:
        return f"{SURROGATE_PREFIX}-{spec.cls}"
    return spec.cls.lower()


@functools.lru_cache(maxsize=16)
def load_problem(spec: ProblemSpec) -> Any:
    """The problem instance, checked; cached per process (a worker builds it once)."""
    if spec.is_surrogate:
        from harness.surrogate.problem import SurrogateProblem

        return SurrogateProblem(spec.cls, spec.runs_root or ".")
    try:
        module = importlib.import_module(spec.module)
    except Exception as err:  # any error while importing the user's module is theirs to see
        path = os.environ.get("PYTHONPATH") or "unset"
        raise ProblemNotImportable(
            f"--task {spec.ref}: module {spec.module!r} cannot be imported here "
            f"({type(err).__name__}: {err}); put its folder on PYTHONPATH (here {path}) on "
            "every machine that runs trials"
        ) from None
    cls = getattr(module, spec.cls, None)
    if not isinstance(cls, type):
        raise HarnessError(f"--task {spec.ref}: module {spec.module!r} has no class {spec.cls!r}")
    try:
        problem = cls()
    except Exception as err:
        raise HarnessError(
            f"--task {spec.ref}: {spec.cls}() failed: {type(err).__name__}: {err}"
        ) from None
    check_problem(spec.ref, problem)
    return problem


def check_problem(ref: str, problem: Any) -> None:
    """The members a problem needs, each checked with a one-line refusal."""
    from optuna.distributions import BaseDistribution

    space = getattr(problem, "search_space", None)
    if not isinstance(space, Mapping) or not space:
        raise HarnessError(
            f"--task {ref}: search_space must be a non-empty dict of Optuna distributions, "
            f"but got {type(space).__name__}"
        )
    bad = [name for name, d in space.items() if not isinstance(d, BaseDistribution)]
    if bad:
        raise HarnessError(
            f"--task {ref}: search_space[{bad[0]!r}] must be an Optuna distribution, but got "
            f"{type(space[bad[0]]).__name__}"
        )
    directions = list(getattr(problem, "directions", None) or [])
    if len(directions) != 1:
        raise HarnessError(
            f"--task {ref}: one objective is supported, but directions has {len(directions)}"
        )
    if not callable(getattr(problem, "evaluate", None)):
        raise HarnessError(f"--task {ref}: the class has no evaluate(params) method")


def direction_of(problem: Any) -> Direction:
    """'maximize' or 'minimize': the problem's one direction (a StudyDirection or a string)."""
    direction = problem.directions[0]
    name = str(getattr(direction, "name", direction)).lower()
    if name not in ("maximize", "minimize"):
        raise HarnessError(f"directions[0] must be maximize or minimize, but got {direction!r}")
    return "maximize" if name == "maximize" else "minimize"


def takes_seed(problem: Any) -> bool:
    """Whether ``evaluate`` takes a ``seed`` (then the harness passes the trial's)."""
    try:
        return "seed" in inspect.signature(problem.evaluate).parameters
    except (TypeError, ValueError):  # a signature Python cannot read: do not guess
        return False


def primary_source(problem: Any) -> str:
    """Where the primary outcome comes from (a key of PRIMARY_SOURCES)."""
    if callable(getattr(problem, "true_value", None)):
        return "true"
    return "seeds" if takes_seed(problem) else "trial"


def space_text(problem: Any) -> str:
    """The problem's search space as stable JSON (Optuna's own encoding per distribution):
    stored with each study as a space file's text is, so a resumed study whose class now
    searches another space is refused (its sha256 differs)."""
    from optuna.distributions import distribution_to_json

    encoded = {
        name: json.loads(distribution_to_json(d)) for name, d in problem.search_space.items()
    }
    return json.dumps(encoded, sort_keys=True, indent=1) + "\n"


def evaluate(spec: ProblemSpec, params: dict[str, Any], seed: int, score: bool) -> dict[str, Any]:
    """One evaluation as a trial's record: ``value`` (the objective), and with ``score`` the
    primary outcome ``test_value`` (the true value when the problem has one, else this
    evaluation's value). An exception propagates (the trial fails with its line)."""
    problem = load_problem(spec)
    started = time.perf_counter()
    raw = problem.evaluate(params, seed=seed) if takes_seed(problem) else problem.evaluate(params)
    value = _one_value(raw)
    record: dict[str, Any] = {
        "status": "ok" if math.isfinite(value) else "diverged",
        "params": params,
        "seed": seed,
        "value": value,
    }
    if score:
        true_value = getattr(problem, "true_value", None)
        record["test_value"] = float(true_value(params)) if callable(true_value) else value
    seconds = getattr(problem, "seconds", None)  # a surrogate's predicted training seconds
    record["seconds"] = time.perf_counter() - started
    if callable(seconds):
        record["simulated_seconds"] = float(seconds(params))
    return record


def _one_value(raw: Any) -> float:
    """A single objective's value: a number, or a sequence of one (BaseProblem's form)."""
    if isinstance(raw, list | tuple):
        if len(raw) != 1:
            raise ValueError(f"evaluate returned {len(raw)} values for one objective")
        raw = raw[0]
    return float(raw)
