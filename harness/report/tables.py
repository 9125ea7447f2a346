"""The report's tables: honest test numbers, per-study results, the lab's models, timings and
the environment (markdown only; the sections with figures are in harness.report.write).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from harness.environment import library_versions, package_version
from harness.experiment.retrain import RETRAIN_SEED_BASE
from harness.report.config import IMPORTANCE_BOOTSTRAP, IQM_BOOTSTRAP, Bootstrap
from harness.report.load import METRICS, RunData
from harness.report.markdown import fmt, fmt_params, md_table, mean_std, median_text
from harness.report.stats import completed, completion_seconds, trial_curve

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from harness.report.context import ReportContext


def _search_test(trial: FrozenTrial) -> list[str]:
    return [fmt(trial.user_attrs.get(f"test_{m}")) for m in METRICS]


def section_test(report: ReportContext) -> list[str]:
    data = report.data
    lines = ["## Honest test numbers", ""]
    best = {st.name: st.best_trial() for st in data.studies}
    if data.retrain is None:
        lines += [
            "No retrained results: `runs/" + data.run + "/retrain.json` is missing (run "
            f"`harness compare --name {data.run}` to make it). Below, each best trial's "
            "own test scores: one training seed, selected on validation, so optimistic.",
            "",
        ]
        rows = [
            [st.name, str(trial.number), fmt(trial.value), *_search_test(trial)]
            for st in data.studies
            if (trial := best[st.name])
        ]
        header = ["study", "best trial", data.metric, "test AUROC", "F1", "precision", "recall"]
        return [*lines, md_table(header, rows), ""]
    records = {r["study"]: r for r in data.retrain["records"]}
    seeds = sorted({res["seed"] for r in records.values() for res in r["results"]})
    lines += [
        f"Each study's best configuration (chosen on validation) retrained with "
        f"{len(seeds)} training seeds ({seeds[0]}…{seeds[-1]}, i.e. "
        f"{RETRAIN_SEED_BASE} + 0…{len(seeds) - 1}, none used by the search) and scored "
        "on test at the F1-optimal threshold chosen on validation: mean ± std over "
        "seeds (std with ddof = 1).",
        "",
    ]
    rows = []
    per_sampler: dict[str, list[dict[str, float]]] = {s: [] for s in data.samplers}
    for st in data.studies:
        record = records.get(st.name)
        if record is None:
            rows.append([st.name, "—", "not retrained", "", "", "", "", "", ""])
            continue
        trial = best[st.name]
        stale = trial is not None and trial.number != record["trial"]
        ok = [r for r in record["results"] if r.get("status") == "ok"]
        cells = [mean_std([r[f"test_{m}"] for r in ok]) for m in METRICS]
        if ok:
            per_sampler[st.sampler].append(
                {m: np.mean([r[f"test_{m}"] for r in ok]) for m in METRICS}
            )
        rows.append(
            [
                st.name,
                str(record["trial"]) + (" (stale)" if stale else ""),
                fmt(record["value"]),
                fmt_params(record["params"]),
                *cells,
                f"{len(ok)}/{len(record['results'])}",
            ]
        )
    header = [
        "study",
        "best trial",
        f"{data.metric} (search)",
        "configuration",
        "test AUROC",
        "F1",
        "precision",
        "recall",
        "seeds ok",
    ]
    lines += [md_table(header, rows), ""]
    if any(c[1].endswith("(stale)") for c in rows):
        lines += [
            "(stale): the study's best trial changed since it was retrained; run "
            "`harness compare` again to refresh.",
            "",
        ]
    summary = []
    for sampler, means in per_sampler.items():
        summary.append(
            [
                f"{data.title(sampler)} search, best of {data.target} trials",
                f"{len(means)} repeats x {len(seeds)} seeds",
                *[mean_std([m[k] for m in means]) for k in METRICS],
            ]
        )
    summary += _reference_rows(data)
    lines += [
        "Side by side (search rows: mean ± std over repeats of each repeat's seed mean; "
        "reference rows: mean ± std over their seeds):",
        "",
        md_table(["model", "runs", "test AUROC", "F1", "precision", "recall"], summary),
        "",
    ]
    return lines


def _reference_rows(data: RunData) -> list[list[str]]:
    rows = []
    by_recipe: dict[str, list[dict]] = {}
    for record in data.bench or []:
        if record.get("recipe") != "linear_regression" and record.get("status") == "ok":
            by_recipe.setdefault(record["recipe"], []).append(record)
    for recipe, records in by_recipe.items():
        rows.append(
            [
                f"lab: {records[0].get('title', recipe)}",
                f"{len(records)} seeds",
                *[mean_std([r[m] for r in records]) for m in METRICS],
            ]
        )
    if data.reference:
        ok = [r for r in data.reference["records"] if r.get("status") == "ok"]
        rows.append(
            [
                f"reference: {data.reference.get('model', 'gradient boosting')}",
                f"{len(ok)} seeds",
                *[mean_std([r[f"test_{m}"] for r in ok]) for m in METRICS],
            ]
        )
    return rows


def section_studies(report: ReportContext) -> list[str]:
    data = report.data
    from optuna.trial import TrialState

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
                str(st.study.user_attrs.get("seed", "—")),
                *map(str, counts),
                fmt(best.value) if best else "—",
                str(best.number) if best else "—",
                fmt(float(curve[min(data.target, curve.size) - 1])) if curve.size else "—",
                f"{seconds[-1] / 60:.1f}" if seconds.size else "—",
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
    if not data.bench:
        return [
            *lines,
            f"No `runs/{data.run}/bench.json` for this run (`harness compare` or "
            f"`harness bench models --json runs/{data.run}/bench.json` makes it).",
            "",
        ]
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in data.bench:
        groups.setdefault((record["recipe"], record.get("device", "?")), []).append(record)
    rows = []
    for (recipe, device), records in groups.items():
        lab = records[0].get("lab", {})
        ok = [r for r in records if r.get("status") == "ok"]
        if recipe == "linear_regression":
            cells = [
                f"MSE {mean_std([r['mse'] for r in ok], 5)} (NumPy), "
                f"{mean_std([r['mse_pytorch'] for r in ok], 5)} (PyTorch); lab "
                f"{fmt(lab.get('mse'), 5)}",
                "",
                "",
                "",
            ]
        else:
            cells = [
                f"{mean_std([r[m] for r in ok])} ({fmt(lab.get(m))})"
                if m in lab
                else mean_std([r[m] for r in ok])
                for m in METRICS
            ]
        rows.append(
            [
                records[0].get("title", recipe),
                device,
                f"{len(ok)}/{len(records)}",
                *cells,
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
    return [
        *lines,
        "Ours: mean ± std over seeds, threshold chosen on validation; the lab's "
        "printed number in brackets (its threshold was re-optimised on test).",
        "",
        md_table(header, rows),
        "",
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
        "Search trials (training wall time per trial, evaluation included):",
        "",
        md_table(header, rows),
        "",
        "The lab models' seconds per epoch are in the table above, per device."
        if data.bench
        else "",
        "",
        *pool_lines(data.pool),
    ]


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
    return [
        "Pool usage of `harness compare` (trials and retraining; utilization is busy "
        "worker-seconds over workers x wall time; each re-run that had work is a session):",
        "",
        md_table(header, rows),
        "",
    ]


def section_environment(report: ReportContext) -> list[str]:
    data = report.data
    here = library_versions()
    for package in ("scipy", "matplotlib"):
        here[package] = package_version(package)
    recorded: dict[str, set[str]] = {}
    for st in data.studies:
        for key, value in (st.study.user_attrs.get("versions") or {}).items():
            recorded.setdefault(key, set()).add(str(value))
    keys = list(dict.fromkeys([*recorded, *here]))
    rows = [[k, ", ".join(sorted(recorded.get(k, {"—"}))), here.get(k, "—")] for k in keys]
    lines = [
        "## Environment",
        "",
        md_table(["", "studies ran with (as recorded)", "this report made with"], rows),
        "",
    ]
    first = {s: data.of(s)[0].study.user_attrs for s in data.samplers}
    for sampler, attrs in first.items():
        settings = dict(attrs.get("sampler") or {})
        settings.pop("seed", None)
        seeds = sorted(st.study.user_attrs.get("seed", st.repeat) for st in data.of(sampler))
        lines.append(
            f"- {data.title(sampler)} sampler: `{json.dumps(settings)}`, sampler "
            f"seeds {seeds} (repeat r uses seed r)"
        )
    attrs = data.studies[0].study.user_attrs
    for key, title in (
        ("objective", "objective"),
        ("pruner", "pruner"),
        ("executor", "executor"),
        ("target_trials", "target trials"),
        ("space_source", "search space file"),
        ("space_sha256", "its sha256"),
    ):
        values = sorted({str(st.study.user_attrs.get(key, "—")) for st in data.studies})
        lines.append(f"- {title}: {', '.join(f'`{v}`' for v in values)}")
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
    if attrs.get("space"):
        lines += [
            "",
            "<details><summary>Search space</summary>",
            "",
            "```toml",
            str(attrs["space"]).rstrip(),
            "```",
            "",
            "</details>",
        ]
    return [*lines, ""]


def _bootstrap_text(bootstrap: Bootstrap, of: str = "") -> str:
    return (
        f"{bootstrap.resamples} resamples{of}, numpy seed {bootstrap.seed}, "
        f"{100 * bootstrap.confidence:.0f}% percentile interval"
    )
