"""``harness compare``: paired repeats of samplers, then honest test numbers for each best.

Repeat ``r`` runs one study per sampler, all seeded with ``r`` and named ``RUN/<sampler>/r<r>``
(repeats interleaved, so a stopped run still holds complete pairs). Re-running the command
skips finished studies and resumes unfinished ones. Each study's best configuration is then
retrained with K fresh training seeds and scored on test at its validation threshold; the
results, the lab's fixed models and a gradient-boosting reference are cached under
``runs/<RUN>/`` so that ``harness report`` is cheap and reproducible.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from harness.cli.options import (
    add_search_options,
    add_storage_option,
    add_worker_options,
    non_negative_int,
    positive_int,
)
from harness.errors import HarnessError
from harness.experiment.cache import ensure_bench, ensure_reference
from harness.experiment.retrain import retrain_best
from harness.experiment.runs import (
    DEFAULT_RUNS_ROOT,
    SAMPLERS,
    check_run_name,
    find_run_studies,
    run_dir,
    study_name,
)


@dataclass(frozen=True)
class CompareConfig:
    """Everything ``harness compare`` does; the CLI's options map one to one."""

    run: str
    trials: int = 30
    repeats: int = 10
    samplers: tuple[str, ...] = SAMPLERS
    space_path: str | Path | None = None
    storage: str | None = None
    objective: str = "val_auroc"
    pruner: str = "none"
    executor: str = "ray"
    cpu_workers: int | None = None
    gpu_workers: int | None = None
    address: str | None = None
    device: str = "auto"
    retrain_seeds: int = 5
    bench_seeds: int = 3
    reference_seeds: int = 3
    runs_root: str | Path = DEFAULT_RUNS_ROOT
    show_progress: bool = True

    def __post_init__(self) -> None:
        check_run_name(self.run)
        bad = [s for s in self.samplers if s not in SAMPLERS]
        if bad or not self.samplers or len(set(self.samplers)) != len(self.samplers):
            raise HarnessError(f"--samplers must be distinct values from {list(SAMPLERS)}, but "
                               f"got {list(self.samplers)}")  # fmt: skip
        for key in ("trials", "repeats"):
            if getattr(self, key) < 1:
                raise HarnessError(f"--{key} >= 1 must hold, but got {getattr(self, key)}")


# ---------------------------------------------------------------- the compare run


class _Workers:
    """One pool of workers for all of a run's studies and retraining, started on first use
    (a finished run starts none)."""

    def __init__(self, config: CompareConfig, space: Any) -> None:
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
    from harness.search.spaces import DEFAULT_SPACE, load_space
    from harness.search.storage import DEFAULT_STORAGE, open_storage
    from harness.search.study import StudyConfig, run_study

    url = config.storage or DEFAULT_STORAGE
    space = load_space(config.space_path or DEFAULT_SPACE)
    directory = run_dir(config.run, config.runs_root)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ".write-check").touch()
        (directory / ".write-check").unlink()
    except OSError as err:
        raise HarnessError(f"cannot write the run folder {directory}: {err.strerror}") from None
    storage = open_storage(url)
    workers = _Workers(config, space)
    try:
        for repeat in range(config.repeats):
            for sampler in config.samplers:
                name = study_name(config.run, sampler, repeat)
                if _complete_count(storage, name) >= config.trials:
                    log(f"{name}: {config.trials} trials already complete, skipped")
                    continue
                study_config = StudyConfig(
                    name=name, sampler=sampler, trials=config.trials,
                    space_path=space.source, storage=url, seed=repeat,
                    objective=config.objective, pruner=config.pruner,
                    executor=config.executor, cpu_workers=config.cpu_workers,
                    gpu_workers=config.gpu_workers, address=config.address,
                    show_progress=config.show_progress, device=config.device,
                )  # fmt: skip
                run_study(study_config, pool=workers.get())
        studies = [s for s in find_run_studies(storage, config.run, url)
                   if s.sampler in config.samplers and s.repeat < config.repeats]  # fmt: skip
        log(f"retraining each best configuration with {config.retrain_seeds} seeds (cached "
            f"in {directory / 'retrain.json'})")  # fmt: skip
        retrain_best(studies, config.retrain_seeds, directory / "retrain.json", workers.get,
                     config.device)  # fmt: skip
    finally:
        workers.close()
    if config.bench_seeds:
        log(f"training the lab's fixed models with {config.bench_seeds} seed(s)")
        ensure_bench(directory / "bench.json", config.bench_seeds, config.device)
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


# ---------------------------------------------------------------- command line


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``compare`` to the CLI's subparsers; returns the new parser."""
    parser = subparsers.add_parser(
        "compare", help="paired repeats of TPE and random search, with honest test numbers",
        description="Run R paired repeats (repeat r seeds every sampler with r) as studies "
                    "RUN/<sampler>/r<r>; resumable. Then retrain each study's best "
                    "configuration with K seeds, train the lab's fixed models and a "
                    "gradient-boosting reference, all cached under runs/RUN/ for "
                    "'harness report'.",
    )  # fmt: skip
    parser.add_argument("--name", required=True, metavar="RUN", help="name of the run")
    parser.add_argument("--trials", type=positive_int, default=30,
                        help="finished (COMPLETE or PRUNED) trials per study "
                             "(default: 30)")  # fmt: skip
    parser.add_argument("--repeats", type=positive_int, default=10,
                        help="paired repeats; 6 or more are needed for the two-sided Wilcoxon "
                             "test to be able to reach p < 0.05 (default: 10)")  # fmt: skip
    parser.add_argument("--samplers", nargs="+", choices=SAMPLERS, default=list(SAMPLERS),
                        help="samplers to compare (default: tpe random)")  # fmt: skip
    parser.add_argument(
        "--space",
        metavar="FILE",
        default=None,
        help="search space file (default: search_spaces/lab_mlp.toml)",
    )
    add_storage_option(parser)
    add_search_options(parser)
    parser.add_argument(
        "--retrain-seeds",
        type=positive_int,
        default=5,
        metavar="K",
        help="training seeds for each best configuration (default: 5)",
    )
    parser.add_argument(
        "--bench-seeds",
        type=non_negative_int,
        default=3,
        metavar="K",
        help="seeds of the lab's fixed models; 0 skips them (default: 3)",
    )
    parser.add_argument("--reference-seeds", type=non_negative_int, default=3, metavar="K",
                        help="seeds of the gradient-boosting reference; 0 skips it "
                             "(default: 3)")  # fmt: skip
    parser.add_argument(
        "--runs-dir",
        default=str(DEFAULT_RUNS_ROOT),
        metavar="DIR",
        help="where run results are cached (default: runs)",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="device of the local executor and the lab models (default: auto)",
    )
    add_worker_options(parser)
    return parser


def main(args: argparse.Namespace) -> None:
    config = CompareConfig(
        run=args.name, trials=args.trials, repeats=args.repeats, samplers=tuple(args.samplers),
        space_path=args.space, storage=args.storage, objective=args.objective,
        pruner=args.pruner, executor=args.executor, cpu_workers=args.cpu_workers,
        gpu_workers=args.gpu_workers, address=args.address, device=args.device,
        retrain_seeds=args.retrain_seeds, bench_seeds=args.bench_seeds,
        reference_seeds=args.reference_seeds, runs_root=args.runs_dir,
    )  # fmt: skip
    directory = run_compare(config, log=lambda text: print(text, file=sys.stderr))
    print(
        f"run {config.run!r} done; results in {directory}; next: harness report --name "
        f"{config.run}" + (f" --storage '{args.storage}'" if args.storage else "")
    )
