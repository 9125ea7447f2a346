"""What a run holds, read from the storage and the run folder, and the numbers derived from it.

The report's sections only format these: the final best values and the paired tests, the lab's
validation level (the importances are harness/report/importance.py's).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.experiment.cache import read_reference
from harness.experiment.design import read_design
from harness.experiment.retrain import read_retrain
from harness.experiment.run_files import read_run_file
from harness.experiment.runs import (
    DEFAULT_RUNS_ROOT,
    SAMPLER_TITLES,
    SAMPLERS,
    RunStudy,
    find_run_studies,
    run_dir,
    run_tasks,
)
from harness.report.markdown import shown_path
from harness.report.stats import finished
from harness.search.storage import open_existing_storage, redact_url

LAB_PRINTED_LEVEL = 0.9080  # NormalizingMLP's printed AUROC (LAB.md; a test-split number)
METRICS = ("auroc", "f1", "precision", "recall")
# the retrained test metrics a report shows per task kind: (record key after "test_", title)
TEST_METRICS = {
    "binary": (
        ("auroc", "test AUROC"),
        ("f1", "F1"),
        ("precision", "precision"),
        ("recall", "recall"),
    ),
    "multiclass": (("log_loss", "test log-loss"),),
    "regression": (("rmse", "test RMSE"),),
    "problem": (("value", "objective value"),),  # a problem task's (harness.tasks.problem)
}
OBJECTIVE_TITLES = {
    "val_auroc": "validation AUROC",
    "val_loss": "validation loss",
    "val_log_loss": "validation log-loss",
    "val_rmse": "validation RMSE",
    "value": "value",
}


@dataclass
class RunData:
    """A run as read from the storage and the run folder."""

    run: str
    url: str  # as a report shows it (shown_storage): no password, no machine path
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
    # studies with no COMPLETE trial, left out of every comparison: "NAME (3 FAIL; e.g. ...)"
    left_out: list[str] = field(default_factory=list)
    task: str = "adult"  # the task its studies searched (a study before tasks: Adult)
    kind: str = "binary"
    # a problem task's: where its primary outcome comes from (harness.tasks.problem)
    primary_source: str | None = None

    @property
    def problem(self) -> bool:
        """A problem task (a user's class or a surrogate): no training, no test split."""
        return self.kind == "problem"

    def primary_words(self, seeds: str) -> str:
        """How a study's primary outcome is made: "retrained with 5 seeds" (a tabular task) or
        the problem's way (re-evaluated, its true value, or the chosen trial's value)."""
        if not self.problem:
            return f"retrained with {seeds}"
        from harness.tasks.problem import PRIMARY_SOURCES

        words = PRIMARY_SOURCES.get(self.primary_source or "", "re-evaluated")
        return words.replace("K fresh seeds", seeds)

    @property
    def lab_task(self) -> bool:
        """The lab's own task: the lab's fixed models and reference apply."""
        return self.task == "adult"

    @property
    def primary_title(self) -> str:
        """The primary outcome's name: a minimised metric enters the verdict negated."""
        if self.kind == "problem":
            return "objective value" if self.maximize else "negated objective value"
        return {"binary": "test AUROC", "multiclass": "negated test log-loss"}.get(
            self.kind, "negated test RMSE"
        )

    @property
    def test_metrics(self) -> tuple[tuple[str, str], ...]:
        """The retrained test metrics the report shows: (key after "test_", title)."""
        return TEST_METRICS[self.kind]

    def title(self, sampler: str) -> str:
        return SAMPLER_TITLES.get(sampler, sampler)

    @property
    def titles(self) -> dict[str, str]:
        return {s: self.title(s) for s in self.samplers}

    def of(self, sampler: str) -> list[RunStudy]:
        return [s for s in self.studies if s.sampler == sampler]

    @property
    def folder(self) -> Path:
        """The run's folder of files (plan.json, retrain.json, ...): ``runs_root/RUN``."""
        return run_dir(self.run, self.runs_root)

    @property
    def metric(self) -> str:
        return OBJECTIVE_TITLES.get(self.objective, self.objective)


def _states(studies: list[RunStudy]) -> str:
    """``12 trials: 9 FAIL, 3 PRUNED; e.g. 'timeout after 0.001 s'``: what the studies hold."""
    trials = [t for study in studies for t in study.trials]
    states = Counter(t.state.name for t in trials)
    text = f"{len(trials)} trials: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    reason = next(
        (t.user_attrs["fail_reason"] for t in trials if "fail_reason" in t.user_attrs), ""
    )
    return text + (f"; e.g. {reason!r}" if reason else "")


def _with_complete_trials(name: str, studies: list[RunStudy]) -> tuple[list[RunStudy], list[str]]:
    """The studies that have a COMPLETE trial, and each left out (no value to compare: its
    trials failed, were pruned or are still running), with what it holds. HarnessError when no
    study has one: there is nothing to report."""
    kept = [s for s in studies if s.complete]
    if not kept:
        raise HarnessError(
            f"--name {name!r}: a report needs a COMPLETE trial, but none of the run's "
            f"{len(studies)} studies has one ({_states(studies) if studies else 'no trial'}); "
            "see the trials in the storage (harness dashboard), or run the same 'harness "
            "compare' again: FAIL trials are retried"
        )
    left_out = [f"{s.name} ({_states([s])})" for s in studies if not s.complete]
    return kept, left_out


def _one_task(name: str, studies: list[RunStudy]) -> tuple[str, str]:
    """The task and kind the studies share (a study from before tasks: Adult, binary)."""
    tasks = {s.study.user_attrs.get("task", "adult") for s in studies}
    kinds = {s.study.user_attrs.get("task_kind", "binary") for s in studies}
    if len(tasks) > 1:
        raise HarnessError(
            f"--name {name!r}: one report section holds one task's studies, but found "
            f"{sorted(tasks)}"
        )
    return tasks.pop(), kinds.pop()


class SeveralTasks(HarnessError):
    """Raised by ``load_run`` without a task for a run of several tasks: its report has a part
    per task (``harness.report.tasks_report``)."""

    def __init__(self, name: str, tasks: list[str]) -> None:
        super().__init__(f"--name {name!r} is a run of several tasks: {tasks}")
        self.tasks = tasks


def _read_run_files(data: RunData, folder: Path, task: str | None) -> None:
    """The run folder's cached results into ``data``, each checked against its schema; in a
    run of several tasks, ``task``'s retrained records only."""
    data.bench = read_run_file(folder / "bench.json")
    retrain = read_retrain(folder / "retrain.json")
    if task is not None:
        retrain = {"records": [r for r in retrain["records"] if r.get("task") == task]}
    data.retrain = retrain if retrain["records"] else None
    data.reference = read_reference(folder / "reference.json")
    data.pool = read_run_file(folder / "pool.json") or []  # none: a run before pools were measured
    read_design(folder / "plan.json")  # checked here, before any section draws a figure


def load_run(
    name: str,
    storage_url: str,
    runs_root: str | Path = DEFAULT_RUNS_ROOT,
    task: str | None = None,
) -> RunData:
    """Read the run's studies (HarnessError if none has a COMPLETE trial; the others are left
    out, and said so) and its cached results, each checked against its schema. In a run of
    several tasks, ``task`` picks one task's studies and retrained records."""
    storage = open_existing_storage(storage_url)
    found = find_run_studies(storage, name, storage_url, task)
    if task is None and run_tasks(found):
        raise SeveralTasks(name, run_tasks(found))
    studies, left_out = _with_complete_trials(name, found)
    order: dict[str, int] = {sampler: index for index, sampler in enumerate(SAMPLERS)}
    samplers = sorted({s.sampler for s in studies}, key=lambda s: (order.get(s, len(order)), s))
    objectives = {s.study.user_attrs.get("objective", "val_auroc") for s in studies}
    task_name, kind = _one_task(name, studies)
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
        shown_storage(storage_url),
        studies,
        samplers,
        objectives.pop(),
        directions.pop(),
        target,
        runs_root=Path(runs_root),
        task=task_name,
        kind=kind,
    )
    if targets - {target}:
        short = sorted(n for n, count in done.items() if count == target)
        data.notes.append(
            f"Studies were asked for {' or '.join(map(str, sorted(targets)))} "
            f"trials; every comparison uses the first {target} finished trials "
            f"of each study, the fewest any study has ({', '.join(short)})."
        )
    data.left_out = left_out
    if kind == "problem":
        data.notes.append(_problem_note(studies[0]))
        data.primary_source = studies[0].study.user_attrs.get("primary_source")
    _read_run_files(data, run_dir(name, runs_root), task)
    return data


def _problem_note(study: RunStudy) -> str:
    """What a problem task is, in a sentence."""
    attrs = study.study.user_attrs
    ref = (attrs.get("problem") or {}).get("ref", attrs.get("task", "?"))
    what = "a surrogate (below: how far to trust it)" if "surrogate" in attrs else "a problem class"
    return (
        f"Task `{ref}` is {what}, not a training run: each trial is one evaluate() call (no "
        "epochs: no pruning, no test split)."
    )


def shown_storage(url: str) -> str:
    """The storage URL as a report shows it: its password masked, and a SQLite or journal
    file relative to the current folder (by its name when it lies outside), so that no report
    carries the path of the machine that made it."""
    url = redact_url(url)
    for prefix in ("sqlite:///", "journal://"):  # then an absolute path starts with '/'
        if url.startswith(prefix):
            path, query, rest = url[len(prefix) :].partition("?")
            return prefix + shown_path(path) + query + rest
    return url


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
