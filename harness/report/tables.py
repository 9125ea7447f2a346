"""The report's table sections: per-study results, the lab's fixed models, timings and pool
usage, and the environment (versions, settings, seeds, the search space). The honest test
numbers are harness.report.retrained's; the words are harness.report.tables_text's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.environment import library_versions, package_version
from harness.report import tables_text as text
from harness.report.config import IMPORTANCE_BOOTSTRAP, IQM_BOOTSTRAP, Bootstrap
from harness.report.load import METRICS, RunData
from harness.report.markdown import MISSING, fmt, md_table, mean_std, median_text, shown_path
from harness.report.stats import completed, completion_seconds, trial_curve

if TYPE_CHECKING:
    from harness.report.context import ReportContext


def section_studies(report: ReportContext) -> list[str]:
    from optuna.trial import TrialState

    data = report.data
    rows = []
    for st in data.studies:
        counts = [
            sum(t.state == s for t in st.trials)
            for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        ]
        best = st.best_trial()
        curve = trial_curve(st.trials, data.maximize)
        seconds, _ = completion_seconds(st.trials)
        rows.append(
            [
                f"`{st.name}`",
                data.title(st.sampler),
                str(st.repeat),
                str(st.study.user_attrs.get("seed", MISSING)),
                *map(str, counts),
                fmt(best.value) if best else MISSING,
                str(best.number) if best else MISSING,
                fmt(float(curve[min(data.target, curve.size) - 1])) if curve.size else MISSING,
                f"{seconds[-1] / 60:.1f}" if seconds.size else MISSING,
            ]
        )
    header = [
        "study",
        "sampler",
        "repeat",
        "seed",
        "COMPLETE",
        "PRUNED",
        "FAIL",
        f"best {data.metric}",
        "best trial",
        f"best after {data.target}",
        "wall-clock (min, idle cut)",
    ]
    return ["## Per-study results", "", md_table(header, rows), ""]


def section_lab(report: ReportContext) -> list[str]:
    data = report.data
    lines = ["## The lab's fixed models against its printed numbers", ""]
    if not data.lab_task:
        return [*lines, text.LAB_NOT_APPLICABLE.format(task=data.task), ""]
    if not data.bench:
        return [*lines, text.NO_BENCH.format(run=data.run, folder=shown_path(data.folder)), ""]
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in data.bench:
        groups.setdefault((record["recipe"], record.get("device", "?")), []).append(record)
    rows = []
    for (recipe, device), records in groups.items():
        ok = [r for r in records if r.get("status") == "ok"]
        rows.append(
            [
                records[0].get("title", recipe),
                device,
                f"{len(ok)}/{len(records)}",
                *_lab_cells(recipe, ok, records[0].get("lab", {})),
                mean_std([r["epochs"] for r in ok], 1),
                mean_std([r["seconds_per_epoch"] for r in ok], 4),
            ]
        )
    header = [
        "recipe",
        "device",
        "seeds ok",
        "test AUROC (lab)",
        "F1 (lab)",
        "precision (lab)",
        "recall (lab)",
        "epochs",
        "s/epoch",
    ]
    return [*lines, text.LAB, "", md_table(header, rows), ""]


def _lab_cells(recipe: str, ok: list[dict[str, Any]], lab: dict[str, float]) -> list[str]:
    """Our mean ± std of each metric with the lab's printed number in brackets; the linear
    regression's MSE (NumPy and PyTorch) in the first cell instead."""
    if recipe == "linear_regression":
        return [
            f"MSE {mean_std([r['mse'] for r in ok], 5)} (NumPy), "
            f"{mean_std([r['mse_pytorch'] for r in ok], 5)} (PyTorch); lab "
            f"{fmt(lab.get('mse'), 5)}",
            "",
            "",
            "",
        ]
    return [
        f"{mean_std([r[m] for r in ok])} ({fmt(lab.get(m))})"
        if m in lab
        else mean_std([r[m] for r in ok])
        for m in METRICS
    ]


def section_timings(report: ReportContext) -> list[str]:
    data = report.data
    by_device: dict[str, list] = {}
    for st in data.studies:
        for trial in completed(st.trials):
            by_device.setdefault(str(trial.user_attrs.get("device", "unknown")), []).append(trial)
    rows = []
    for device, trials in sorted(by_device.items()):
        per_epoch = [t.user_attrs.get("seconds_per_epoch") for t in trials]
        seconds = [t.user_attrs.get("seconds") for t in trials]
        hosts = sorted({str(t.user_attrs.get("host", "?")) for t in trials})
        workers = {str(t.user_attrs.get("worker", "?")) for t in trials}
        rows.append(
            [
                device,
                str(len(trials)),
                median_text(per_epoch, 4),
                median_text(seconds, 1),
                ", ".join(hosts),
                str(len(workers)),
            ]
        )
    header = ["device", "completed trials", "median s/epoch", "median s/trial", "hosts", "workers"]
    return [
        "## Device timings",
        "",
        text.SEARCH_TIMINGS,
        "",
        md_table(header, rows),
        "",
        text.LAB_TIMINGS if data.bench else "",
        "",
        *proposal_lines(data),
        *pool_lines(data.pool),
    ]


def proposal_lines(data: RunData) -> list[str]:
    """Each sampler's own time: the seconds its studies spent asking it for trials (recorded
    by studies since they were; none for older ones)."""
    by_sampler: dict[str, list[float]] = {}
    for study in data.studies:
        seconds = study.study.user_attrs.get("proposal_seconds")
        if seconds is not None:
            by_sampler.setdefault(study.sampler, []).append(float(seconds))
    if not by_sampler:
        return []
    rows = [
        [
            data.title(s),
            str(len(v)),
            f"{np.median(v):.3g}",
            f"{min(v):.3g} to {max(v):.3g}",
            f"{sum(v):.1f}",
        ]
        for s, v in by_sampler.items()
    ]
    header = ["sampler", "studies", "median s per study", "range", "total s"]
    return [text.PROPOSAL_TIMES, "", md_table(header, rows), ""]


def pool_lines(sessions: list[dict]) -> list[str]:
    """How busy the workers were in each session of ``harness compare`` (its pool.json)."""
    if not sessions:
        return []
    rows = [
        [
            str(i + 1),
            str(s.get("workers")),
            str(s.get("jobs")),
            fmt(s.get("wall_s"), 1),
            fmt(s.get("busy_s"), 1),
            f"{100 * s.get('utilization', 0):.0f}%",
        ]
        for i, s in enumerate(sessions)
    ]
    header = ["session", "workers", "jobs", "wall s", "busy worker-s", "utilization"]
    return [text.POOL, "", md_table(header, rows), ""]


def section_environment(report: ReportContext) -> list[str]:
    data = report.data
    header = ["", "studies ran with (as recorded)", "this report made with"]
    lines = ["## Environment", "", md_table(header, _version_rows(data)), ""]
    lines += _sampler_lines(data)
    for key, title in (
        ("objective", "objective"),
        ("pruner", "pruner"),
        ("executor", "executor"),
        ("target_trials", "target trials"),
        ("space_source", "search space file"),
        ("space_sha256", "its sha256"),
    ):
        values = sorted({_setting(st.study.user_attrs, key) for st in data.studies})
        lines.append(f"- {title}: {', '.join(values)}")
    lines += [
        f"- storage: `{data.url}`",
        f"- bootstraps: the anytime sections' IQM band: {_bootstrap_text(IQM_BOOTSTRAP)}; "
        f"the importances' intervals: {_bootstrap_text(IMPORTANCE_BOOTSTRAP, ' of the repeats')}",
    ]
    if data.reference:
        lines.append(
            f"- reference: {data.reference.get('model')} with "
            f"`{json.dumps(data.reference.get('settings', {}))}`"
        )
    space = data.studies[0].study.user_attrs.get("space")
    if space:
        lines += ["", "<details><summary>Search space</summary>", "", "```toml"]
        lines += [str(space).rstrip(), "```", "", "</details>"]
    return [*lines, ""]


def _version_rows(data: RunData) -> list[list[str]]:
    """Each library's version as the studies recorded it, beside this process's."""
    here = library_versions()
    for package in ("scipy", "matplotlib"):
        here[package] = package_version(package)
    recorded: dict[str, set[str]] = {}
    for st in data.studies:
        for key, value in (st.study.user_attrs.get("versions") or {}).items():
            recorded.setdefault(key, set()).add(str(value))
    keys = list(dict.fromkeys([*recorded, *here]))
    return [[k, ", ".join(sorted(recorded.get(k, {MISSING}))), here.get(k, MISSING)] for k in keys]


def _sampler_lines(data: RunData) -> list[str]:
    lines = []
    for sampler in data.samplers:
        settings = dict(data.of(sampler)[0].study.user_attrs.get("sampler") or {})
        settings.pop("seed", None)
        seeds = sorted(st.study.user_attrs.get("seed", st.repeat) for st in data.of(sampler))
        lines.append(
            f"- {data.title(sampler)} sampler: `{json.dumps(settings)}`, sampler "
            f"seeds {seeds} (repeat r uses seed r)"
        )
    return lines


def _setting(attrs: dict[str, Any], key: str) -> str:
    """A study attribute as the environment lists it: the pruner with the settings it was
    built from (as the samplers' are listed), a file by a path that is no machine's."""
    value = str(attrs.get(key, MISSING))
    if key == "space_source":
        return f"`{shown_path(value)}`"
    if key == "pruner":
        stored = attrs.get("pruner_settings")
        settings = f"`{json.dumps(stored)}`" if stored else "not recorded"
        return f"`{value}` with settings {settings}"
    return f"`{value}`"


def _bootstrap_text(bootstrap: Bootstrap, of: str = "") -> str:
    return (
        f"{bootstrap.resamples} resamples{of}, numpy seed {bootstrap.seed}, "
        f"{100 * bootstrap.confidence:.0f}% percentile interval"
    )
