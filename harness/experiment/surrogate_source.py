"""The trials and seed records a surrogate is fitted from: every COMPLETE trial of a run's
studies (or of one study), checked to share one search space and objective, and the run's
retraining records for the seed-to-seed noise."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from harness.errors import HarnessError
from harness.experiment.run_files import read_run_file
from harness.experiment.runs import find_run_studies, run_dir
from harness.redaction import redact_url
from harness.surrogate.model import Noise


@dataclass
class SurrogateSource:
    """What ``harness surrogate fit --from`` found."""

    studies: list[str]
    trials: list[FrozenTrial]
    objective: str
    direction: str
    space_sha256: str | None
    noise: Noise
    run: str | None = None
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> trials

    def describe(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "studies": self.studies,
            "space_sha256": self.space_sha256,
            "left_out": self.left_out,
        }


def _studies(storage: optuna.storages.BaseStorage, source: str, url: str) -> tuple[list, bool]:
    names = {s.study_name for s in storage.get_all_studies()}
    if source in names:
        return [optuna.load_study(study_name=source, storage=storage)], False
    if not any(name.startswith(f"{source}/") for name in names):
        raise HarnessError(
            f"--from {source!r}: no study or run of that name in storage {redact_url(url)}"
        )
    return [s.study for s in find_run_studies(storage, source, url)], True


def _one(studies: list[optuna.Study], key: str, what: str) -> Any:
    values = {s.study_name: s.user_attrs.get(key) for s in studies}
    distinct = sorted({str(v) for v in values.values()})
    if len(distinct) > 1:
        first = next(n for n, v in values.items() if str(v) == distinct[0])
        other = next(n for n, v in values.items() if str(v) == distinct[1])
        raise HarnessError(
            f"studies {first!r} and {other!r} have different {what}: a surrogate models one "
            "task's objective over one space"
        )
    return next(iter(values.values()))


def _noise(folder: Path, studies: list[str], objective: str, noise_sd: float | None) -> Noise:
    if noise_sd is not None:
        return Noise(noise_sd, 0, 0, "given with --noise-sd")
    retrain = read_run_file(folder / "retrain.json")
    if retrain is None:
        raise HarnessError(
            f"{folder}/retrain.json is missing, so the seed-to-seed noise is unknown: retrain "
            "the run ('harness compare') or give it with --noise-sd"
        )
    groups = [
        [r[objective] for r in record["results"] if r.get("status") == "ok" and r.get(objective)]
        for record in retrain["records"]
        if record["study"] in studies
    ]
    return Noise.pooled(groups, f"{folder}/retrain.json ({objective} of each retrained seed)")


def surrogate_source(
    url: str, source: str, runs_root: str | Path, noise_sd: float | None = None
) -> SurrogateSource:
    """The COMPLETE trials of run or study ``source`` in storage ``url``, and their noise."""
    from harness.search.storage import open_existing_storage

    storage = open_existing_storage(url)
    studies, is_run = _studies(storage, source, url)
    objective = _one(studies, "objective", "objectives") or "value"
    space = _one(studies, "space_sha256", "search spaces (space_sha256)")
    directions = {s.direction for s in studies}
    if len(directions) > 1:
        raise HarnessError(f"--from {source!r}: its studies have different directions")
    trials: list[FrozenTrial] = []
    left_out: dict[str, int] = {}
    for study in studies:
        for trial in study.get_trials(deepcopy=False):
            if trial.state != TrialState.COMPLETE or trial.value is None:
                left_out[trial.state.name] = left_out.get(trial.state.name, 0) + 1
            else:
                trials.append(trial)
    names = [s.study_name for s in studies]
    folder = run_dir(source, runs_root) if is_run else Path(runs_root) / source.split("/")[0]
    direction = "maximize" if directions == {optuna.study.StudyDirection.MAXIMIZE} else "minimize"
    return SurrogateSource(
        names,
        trials,
        objective,
        direction,
        space,
        _noise(folder, names, objective, noise_sd),
        source if is_run else None,
        left_out,
    )
