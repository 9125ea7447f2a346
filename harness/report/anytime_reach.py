"""The report's trials-to-target section: for each target, the Kaplan-Meier ECDF over repeats
of the trials a sampler needed to reach it (on the search's own objective)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from harness.report import anytime_text as text
from harness.report.anytime import reach_ecdf
from harness.report.anytime_inputs import NEAR_BEST, Anytime, reach_targets
from harness.report.load import RunData
from harness.report.markdown import md_table
from harness.report.stats import trials_to_reach

if TYPE_CHECKING:
    from harness.report.context import ReportContext

MAX_LISTED = 10  # repeats: beyond this the per-repeat column is too long to read


def section_trials_to_target(report: ReportContext) -> list[str]:
    from harness.report.anytime_plots import plot_reach

    data, figures, run = report.data, report.figures, report.anytime
    curves, rows = _curves_and_rows(run, data)
    shared = (
        text.REACH_SHARED.format(
            a=data.title(data.samplers[0]), b=data.title(data.samplers[1]), shared=run.shared
        )
        if run.shared
        else ""
    )
    words = text.REACH.format(
        metric=data.metric,
        source=text.REACH_SOURCE_RANDOM if run.pool.size else text.REACH_SOURCE_ALL,
        less="less" if run.maximize else "plus",
        near=NEAR_BEST,
        target=run.target,
        shared=shared,
    )
    png = plot_reach(
        figures.path("trials_to_target.png"),
        curves,
        data.titles,
        budget=run.target,
        shared=run.shared,
        title=f"Trials to reach each target of the search's own {data.metric}: "
        "Kaplan-Meier ECDF over repeats",
    )
    return [
        "## Trials to reach a target (the search's own objective)",
        "",
        words,
        "",
        md_table(
            ["target", "sampler", "reached", "median trials"]
            + (["trials per repeat"] if len(rows[0]) > 4 else []),
            rows,
        ),
        "",
        figures.image(png, "trials to reach each target, ECDF over repeats"),
        "",
    ]


def _merged(run: Anytime, data: RunData) -> list[tuple[str, str, dict]]:
    """(label, value text, sampler -> repeat -> trials needed) per target, targets whose
    trials-to-reach are the same for every sampler and repeat merged into one."""
    groups: list[tuple[list[str], list[float], dict]] = []
    for label, value in reach_targets(run, data):
        needed = {
            s: {
                r: trials_to_reach(c, value, run.maximize) for r, c in sorted(run.curves[s].items())
            }
            for s in data.samplers
        }
        same = next((g for g in groups if g[2] == needed), None)
        if same is None:
            groups.append(([label], [value], needed))
        else:
            same[0].append(label)
            same[1].append(value)
    out = []
    for labels, values, needed in groups:
        low, high = f"{min(values):.4f}", f"{max(values):.4f}"
        out.append((" = ".join(labels), low if low == high else f"{low} to {high}", needed))
    return out


def _curves_and_rows(run: Anytime, data: RunData) -> tuple[dict[str, dict], list[list[str]]]:
    """Per (merged) target: each sampler's ECDF, and the table's rows."""
    listed = max((len(c) for c in run.curves.values()), default=0) <= MAX_LISTED
    curves: dict[str, dict] = {}
    rows = []
    for label, value, needed in _merged(run, data):
        curves[f"{label} = {value}"] = {}
        for s in data.samplers:
            ecdf = reach_ecdf(list(needed[s].values()), run.target)
            curves[f"{label} = {value}"][s] = ecdf
            median = f"{ecdf.median:g}" if np.isfinite(ecdf.median) else f"> {run.target}"
            listing = ", ".join(f"r{r}: {'—' if n is None else n}" for r, n in needed[s].items())
            rows.append(
                [
                    f"{label}: {value}",
                    data.title(s),
                    f"{ecdf.reached} of {ecdf.repeats}",
                    median,
                    *([listing] if listed else []),
                ]
            )
    return curves, rows
