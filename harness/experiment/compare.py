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
from harness.experiment.retrain import retrain_best
from harness.experiment.runs import find_run_studies, run_dir
from harness.search.config import StudyConfig

# ---------------------------------------------------------------- the compare run


class _Workers:
    """One pool of workers for all of a run's studies and retraining, started on first use
    (a finished run starts none)."""

    def __init__(self, config: StudyConfig, space: Any) -> None:
        self.config, self.space, self.pool = config, space, None

    def get(self) -> Any:
        from harness.search.workers import LocalPool, RayPool

        if self.pool is None:
            config, space = self.config, self.space
            if config.executor == "local":
                self.pool = LocalPool(space.text, space.source, config.device, _never_stop)
            else:
                self.pool = RayPool(space.text, space.source, _never_stop, config.cpu_workers,
                                    config.gpu_workers, config.address)  # fmt: skip
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None


def _never_stop(number: int, epoch: int, value: float) -> bool:
    return False


def run_compare(config: CompareConfig, log: Any = print) -> Path:
    """Run (or resume) every study, retrain each best, fit the references; return the run dir."""
    from harness.search.spaces import load_space
    from harness.search.storage import DEFAULT_STORAGE, open_storage
    from harness.search.study import run_study

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
    workers = _Workers(config.study, space)
    try:
        for repeat in range(config.repeats):
            for sampler in config.samplers:
                study = config.study_for(sampler, repeat)
                if _complete_count(storage, study.name) >= study.trials:
                    log(f"{study.name}: {study.trials} trials already complete, skipped")
                    continue
                run_study(study, pool=workers.get())
        studies = [s for s in find_run_studies(storage, config.run, url)
                   if s.sampler in config.samplers and s.repeat < config.repeats]  # fmt: skip
        log(f"retraining each best configuration with {config.retrain_seeds} seeds (cached "
            f"in {directory / 'retrain.json'})")  # fmt: skip
        retrain_best(studies, config.retrain_seeds, directory / "retrain.json", workers.get,
                     config.study.device)  # fmt: skip
    finally:
        workers.close()
    if config.bench_seeds:
        log(f"training the lab's fixed models with {config.bench_seeds} seed(s)")
        ensure_bench(directory / "bench.json", config.bench_seeds, config.study.device)
    if config.reference_seeds:
        log(f"fitting the gradient-boosting reference with {config.reference_seeds} seed(s)")
        ensure_reference(directory / "reference.json", _space_splits(space),
                         list(range(config.reference_seeds)))  # fmt: skip
    return directory


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
