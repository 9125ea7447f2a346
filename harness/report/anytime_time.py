"""The anytime section's time view: best so far against each study's own compute (the running
sum of its trials' training seconds), not the wall clock, which on a shared pool includes the
time a study's trials waited behind other studies' trials."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from harness.report import anytime_text as text
from harness.report.anytime import MIN_REPEATS_FOR_CI, aggregate
from harness.report.config import IQM_BOOTSTRAP
from harness.report.load import lab_level
from harness.report.markdown import fmt, time_unit
from harness.report.stats import compute_seconds, stack, time_curve

if TYPE_CHECKING:
    from harness.report.context import ReportContext

LEVEL_LABEL = "lab's best validation level (NormalizingMLP)"


# the objective's unit on an axis (a problem's value and RMSE are in their own units)
UNITS = {
    "val_auroc": " (fraction)",
    "val_loss": " (cross-entropy, nats)",
    "val_log_loss": " (nats)",
}


def section_by_compute(report: ReportContext) -> list[str]:
    """Best so far against each study's own compute, with the lab's validation level as a
    reference line when the objective is the validation AUROC."""
    from harness.report.anytime_plots import plot_by_time

    data, figures, run = report.data, report.figures, report.anytime
    lab, level_source = lab_level(data)
    level = lab if data.objective == "val_auroc" else None  # a level in AUROC units only
    timed = {st.name: compute_seconds(st.trials, data.target) for st in data.studies}
    end = max((t[0][-1] for t in timed.values() if t[0].size), default=1.0)
    scale, unit = time_unit(end)
    grid = np.linspace(0, end, 300)
    matrices = {
        s: stack([time_curve(*timed[st.name], grid, data.maximize) for st in data.of(s)])
        for s in data.samplers
    }
    aggs = {s: aggregate(m, **IQM_BOOTSTRAP.arguments()) for s, m in matrices.items()}
    repeats = min((m.shape[0] for m in matrices.values()), default=0)
    png = plot_by_time(
        figures.path("best_by_time.png"),
        grid / scale,
        matrices,
        aggs,
        data.titles,
        best_known=run.best_known,
        level=level,
        level_label=LEVEL_LABEL,
        maximize=data.maximize,
        seed_sd=run.seed_sd,
        xlabel=f"the study's own compute: sum of its trials' training seconds ({unit})",
        ylabel=f"best {data.metric} so far" + UNITS.get(data.objective, ""),
        title=f"Best {data.metric} so far by the study's own compute (IQM over repeats, "
        f"band: {'bootstrap CI' if repeats >= MIN_REPEATS_FOR_CI else 'range of repeats'})",
    )
    seed = text.BY_COMPUTE_SEED.format(seed_sd=run.seed_sd) if run.seed_sd else ""
    return [
        "### Best so far by compute time",
        "",
        text.BY_COMPUTE.format(metric=data.metric, seed=seed),
        "",
        figures.image(png, "best value so far by the study's own compute"),
        "",
        text.LEVEL.format(label=LEVEL_LABEL, level=fmt(level), source=level_source)
        if level
        else "",
        "",
    ]
