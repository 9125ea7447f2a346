"""A run's layout: its studies ``RUN/<sampler label>/r<repeat>`` in the storage (a run of
several tasks: ``RUN/<task>/<sampler label>/r<repeat>``) and its folder.

``harness compare`` writes a run, ``harness report`` reads it; both find its studies here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from harness.choices import SAMPLERS
from harness.errors import HarnessError, first_line
from harness.paths import DEFAULT_RUNS_ROOT
from harness.search.config import STUDY_NAME_MAX
from harness.search.samplers import TITLES
from harness.search.storage import redact_message, redact_url

SAMPLER_TITLES = TITLES  # a user sampler's title is its label


RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# A run name is a file name twice: runs/RUN/ and reports/RUN.md with reports/RUN_figures/,
# and file systems allow 255 bytes a name (NAME_MAX); 200 leaves room for those suffixes.
# Its studies' names RUN/<sampler>/r<repeat> must also fit the storage's column
# (harness.search.config.STUDY_NAME_MAX), checked where the samplers are known.
RUN_NAME_MAX = 200


def check_run_name(run: str) -> str:
    """A run name becomes a folder (runs/RUN) and a study-name prefix: keep it plain."""
    if not run:
        raise HarnessError("--name must not be empty, but got ''")
    if len(run) > RUN_NAME_MAX:  # the name itself would be a page: its length
        raise HarnessError(
            f"--name must be at most {RUN_NAME_MAX} characters (it names the "
            f"folder runs/RUN and the file reports/RUN.md), but got one of "
            f"{len(run)}"
        )
    if not RUN_NAME.fullmatch(run):
        raise HarnessError(
            f"--name must be letters, digits, '.', '_' or '-' (starting with a "
            f"letter or digit), but got {run!r}"
        )
    return run


def study_name(run: str, sampler: str, repeat: int, task: str | None = None) -> str:
    """A run's study; ``task`` only in a run of several tasks (one task keeps today's names)."""
    return f"{run}/{sampler}/r{repeat}" if task is None else f"{run}/{task}/{sampler}/r{repeat}"


def check_study_names(run: str, labels: Sequence[str], last_repeat: int) -> None:
    """Every study of the run, up to its last repeat, fits the storage's study_name column."""
    for label in labels:
        name = study_name(run, label, last_repeat)
        if len(name) > STUDY_NAME_MAX:
            raise HarnessError(
                f"a study name RUN/<sampler>/r<repeat> must be at most "
                f"{STUDY_NAME_MAX} characters (the storage's study_name column), "
                f"but {name!r} has {len(name)}"
            )


def parse_study_name(run: str, name: str) -> tuple[str, int, str | None] | None:
    """(sampler, repeat, task or None) of a study of ``run``; None for any other study."""
    match = re.fullmatch(re.escape(run) + r"(?:/([A-Za-z0-9_-]+))?/([A-Za-z0-9_-]+)/r(\d+)", name)
    return (match.group(2), int(match.group(3)), match.group(1)) if match else None


def run_dir(run: str, root: str | Path = DEFAULT_RUNS_ROOT) -> Path:
    return Path(root) / run


@dataclass
class RunStudy:
    """One study of a run, loaded from the storage."""

    name: str
    sampler: str
    repeat: int
    study: optuna.Study
    trials: list[FrozenTrial] = field(repr=False, default_factory=list)
    task: str | None = None  # in a run of several tasks, the task of this study

    @property
    def maximize(self) -> bool:
        return self.study.direction == optuna.study.StudyDirection.MAXIMIZE

    @property
    def complete(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state == TrialState.COMPLETE and t.value is not None]

    def best_trial(self) -> FrozenTrial | None:
        done = self.complete
        if not done:
            return None
        pick = max if self.maximize else min
        return pick(done, key=lambda t: (t.value, -t.number))


def load_run_study(storage: optuna.storages.BaseStorage, run: str, name: str) -> RunStudy:
    """One study of a run by its name ``RUN/<sampler>/r<repeat>``."""
    parsed = parse_study_name(run, name)
    if parsed is None:
        raise HarnessError(f"{name!r} is not a study of run {run!r} (RUN/<sampler>/r<repeat>)")
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    return RunStudy(name, parsed[0], parsed[1], study, trials, parsed[2])


def find_run_studies(
    storage: optuna.storages.BaseStorage, run: str, url: str, task: str | None = None
) -> list[RunStudy]:
    """All studies named ``RUN/<sampler>/r<repeat>`` (with ``task``: those named
    ``RUN/<task>/<sampler>/r<repeat>``), by task, repeat, then sampler."""
    try:
        names = [s.study_name for s in storage.get_all_studies()]
    except Exception as err:
        message = redact_message(first_line(err), url)
        raise HarnessError(f"storage {redact_url(url)} cannot be read: {message}") from None
    found = []
    for name in names:
        parsed = parse_study_name(run, name)
        if parsed is None or (task is not None and parsed[2] != task):
            continue
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        found.append(RunStudy(name, parsed[0], parsed[1], study, trials, parsed[2]))
    if not found:
        others = sorted({n.split("/")[0] for n in names if "/" in n})
        hint = f"runs found there: {others}" if others else "it holds no run's studies"
        raise HarnessError(
            f"--name {run!r}: no studies named '{run}/<sampler>/r<repeat>' in "
            f"storage {redact_url(url)}; {hint}"
        )
    order: dict[str, int] = {name: index for index, name in enumerate(SAMPLERS)}
    return sorted(
        found,
        key=lambda s: (s.task or "", s.repeat, order.get(s.sampler, len(order)), s.sampler),
    )


def run_tasks(studies: Sequence[RunStudy]) -> list[str]:
    """The tasks of a run of several tasks, in order; [] for a run of one task."""
    return sorted({s.task for s in studies if s.task is not None})
