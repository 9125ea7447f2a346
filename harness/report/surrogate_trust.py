"""How far to trust a run on a surrogate task (issue 22): the surrogate's held-out accuracy,
and, where the storage it was fitted from holds a real paired comparison of the same samplers,
the surrogate's per-pair differences against the real ones at the same budget and whether the
samplers rank alike.

The two runs are compared on the search's own objective (each study's best value after n
trials, noise included on the surrogate), the one quantity both have: the real run's verdict
compares retrained test scores, which a surrogate of the search objective does not model.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from harness.report import surrogate_trust_text as text
from harness.report.markdown import md_table
from harness.report.stats import finished

if TYPE_CHECKING:
    from harness.experiment.runs import RunStudy
    from harness.report.context import ReportContext
    from harness.report.load import RunData


def surrogate_of(data: RunData) -> dict[str, Any] | None:
    """What the run's studies recorded of their surrogate (harness.surrogate.store
    .trust_summary); None for any other task."""
    return data.studies[0].study.user_attrs.get("surrogate") if data.studies else None


def section_surrogate_trust(report: ReportContext) -> list[str]:
    data = report.data
    summary = surrogate_of(data)
    if summary is None:
        return []
    from harness.surrogate.store import MIN_RHO

    lines = ["## How far to trust this surrogate", ""]
    lines += [text.SCORES.format(**summary, min_rho=MIN_RHO), ""]
    if summary["rho"] < MIN_RHO:
        lines += [text.FORCED.format(rho=summary["rho"], min_rho=MIN_RHO), ""]
    real = _real_run(summary)
    if isinstance(real, str):
        return [*lines, real, ""]
    return [*lines, *_against_real(data, real, summary)]


def _real_run(summary: dict[str, Any]) -> list[RunStudy] | str:
    """The studies of the run the surrogate was fitted from, or why there are none."""
    from harness.experiment.runs import find_run_studies
    from harness.search.storage import open_existing_storage

    run, url = summary.get("run"), summary.get("storage")
    if not run or not url:
        return text.NO_SOURCE_RUN
    try:
        studies = find_run_studies(open_existing_storage(url), run, url)
    except Exception as err:  # a storage this machine cannot open: say so, report the rest
        return text.SOURCE_UNREADABLE.format(run=run, storage=url, error=str(err).split("\n")[0])
    return studies or text.SOURCE_UNREADABLE.format(run=run, storage=url, error="no studies")


def best_after(study: RunStudy, n: int, maximize: bool) -> float | None:
    """The study's best objective value in its first ``n`` finished trials."""
    values = [t.value for t in finished(study.trials)[:n] if t.value is not None]
    if not values:
        return None
    return float(max(values) if maximize else min(values))


def pair_differences(studies: list[RunStudy], a: str, b: str, n: int, maximize: bool) -> np.ndarray:
    """Per repeat that has both: a's best after n trials minus b's, signed so that positive
    means a found the better value."""
    by = {(s.sampler, s.repeat): best_after(s, n, maximize) for s in studies}
    sign = 1.0 if maximize else -1.0
    repeats = sorted({r for (_, r) in by})
    pairs = [(by.get((a, r)), by.get((b, r))) for r in repeats]
    return np.array([sign * (x - y) for x, y in pairs if x is not None and y is not None])


def _against_real(data: RunData, real: list[RunStudy], summary: dict[str, Any]) -> list[str]:
    samplers = [s for s in data.samplers if any(r.sampler == s for r in real)]
    if len(samplers) < 2:
        return [text.NO_COMMON.format(run=summary["run"]), ""]
    n = min(data.target, min(len(finished(r.trials)) for r in real))
    rows, lines = [], []
    for a, b in itertools.combinations(samplers, 2):
        fake = pair_differences(data.studies, a, b, n, data.maximize)
        true = pair_differences(real, a, b, n, data.maximize)
        if len(fake) < 2 or len(true) < 2:
            continue
        rows.append(_row(data, a, b, fake, true))
    lines += [text.AGAINST_REAL.format(run=summary["run"], n=n), ""]
    header = ["a - b", "surrogate: mean [95% CI] (pairs)", "real: mean [95% CI] (pairs)"]
    header += ["real mean's percentile in the surrogate's pairs", "Welch t-test p"]
    lines += [md_table(header, rows), ""]
    lines += [_ranking(data, real, samplers, n), ""]
    return lines


def _row(data: RunData, a: str, b: str, fake: np.ndarray, true: np.ndarray) -> list[str]:
    percentile = 100.0 * float(np.mean(fake < true.mean()) + 0.5 * np.mean(fake == true.mean()))
    p = stats.ttest_ind(fake, true, equal_var=False).pvalue
    return [
        f"{data.title(a)} - {data.title(b)}",
        _mean_ci(fake),
        _mean_ci(true),
        f"{percentile:.0f}",
        f"{p:.2g}",
    ]


def _mean_ci(values: np.ndarray) -> str:
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    return f"{values.mean():+.2e} [{low:+.2e}, {high:+.2e}] ({len(values)})"


def _ranking(data: RunData, real: list[RunStudy], samplers: list[str], n: int) -> str:
    """Each run's order of the common samplers by their mean best value after n trials."""

    def order(studies: list[RunStudy]) -> list[str]:
        means = {}
        for sampler in samplers:
            values = [best_after(s, n, data.maximize) for s in studies if s.sampler == sampler]
            means[sampler] = float(np.mean([v for v in values if v is not None]))
        return sorted(samplers, key=lambda s: -means[s] if data.maximize else means[s])

    fake, true = order(data.studies), order(real)
    words = text.RANKS_AGREE if fake == true else text.RANKS_DIFFER
    return words.format(
        surrogate=" > ".join(data.title(s) for s in fake),
        real=" > ".join(data.title(s) for s in true),
    )
