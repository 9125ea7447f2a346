"""``harness compare``: paired repeats of samplers until the pre-declared verdict is decided.

Repeat ``r`` runs one study per sampler, all seeded with ``r`` and named ``RUN/<sampler>/r<r>``.
Each study's best configuration is retrained with K fresh training seeds and scored on test
at its validation threshold (the primary outcome, ``harness.experiment.verdict``). Pairs are
added in batches up to the design's next look; after each batch the verdict is judged at that
look's level (recorded in ``plan.json``) and the run stops once it is decided, at the design's
last look, or when a cautious estimate of a pair's time no longer fits in the time budget
(then the pairs in hand get a last look).
Re-running the command skips finished studies, resumes unfinished ones and continues the
design. The results, the lab's fixed models and a gradient-boosting reference are cached under
``runs/<RUN>/`` so that ``harness report`` is cheap and reproducible.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import optuna

from harness.experiment.cache import ensure_bench, ensure_reference
from harness.experiment.config import PAIR_TIME_SAFETY, CompareConfig
from harness.experiment.design import Design, declare, record_look
from harness.experiment.retrain import (
    RetrainCache,
    primary_pairs,
    read_retrain,
    retrain_source,
    write_atomically,
)
from harness.experiment.runs import load_run_study, run_dir
from harness.experiment.verdict import MIN_PAIRS, Plan, judge
from harness.paths import writable_folder
from harness.search.scheduler import Usage
from harness.tasks.spec import ADULT

# ---------------------------------------------------------------- the compare run


def run_compare(config: CompareConfig, log: Any = print) -> Path:
    """Run (or resume) every study, retrain each best, fit the references; return the run dir.

    Every study of every repeat runs at once on one pool, each with ``config.study.concurrency``
    trials in flight (default 1: a study's trials run in order, so its results are the same for
    any number of workers); a free worker takes the next trial of the study furthest behind, and
    a study's retraining enters the queue as soon as the study is done."""
    from harness.search.storage import open_storage, storage_url
    from harness.search.task_space import load_task_space

    url = storage_url(config.study.storage)
    root = config.runs_root
    spaces = [
        load_task_space(t, config.study.space_path, root)
        for t in config.tasks or (config.study.task,)
    ]
    space = spaces[0]  # the pool starts with the first task's data; a job carries its own
    # the storage first: one that cannot be opened must not leave an empty runs/RUN/ behind
    storage = open_storage(url)
    directory = run_dir(config.run, config.runs_root)
    writable_folder(directory, f"the run folder {directory}")
    if len(config.samplers) < 2 or config.design is None or config.tasks:
        # nothing to judge, or several tasks (judged across tasks by the report): the pairs
        _run_batch(config, space, storage, directory, config.max_pairs, log)
    else:
        _run_looks(config, config.design, space, storage, directory, log)
    # the lab's models and reference are Adult's (a problem task has no data)
    adult = [s for s in spaces if s.data.source == ADULT and s.task and s.task.problem is None]
    if not adult and (config.bench_seeds or config.reference_seeds):
        log("the lab's fixed models and reference are the adult task's: skipped")
    if adult:
        space = adult[0]
    if config.bench_seeds and adult:
        log(f"training the lab's fixed models with {config.bench_seeds} seed(s)")
        ensure_bench(directory / "bench.json", config.bench_seeds, config.study.device)
    if config.reference_seeds and adult:
        log(f"fitting the gradient-boosting reference with {config.reference_seeds} seed(s)")
        ensure_reference(
            directory / "reference.json", _space_splits(space), list(range(config.reference_seeds))
        )
    return directory


def _run_looks(
    config: CompareConfig, asked: Plan, space: Any, storage: Any, directory: Path, log: Any
) -> None:
    """Batches of pairs up to each look of the design, judged as they come (module docstring)."""
    path = directory / "plan.json"
    from harness.search.samplers import sampler_label

    pair = (sampler_label(config.samplers[0]), sampler_label(config.samplers[1]))
    design = declare(path, asked, pair, config.retrain_seeds, log)
    plan, budget = design.plan, config.time_budget_s
    log(
        f"design: {plan.describe()}; primary outcome {' - '.join(pair)} in "
        f"{_primary_words(space, config.retrain_seeds)}"
        + (f"; time budget {budget / 60:g} min of pairs" if budget else "")
    )
    clock = PairClock(budget)
    while design.decided is None:
        target = plan.next_look(design.last_look)
        if target is None:
            log(f"the design's last look ({plan.max_pairs} pairs) is taken: stopping")
            break
        have = len(_pairs(directory, pair))
        room = clock.room()
        cut = room is not None and have + room < target
        if cut:
            target = have + room  # type: ignore[operator]
        if target <= design.last_look:
            log(
                f"time budget of {budget / 60:g} min used (a pair may take "  # type: ignore[operator]
                f"{clock.cautious / 60:.1f} min, {PAIR_TIME_SAFETY:g} x the slowest so far): "
                f"stopping at {design.last_look} pairs; run the same command again to "
                "continue the design"
            )
            break
        log(
            f"pairs {have + 1}-{target}: running"
            if target > have
            else f"pairs 1-{target}: complete"
        )
        clock.start()
        _run_batch(config, space, storage, directory, target, log)
        pairs = _pairs(directory, pair)
        clock.stop(len(pairs) - have)
        reason = _no_look(len(pairs), design.last_look)
        if reason is not None:
            log(reason)
            break
        _look(path, design, pairs, log)
        if cut:
            log(
                f"time budget of {budget / 60:g} min reached: stopping at {len(pairs)} pairs; "  # type: ignore[operator]
                "run the same command again to continue the design"
            )
            break
    if design.decided is not None:
        log(
            f"verdict decided at {design.decided.pairs} pairs: "
            f"{design.decided.outcome.replace('_', ' ')}"
        )


class PairClock:
    """The time budget of pairs: a pair is started only when a cautious estimate of its time
    fits in what is left. The estimate is PAIR_TIME_SAFETY times the slowest seconds per pair
    of any batch so far (a batch's pairs run at once, so its seconds per pair is its wall time
    over its new pairs): on shared machines a pair's time doubled with the load (6.7 to 13.6
    min in the run issue 17 reports), and a budget must hold through that."""

    def __init__(self, budget_s: float | None) -> None:
        self.budget_s, self.began = budget_s, time.monotonic()
        self.per_pair: list[float] = []
        self._batch = self.began

    @property
    def cautious(self) -> float:
        return PAIR_TIME_SAFETY * max(self.per_pair)

    def room(self) -> int | None:
        """Pairs that still fit; None with no budget or before any pair was timed."""
        if self.budget_s is None or not self.per_pair:
            return None
        left = self.budget_s - (time.monotonic() - self.began)
        return max(math.floor(left / self.cautious), 0)

    def start(self) -> None:
        self._batch = time.monotonic()

    def stop(self, new_pairs: int) -> None:
        if new_pairs > 0:
            self.per_pair.append((time.monotonic() - self._batch) / new_pairs)


def _no_look(pairs: int, last_look: int) -> str | None:
    """Why a batch's pairs get no look, if they do not."""
    if pairs <= last_look:
        return f"no new complete pair (have {pairs}); stopping"
    if pairs < MIN_PAIRS:
        return f"{pairs} pair: a verdict needs at least {MIN_PAIRS}; stopping"
    return None


def _pairs(directory: Path, pair: tuple[str, str]) -> list[tuple[int, float, float]]:
    return primary_pairs(read_retrain(directory / "retrain.json"), pair)


def _look(path: Path, design: Design, pairs: list[tuple[int, float, float]], log: Any) -> None:
    """Judge the first ``len(pairs)`` pairs at the level the design gives this look."""
    n = len(pairs)
    level = design.level_at(n)
    look = judge([a - b for _, a, b in pairs], level, design.plan.margin)
    record_look(path, design, look)
    a, b = design.pair
    log(
        f"look at {n} pairs (level {level:.4f}, {design.spent:.4f} of {design.plan.alpha} "
        f"spent): {a} - {b} = {look.mean.estimate:+.5f} [{look.mean.low:+.5f}, "
        f"{look.mean.high:+.5f}] ({100 * look.mean.level:.1f}% CI) -> "
        f"{look.outcome.replace('_', ' ')}"
    )


def _run_batch(
    config: CompareConfig, space: Any, storage: Any, directory: Path, pairs: int, log: Any
) -> None:
    usage = _run_studies(config, space, storage, directory, pairs, log)
    if usage is not None and config.study.simulate_workers:
        # the simulated pool's jobs end when told, not when a worker finishes them: no
        # utilization to measure (each study's time is its own simulated clock)
        log(f"{usage.jobs} jobs on simulated workers ({config.study.simulate_workers} a study)")
    elif usage is not None:
        log(usage.line())
        _record_usage(directory, usage)


def _run_studies(
    config: CompareConfig, space: Any, storage: Any, directory: Path, pairs: int, log: Any
) -> Usage | None:
    """The studies of repeats 0 .. pairs - 1 and their retraining on one scheduler; None when
    nothing was left to run."""
    from harness.search.driver import open_study
    from harness.search.study import run_studies

    cache = RetrainCache(directory / "retrain.json")
    _surrogates_first(config, storage, pairs, log)
    studies, retraining = [], []
    for study in config.studies(pairs):
        if _finished_count(storage, study.name) >= study.trials:
            retraining.append(study.name)
        else:
            studies.append(study)
    if retraining:
        log(f"{len(retraining)} studies already have their trials: kept as they are")

    def retrain_for(name: str) -> list[Any]:
        source = retrain_source(
            load_run_study(storage, config.run, name), config.retrain_seeds, cache
        )
        return [] if source is None else [source]

    pending = [source for name in retraining for source in retrain_for(name)]
    if not studies and not pending:
        return None
    log(
        f"{len(studies)} studies to run at once, each best retrained with "
        f"{config.retrain_seeds} seeds as soon as its study is done (cached in "
        f"{directory / 'retrain.json'})"
    )
    drivers = [open_study(study) for study in studies]
    return run_studies(config.study, space, drivers, others=pending, follow_up=retrain_for)


def _surrogates_first(config: CompareConfig, storage: Any, pairs: int, log: Any) -> None:
    """A run of surrogate tasks runs its studies on every core first (their time is the
    samplers' own, in the driver: harness.experiment.staged_runs); the retraining follows."""
    from harness.experiment.staged_runs import processes_for, run_in_processes, surrogate_studies

    todo = [s for s in config.studies(pairs) if _finished_count(storage, s.name) < s.trials]
    if len(todo) > 1 and surrogate_studies(todo):
        processes = processes_for(todo, config.study.cpu_workers)
        if processes > 1:
            run_in_processes(todo, processes, log)


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


def _primary_words(space: Any, seeds: int) -> str:
    """What the verdict compares, in words: "retrained test AUROC (5 seeds)"."""
    task = getattr(space, "task", None)  # (a test's fake run has no space)
    if task is None or task.problem is None:
        title = task.metrics.title if task is not None else "AUROC"
        return f"retrained test {title} ({seeds} seeds)"
    from harness.tasks.problem import PRIMARY_SOURCES, load_problem, primary_source

    source = primary_source(load_problem(task.problem))
    words = PRIMARY_SOURCES[source].replace("K fresh", f"{seeds} fresh")
    return f"the problem's value of the chosen configuration {words}"


def _space_splits(space: Any) -> Any:
    from harness.tasks.tabular import load_task_splits

    return load_task_splits(space.data)


def _finished_count(storage: optuna.storages.BaseStorage, name: str) -> int:
    from harness.search.driver import finished_count

    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return 0
    return finished_count(study)
