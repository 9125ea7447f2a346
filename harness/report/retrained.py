"""The report's honest test numbers: each study's chosen configuration retrained with fresh
seeds and scored on test (``runs/RUN/retrain.json``), beside the lab's fixed models and the
gradient-boosting reference. The search itself never scores the test split."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from harness.experiment.retrain import RETRAIN_SEED_BASE
from harness.report import tables_text as text
from harness.report.load import METRICS, RunData
from harness.report.markdown import fmt, fmt_params, md_table, mean_std, plural, shown_path

if TYPE_CHECKING:
    from harness.report.context import ReportContext


def section_test(report: ReportContext) -> list[str]:
    data = report.data
    lines = ["## Honest test numbers", ""]
    if data.retrain is None:
        return [*lines, text.NOT_RETRAINED.format(run=data.run, folder=shown_path(data.folder)), ""]
    records = {r["study"]: r for r in data.retrain["records"]}
    seeds = sorted({res["seed"] for r in records.values() for res in r["results"]})
    rows, per_sampler = _study_rows(data, records)
    titles = [title for _, title in data.test_metrics]
    header = ["study", "best trial", f"{data.metric} (search)", "configuration", *titles]
    header.append("seeds ok")
    lines += [
        text.REEVALUATED.format(how=data.primary_words(plural(len(seeds), "seed")))
        if data.problem
        else text.RETRAINED.format(
            seeds=len(seeds),
            first=seeds[0],
            last=seeds[-1],
            base=RETRAIN_SEED_BASE,
            last_offset=len(seeds) - 1,
            threshold=text.F1_THRESHOLD if data.kind == "binary" else "",
        ),
        "",
        md_table(header, rows),
        "",
    ]
    if any(row[1].endswith("(stale)") for row in rows):
        lines += [text.STALE, ""]
    summary = [
        [
            f"{data.title(sampler)} search, best of {data.target} trials",
            f"{len(means)} repeats x {len(seeds)} seeds",
            *[mean_std([m[k] for m in means]) for k, _ in data.test_metrics],
        ]
        for sampler, means in per_sampler.items()
    ]
    if data.lab_task:
        summary += _reference_rows(data)
    side = text.SIDE_BY_SIDE if data.lab_task else text.NO_LAB_MODELS.format(task=data.task)
    return [*lines, side, "", md_table(["model", "runs", *titles], summary), ""]


def _study_rows(
    data: RunData, records: dict[str, dict[str, Any]]
) -> tuple[list[list[str]], dict[str, list[dict[str, float]]]]:
    """A row per study, and per sampler each retrained study's seed means."""
    rows = []
    per_sampler: dict[str, list[dict[str, float]]] = {s: [] for s in data.samplers}
    for st in data.studies:
        record = records.get(st.name)
        if record is None:
            blank = [""] * (len(data.test_metrics) + 2)
            rows.append([st.name, "—", "not retrained", *blank])
            continue
        trial = st.best_trial()
        stale = trial is not None and trial.number != record["trial"]
        ok = [r for r in record["results"] if r.get("status") == "ok"]
        if ok:
            per_sampler[st.sampler].append(
                {m: np.mean([r[f"test_{m}"] for r in ok]) for m, _ in data.test_metrics}
            )
        rows.append(
            [
                st.name,
                str(record["trial"]) + (" (stale)" if stale else ""),
                fmt(record["value"]),
                fmt_params(record["params"]),
                *[mean_std([r[f"test_{m}"] for r in ok]) for m, _ in data.test_metrics],
                f"{len(ok)}/{len(record['results'])}",
            ]
        )
    return rows, per_sampler


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
                plural(len(records), "seed"),
                *[mean_std([r[m] for r in records]) for m in METRICS],
            ]
        )
    if data.reference:
        ok = [r for r in data.reference["records"] if r.get("status") == "ok"]
        rows.append(
            [
                f"reference: {data.reference.get('model', 'gradient boosting')}",
                plural(len(ok), "seed"),
                *[mean_std([r[f"test_{m}"] for r in ok]) for m in METRICS],
            ]
        )
    return rows
