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
from harness.paths import DEFAULT_RUNS_ROOT, SPACES_DIR
from harness.search.config import StudyConfig

# name, sampler and seed are set per study; everything else is shared by all of them. One
# trial per study in flight: a study's trials run in order (TPE sees every earlier result),
# so a comparison's results do not depend on the number of workers.
STUDY_TEMPLATE = StudyConfig(name="RUN/<sampler>/r<repeat>", sampler="tpe", concurrency=1)


@dataclass(frozen=True)
class CompareConfig:
    """Everything ``harness compare`` does: ``repeats`` paired repeats of ``samplers``."""

    run: str
    study: StudyConfig = STUDY_TEMPLATE
    repeats: int = 10
    samplers: tuple[str, ...] = DEFAULT_SAMPLERS  # built-in names or "module:Class[:json]"
    retrain_seeds: int = 5  # training seeds of each study's best configuration, on test
    bench_seeds: int = 3  # seeds of the lab's fixed models (0 skips them)
    reference_seeds: int = 3  # seeds of the gradient-boosting reference (0 skips it)
    runs_root: str | Path = DEFAULT_RUNS_ROOT

    def __post_init__(self) -> None:
        from harness.experiment.runs import check_run_name  # (runs.py imports Optuna)

        check_run_name(self.run)
        from harness.search.samplers import check_distinct, check_sampler

        for spec in self.samplers:
            check_sampler(spec)
        check_distinct(self.samplers)
        if self.repeats < 1:
            raise HarnessError(f"--repeats >= 1 must hold, but got {self.repeats}")

    def study_for(self, sampler: str, repeat: int) -> StudyConfig:
        """Study ``RUN/<label>/r<repeat>``: repeat r seeds every sampler with r (paired)."""
        from harness.experiment.runs import study_name
        from harness.search.samplers import sampler_label

        name = study_name(self.run, sampler_label(sampler), repeat)
        return replace(self.study, name=name, sampler=sampler, seed=repeat)


@dataclass(frozen=True)
class Preset:
    """A named set of defaults of ``harness run``; each can still be overridden."""

    name: str
    space: Path
    trials: int
    repeats: int
    retrain_seeds: int
    bench_seeds: int
    reference_seeds: int
    samplers: tuple[str, ...] = field(default=DEFAULT_SAMPLERS)


PRESETS = {
    # The lab's protocol: 30 TPE + 30 random trials, 3 paired repeats on 2 cores in about an
    # hour; more repeats give the Wilcoxon test power (6 pairs are needed for p < 0.05).
    "lab": Preset("lab", SPACES_DIR / "lab_mlp.toml", 30, 3, 5, 1, 3),
    # A first look in about a minute: a data subset, a few epochs, no fixed models.
    "smoke": Preset("smoke", SPACES_DIR / "smoke.toml", 16, 2, 2, 0, 1),
}
