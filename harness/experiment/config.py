"""What a comparison runs, and the presets of ``harness run`` (plain values, no Optuna).

A comparison holds one ``StudyConfig`` template and derives each of its studies from it with
``dataclasses.replace`` (name, sampler and seed per study), so a study setting is declared in
one place, ``harness.search.config``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.choices import DEFAULT_SAMPLERS
from harness.errors import HarnessError
from harness.experiment.verdict import Plan
from harness.paths import DEFAULT_RUNS_ROOT, SPACES_DIR
from harness.search.config import StudyConfig

# name, sampler and seed are set per study; everything else is shared by all of them. One
# trial per study in flight: a study's trials run in order (TPE sees every earlier result),
# so a comparison's results do not depend on the number of workers.
STUDY_TEMPLATE = StudyConfig(name="RUN/<sampler>/r<repeat>", sampler="tpe", concurrency=1)
# The time budget starts a pair only when this many times the slowest seconds per pair so far
# still fits: pair times doubled with the load on shared 2-core machines (issue 17: 6.7 then
# 13.6 min a pair), and 1.5 x keeps such a run within about 10% of its budget.
PAIR_TIME_SAFETY = 1.5


@dataclass(frozen=True)
class CompareConfig:
    """Everything ``harness compare`` does: paired repeats of ``samplers``, as many as the
    design asks: ``repeats`` pairs and one look (a fixed design), or ``plan``'s looks (the
    default: looks after 5, 10, 15, 20 and 30 pairs, stopping once decided), within
    ``time_budget_s`` seconds of pairs when given."""

    run: str
    study: StudyConfig = STUDY_TEMPLATE
    repeats: int | None = None
    plan: Plan | None = None
    time_budget_s: float | None = None
    samplers: tuple[str, ...] = DEFAULT_SAMPLERS  # built-in names or "module:Class[:json]"
    retrain_seeds: int = 5  # training seeds of each study's best configuration, on test
    bench_seeds: int = 3  # seeds of the lab's fixed models (0 skips them)
    reference_seeds: int = 3  # seeds of the gradient-boosting reference (0 skips it)
    runs_root: str | Path = DEFAULT_RUNS_ROOT
    # Several tasks in one run (harness compare --tasks): every (task, sampler, repeat) study,
    # named RUN/<task>/<sampler>/r<repeat>, on one pool; () is one task, study.task, with
    # today's names RUN/<sampler>/r<repeat>
    tasks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from harness.experiment.runs import check_run_name, check_study_names  # (Optuna)
        from harness.search import samplers

        check_run_name(self.run)
        for spec in self.samplers:
            samplers.check_sampler(spec)
        samplers.check_distinct(self.samplers)
        if self.repeats is not None and self.repeats < 1:
            raise HarnessError(f"--repeats >= 1 must hold, but got {self.repeats}")
        if self.repeats is not None and self.plan is not None:
            raise HarnessError(
                "--repeats (a fixed number of pairs) and --looks/--max-pairs (a "
                "sequential design) exclude each other, but both were given"
            )
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise HarnessError(
                f"--time-budget > 0 must hold, but got {self.time_budget_s / 60:g} min"
            )
        labels = [samplers.sampler_label(spec) for spec in self.samplers]
        if self.tasks:
            self._check_tasks()
            labels = [f"{task}/{label}" for task in self.task_labels for label in labels]
        check_study_names(self.run, labels, self.max_pairs - 1)

    def _check_tasks(self) -> None:
        """Several tasks: distinct, without --task, and a fixed number of repeats (each task's
        comparison is one look at them; the judgement across tasks is the report's)."""
        if len(self.tasks) < 2:
            raise HarnessError(
                f"--tasks needs two or more tasks (one is --task), but got {list(self.tasks)}"
            )
        if self.study.task is not None:
            raise HarnessError("--task and --tasks exclude each other, but both were given")
        if len(set(self.task_labels)) < len(self.tasks):
            raise HarnessError(f"--tasks must be distinct, but got {list(self.task_labels)}")
        fixed = self.design is None or len(self.design.looks) == 1  # --repeats R
        if not fixed:
            raise HarnessError(
                "--tasks runs a fixed number of repeats of every (task, sampler): give --repeats"
            )

    @property
    def task_labels(self) -> tuple[str, ...]:
        """Each task's name in its studies' names: a built-in's name, a task file's stem."""
        from harness.tasks.registry import task_label

        return tuple(task_label(t) for t in self.tasks)

    @property
    def design(self) -> Plan | None:
        """The pre-declared design this comparison runs; None for a single pair
        (``--repeats 1``), which no verdict can judge: it runs without one."""
        if self.plan is not None:
            return self.plan
        if self.repeats == 1:
            return None
        return Plan.fixed(self.repeats) if self.repeats is not None else Plan()

    @property
    def max_pairs(self) -> int:
        """The most pairs this comparison runs."""
        return self.design.max_pairs if self.design is not None else 1

    def study_for(self, sampler: str, repeat: int, task: str | None = None) -> StudyConfig:
        """Study ``RUN/<label>/r<repeat>`` (of ``task``, one of ``tasks``:
        ``RUN/<task>/<label>/r<repeat>``): repeat r seeds every sampler with r (paired)."""
        from harness.experiment.runs import study_name
        from harness.search.samplers import sampler_label

        label = None if task is None else self.task_labels[self.tasks.index(task)]
        name = study_name(self.run, sampler_label(sampler), repeat, label)
        study = replace(
            self.study, name=name, sampler=sampler, seed=repeat, runs_root=self.runs_root
        )
        return study if task is None else replace(study, task=task)

    def studies(self, pairs: int) -> list[StudyConfig]:
        """Every study of repeats 0 .. pairs - 1: each sampler's, of each task."""
        tasks: tuple[str | None, ...] = self.tasks or (None,)
        return [
            self.study_for(sampler, repeat, task)
            for repeat in range(pairs)
            for task in tasks
            for sampler in self.samplers
        ]


@dataclass(frozen=True)
class Preset:
    """A named set of defaults of ``harness run``; each can still be overridden."""

    name: str
    space: Path
    trials: int
    plan: Plan
    retrain_seeds: int
    bench_seeds: int
    reference_seeds: int
    time_budget_min: float | None = None  # minutes of pairs before the last look
    hint: str = ""  # what a reader must know about the preset's verdict
    samplers: tuple[str, ...] = field(default=DEFAULT_SAMPLERS)


PRESETS = {
    # The lab's protocol (30 TPE + 30 random trials) run until the verdict is decided: looks
    # after 5, 10, 15, 20, 30 pairs, stopping at the first decided one or after an hour of
    # pairs on 2 cores (3 pairs took 1,105 s there, docs/performance.md); re-running
    # continues the same design.
    "lab": Preset("lab", SPACES_DIR / "lab_mlp.toml", 30, Plan(), 5, 1, 3, time_budget_min=60),
    # The same protocol with 3 pairs and one look: a hint, not a verdict.
    "quick": Preset(
        "quick",
        SPACES_DIR / "lab_mlp.toml",
        30,
        Plan.fixed(3),
        3,
        1,
        1,
        hint="3 pairs can rarely decide anything: read the verdict as a hint",
    ),
    # A first look in about a minute: a data subset, a few epochs, no fixed models.
    "smoke": Preset(
        "smoke",
        SPACES_DIR / "smoke.toml",
        16,
        Plan.fixed(2),
        2,
        0,
        1,
        hint="the smoke preset checks the machinery; its verdict means nothing",
    ),
}
