"""What a run holds, read from the storage and the run folder, and the numbers derived from it.

The report's sections only format these: the final best values and the paired tests, the lab's
validation level (the importances are harness/report/importance.py's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.experiment.cache import read_reference
from harness.experiment.retrain import read_retrain
from harness.experiment.runs import (
    DEFAULT_RUNS_ROOT,
    SAMPLER_TITLES,
    SAMPLERS,
    RunStudy,
    find_run_studies,
    run_dir,
)
from harness.report.stats import finished
from harness.search.storage import open_existing_storage, redact_url

LAB_PRINTED_LEVEL = 0.9080  # NormalizingMLP's printed AUROC (LAB.md; a test-split number)
BOOTSTRAP: dict[str, Any] = {"resamples": 2000, "seed": 0, "confidence": 0.95}
METRICS = ("auroc", "f1", "precision", "recall")
OBJECTIVE_TITLES = {"val_auroc": "validation AUROC", "val_loss": "validation loss"}


@dataclass
class RunData:
    """A run as read from the storage and the run folder."""

    run: str
    url: str  # redacted
    studies: list[RunStudy]
    samplers: list[str]
    objective: str
    maximize: bool
    target: int
    bench: list[dict[str, Any]] | None = None
    retrain: dict[str, Any] | None = None
    reference: dict[str, Any] | None = None
    pool: list[dict[str, Any]] = field(default_factory=list)  # runs/RUN/pool.json sessions
    runs_root: Path = DEFAULT_RUNS_ROOT
    notes: list[str] = field(default_factory=list)

    def title(self, sampler: str) -> str:
        return SAMPLER_TITLES.get(sampler, sampler)

    @property
    def titles(self) -> dict[str, str]:
        return {s: self.title(s) for s in self.samplers}

    def of(self, sampler: str) -> list[RunStudy]:
        return [s for s in self.studies if s.sampler == sampler]

    @property
    def metric(self) -> str:
        return OBJECTIVE_TITLES.get(self.objective, self.objective)


def load_run(name: str, storage_url: str, runs_root: str | Path = DEFAULT_RUNS_ROOT) -> RunData:
    """Read the run's studies (HarnessError if there are none) and its cached results."""
    storage = open_existing_storage(storage_url)
    studies = find_run_studies(storage, name, storage_url)
    order: dict[str, int] = {sampler: index for index, sampler in enumerate(SAMPLERS)}
    samplers = sorted({s.sampler for s in studies}, key=lambda s: (order.get(s, len(order)), s))
    objectives = {s.study.user_attrs.get("objective", "val_auroc") for s in studies}
    directions = {s.maximize for s in studies}
    if len(objectives) > 1 or len(directions) > 1:
        raise HarnessError(
            f"--name {name!r}: all studies of a run must share one objective, "
            f"but found {sorted(objectives)}"
        )
    # Every comparison uses the same number of trials for all studies: the fewest finished
    # (COMPLETE or PRUNED, as the curves count them and as the driver counts its target).
    targets = {int(s.study.user_attrs.get("target_trials", 0)) for s in studies}
    done = {s.name: len(finished(s.trials)) for s in studies}
    target = max(1, min(done.values()))
    data = RunData(
        name,
        redact_url(storage_url),
        studies,
        samplers,
        objectives.pop(),
        directions.pop(),
        target,
        runs_root=Path(runs_root),
    )
    if targets - {target}:
        short = sorted(n for n, count in done.items() if count == target)
        data.notes.append(
            f"Studies were asked for {' or '.join(map(str, sorted(targets)))} "
            f"trials; every comparison uses the first {target} finished trials "
            f"of each study, the fewest any study has ({', '.join(short)})."
        )
    folder = run_dir(name, runs_root)
    bench_path = folder / "bench.json"
    if bench_path.is_file():
        try:
            data.bench = json.loads(bench_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise HarnessError(
                f"{bench_path}: must be JSON from 'harness bench models', but "
                f"it cannot be read ({err})"
            ) from None
    retrain = read_retrain(folder / "retrain.json")
    data.retrain = retrain if retrain["records"] else None
    data.reference = read_reference(folder / "reference.json")
    try:
        data.pool = json.loads((folder / "pool.json").read_text())
    except (OSError, ValueError):  # absent (a run before pools were measured) or unreadable
        data.pool = []
    return data


# ---------------------------------------------------------------- numbers


def shared_start(data: RunData, first: str, other: str) -> list[int]:
    """Per common repeat: how many leading trials of the two studies had the same params.

    TPE's start-up trials come from a random sampler seeded like the random sampler of the
    same repeat, so the pair shares them (common random numbers): only the later trials differ.
    """
    studies = {(s.sampler, s.repeat): s for s in data.studies}
    counts = []
    for repeat in sorted({s.repeat for s in data.of(first)} & {s.repeat for s in data.of(other)}):
        a = sorted(studies[(first, repeat)].trials, key=lambda t: t.number)
        b = sorted(studies[(other, repeat)].trials, key=lambda t: t.number)
        same = 0
        for ta, tb in zip(a, b, strict=False):
            if ta.params != tb.params or not ta.params:
                break
            same += 1
        counts.append(same)
    return counts


def lab_level(data: RunData) -> tuple[float, str]:
    """The lab's best validation level (NormalizingMLP) and where the number comes from."""
    values = [r.get("val_auroc") for r in data.bench or [] if r.get("recipe") == "normalizing_mlp"]
    numbers = [v for v in values if isinstance(v, int | float)]
    if numbers:
        return float(np.mean(numbers)), (
            f"NormalizingMLP's validation AUROC in this run's "
            f"bench.json, mean over {len(numbers)} seed(s)"
        )
    return LAB_PRINTED_LEVEL, (
        "the lab's printed NormalizingMLP AUROC 0.9080, a fallback: no "
        "bench.json with normalizing_mlp for this run, and the printed "
        "number is a test-split AUROC"
    )
