"""The anytime section's area under the regret curve (a secondary outcome on the search's own
objective), per sampler and for each sampler pair, beside the same in the objective's units."""

from __future__ import annotations

import warnings
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from harness.report import anytime_text as text
from harness.report.anytime import PairedDifference, aggregate, band_label, paired_difference
from harness.report.config import CONFIDENCE, IQM_BOOTSTRAP
from harness.report.load import RunData
from harness.report.markdown import fmt, md_table, signed_difference

if TYPE_CHECKING:
    from harness.report.context import ReportContext


def section_area(report: ReportContext) -> list[str]:
    """Mean regret over the trials per sampler, and its paired difference per sampler pair."""
    data, run = report.data, report.anytime
    matrices = {s: run.regret(s) for s in data.samplers}
    normalised = run.reference is not None
    digits = 3 if normalised else 5  # one more than the regret table's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: no value at all
        areas = {s: np.nanmean(m, axis=1) for s, m in matrices.items()}
        gaps = {s: np.nanmean(run.gap(s), axis=1) for s in data.samplers}
    repeats = {s: sorted(st.repeat for st in data.of(s)) for s in data.samplers}
    rows = []
    for s in data.samplers:
        agg = aggregate(areas[s][:, None], **IQM_BOOTSTRAP.arguments())
        gap = aggregate(gaps[s][:, None], **IQM_BOOTSTRAP.arguments())
        rows.append(
            [
                data.title(s),
                str(agg.repeats),
                fmt(agg.centre[0], digits),
                f"[{fmt(agg.low[0], digits)}, {fmt(agg.high[0], digits)}]",
                *([f"{gap.centre[0]:.1e}"] if normalised else []),
            ]
        )
    band = f"band: {band_label(min(map(len, areas.values())))}"
    lines = [
        "### Area under the regret curve (secondary outcome)",
        "",
        text.AREA.format(target=data.target, primary=data.primary_title),
        "",
        md_table(
            ["sampler", "repeats", "IQM", band]
            + ([f"mean gap ({data.metric}), IQM"] if normalised else []),
            rows,
        ),
        "",
    ]
    return lines + _area_pairs(data, areas, gaps, repeats, digits, normalised)


def _paired(values: dict, repeats: dict, a: str, b: str, common: list[int]) -> PairedDifference:
    x = [values[a][repeats[a].index(r)] for r in common]
    y = [values[b][repeats[b].index(r)] for r in common]
    return paired_difference(x, y, CONFIDENCE)


def _area_pairs(
    data: RunData, areas: dict, gaps: dict, repeats: dict, digits: int, normalised: bool
) -> list[str]:
    rows = []
    for a, b in combinations(data.samplers, 2):
        common = sorted(set(repeats[a]) & set(repeats[b]))

        d, g = (_paired(values, repeats, a, b, common) for values in (areas, gaps))
        rows.append(
            [
                f"{data.title(a)} - {data.title(b)}",
                str(d.pairs),
                f"{d.mean:+.{digits}f}",
                f"[{d.low:+.{digits}f}, {d.high:+.{digits}f}]" if np.isfinite(d.low) else "—",
                *([f"{signed_difference(g.mean)}"] if normalised else []),
            ]
        )
    if not rows:
        return []
    confidence = f"{100 * CONFIDENCE:.0f}%"
    return [
        text.AREA_PAIRS.format(confidence=confidence),
        "",
        md_table(
            ["pair", "pairs", "mean difference", f"{confidence} t interval"]
            + ([f"same in mean gap ({data.metric})"] if normalised else []),
            rows,
        ),
        "",
    ]
