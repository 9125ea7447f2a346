"""``harness compare``: paired repeats of samplers, then honest test numbers for each best.

Repeat ``r`` runs one study per sampler, all seeded with ``r`` and named ``RUN/<sampler>/r<r>``
(repeats interleaved, so a stopped run still holds complete pairs). Re-running the command
skips finished studies and resumes unfinished ones. Each study's best configuration is then
retrained with K fresh training seeds and scored on test at its validation threshold; the
results, the lab's fixed models and a gradient-boosting reference are cached under
``runs/<RUN>/`` so that ``harness report`` is cheap and reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from harness.errors import HarnessError
from harness.experiment.cache import ensure_bench, ensure_reference
from harness.experiment.config import CompareConfig
from harness.experiment.retrain import RetrainCache, retrain_source, write_atomically
from harness.experiment.runs import load_run_study, run_dir
from harness.search.scheduler import Usage

# ---------------------------------------------------------------- the compare run


def run_compare(config: CompareConfig, log: Any = print) -> Path:
    """Run (or resume) every study, retrain each best, fit the references; return the run dir.

    Every study of every repeat runs at once on one pool, each with ``config.study.concurrency``
    trials in flight (default 1: a study's trials run in order, so its results are the same for
    any number of workers); a free worker takes the next trial of the study furthest behind, and
    a study's retraining enters the queue as soon as the study is done."""
    from harness.search.spaces import load_space
    from harness.search.storage import DEFAULT_STORAGE, open_storage

    url = config.study.storage or DEFAULT_STORAGE
    space = load_space(config.study.space_path)
    directory = run_dir(config.run, config.runs_root)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ".write-check").touch()
        (directory / ".write-check").unlink()
    except OSError as err:
        raise HarnessError(f"cannot write the run folder {directory}: {err.strerror}") from None
    storage = open_storage(url)
    usage = _run_studies(config, space, storage, directory, log)
    if usage is not None:
        log(usage.line())
        _record_usage(directory, usage)
    if config.bench_seeds:
        log(f"training the lab's fixed models with {config.bench_seeds} seed(s)")
        ensure_bench(directory / "bench.json", config.bench_seeds, config.study.device)
    if config.reference_seeds:
        log(f"fitting the gradient-boosting reference with {config.reference_seeds} seed(s)")
        ensure_reference(directory / "reference.json", _space_splits(space),
                         list(range(config.reference_seeds)))  # fmt: skip
    return directory


def _run_studies(config: CompareConfig, space: Any, storage: Any, directory: Path,
                 log: Any) -> Usage | None:  # fmt: skip
    """Every study and its retraining on one scheduler; None when nothing was left to run."""
    from harness.search.study import open_study, run_studies

    cache = RetrainCache(directory / "retrain.json")
    studies, retraining = [], []
    for repeat in range(config.repeats):
        for sampler in config.samplers:
            study = config.study_for(sampler, repeat)
            if _complete_count(storage, study.name) >= study.trials:
                log(f"{study.name}: {study.trials} trials already complete, skipped")
                retraining.append(study.name)
            else:
                studies.append(study)

    def retrain_for(name: str) -> list[Any]:
        source = retrain_source(load_run_study(storage, config.run, name),
                                config.retrain_seeds, cache)  # fmt: skip
        return [] if source is None else [source]

    pending = [source for name in retraining for source in retrain_for(name)]
    if not studies and not pending:
        return None
    log(f"{len(studies)} studies to run at once, each best retrained with "
        f"{config.retrain_seeds} seeds as soon as its study is done (cached in "
        f"{directory / 'retrain.json'})")  # fmt: skip
    drivers = [open_study(study) for study in studies]
    return run_studies(config.study, space, drivers, others=pending, follow_up=retrain_for)


def _record_usage(directory: Path, usage: Usage) -> None:
    """The pool's utilization and wall time of this session, appended to ``pool.json``."""
    import json

    path = directory / "pool.json"
    try:
        sessions = json.loads(path.read_text()) if path.is_file() else []
    except (OSError, ValueError):
        sessions = []
    if not isinstance(sessions, list):
        sessions = []
    write_atomically(path, json.dumps([*sessions, usage.as_dict()], indent=2) + "\n")


def _space_splits(space: Any) -> Any:
    from harness.lab.data import load_splits

    splits = load_splits(variant=space.variant)
    return splits.subset(space.train_rows) if space.train_rows else splits


def _complete_count(storage: optuna.storages.BaseStorage, name: str) -> int:
    from harness.search.study import finished_count

    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return 0
    return finished_count(study)
