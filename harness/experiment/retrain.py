"""Honest test numbers: each study's best configuration retrained with fresh seeds.

The search picks a configuration on validation with one training seed, so its own test score is
optimistic. Retraining it with K other seeds and scoring on test at the validation threshold
gives the number to report; results are cached in ``runs/RUN/retrain.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial

from harness.experiment.runs import RunStudy, read_records
from harness.numbers import json_safe

# Retraining seeds start far above any search seed (harness.search.study.train_seed is
# seed * 100_000 + trial number), so no retrain replays the lucky run the search selected.
RETRAIN_SEED_BASE = 10_000_000
RETRAIN_KEYS = ("seed", "status", "device", "val_auroc", "threshold", "test_auroc", "test_f1",
                "test_precision", "test_recall", "epochs", "seconds")  # fmt: skip


def retrain_params(run_study: RunStudy, trial: FrozenTrial) -> dict[str, Any]:
    """The best trial's full configuration: sampled values plus the ones its space fixed."""
    fixed = trial.user_attrs.get("fixed_params")
    if fixed is None:
        from harness.search.spaces import parse_space

        space = parse_space(run_study.study.user_attrs.get("space", ""), run_study.name)
        fixed = space.fixed_params
    return {**fixed, **trial.params}


def read_retrain(path: Path) -> dict[str, Any]:
    """The cached retrain document ({"records": [...]}); empty when absent."""
    return read_records(path) or {"records": []}


def cached_retrain(document: dict[str, Any], name: str, trial: int, k: int) -> dict | None:
    """The cache entry for (study, best trial) holding at least ``k`` seeds, if any."""
    for record in document["records"]:
        same = record.get("study") == name and record.get("trial") == trial
        if same and len(record.get("results", [])) >= k:
            return record
    return None


def retrain_best(
    studies: list[RunStudy],
    k: int,
    path: Path,
    pool: Callable[[], Any] | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Retrain each study's best configuration with seeds RETRAIN_SEED_BASE + 0..k-1.

    Results are cached in ``path`` (written after each study), so an interrupted retrain
    resumes and a finished one trains nothing. ``pool`` returns a harness.search.workers pool whose
    space is the studies' space (called only when there is something to train); without it,
    configurations train one after another in this process on ``device``.
    """
    from harness.search.workers import TrialJob

    document = read_retrain(path)
    for run_study in studies:
        trial = run_study.best_trial()
        if trial is None or cached_retrain(document, run_study.name, trial.number, k):
            continue
        params = retrain_params(run_study, trial)
        seeds = [RETRAIN_SEED_BASE + i for i in range(k)]
        jobs = [TrialJob(i, params, seed, "val_auroc") for i, seed in enumerate(seeds)]
        results = _run_jobs(jobs, pool() if pool else None, run_study, device)
        document["records"] = [r for r in document["records"] if r.get("study") != run_study.name]
        document["records"].append({
            "study": run_study.name, "sampler": run_study.sampler, "repeat": run_study.repeat,
            "trial": trial.number, "value": trial.value, "params": params, "results": results,
        })  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(json_safe(document), indent=2) + "\n")
    return document


def _run_jobs(jobs: list, pool: Any | None, run_study: RunStudy, device: str) -> list[dict]:
    records: dict[int, dict[str, Any]] = {}
    if pool is None:
        from harness.search.workers import TrialRunner

        space = run_study.study.user_attrs.get("space", "")
        runner = TrialRunner(space, run_study.name, device, threads=None)
        for job in jobs:
            records[job.number] = runner.run(job, None)
    else:
        pool.hook = lambda number, epoch, value: False  # retraining is never pruned
        queue, retried = list(jobs), set()
        while queue or pool.running():
            while queue and pool.free_slots():
                pool.submit(queue.pop(0))
            for outcome in pool.wait(timeout=0.5):
                number = outcome.job.number
                if outcome.lost is not None and number not in retried:
                    retried.add(number)  # a worker died: try once more
                    queue.append(outcome.job)
                    continue
                records[number] = outcome.record or {"status": "failed",
                                                     "fail_reason": outcome.lost}  # fmt: skip
    out = []
    for job in jobs:
        record = records[job.number]
        out.append({"seed": job.seed, **{key: record.get(key) for key in RETRAIN_KEYS[1:]}})
    return out
