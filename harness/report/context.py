"""What every section of the report is given, and the shape of a section.

A section is a function ``section(report: ReportContext) -> list[str]`` (markdown lines), and
``harness.report.write.SECTIONS`` lists them in the report's order. The context holds the run
as loaded, where the figures go, and the analyses that more than one reader needs (the
verdict's, read by its section and by ``write_report``'s result; the anytime inputs, read by
four sections), each made once, when first read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from harness.report.anytime_inputs import Anytime, anytime_inputs
from harness.report.load import RunData
from harness.report.markdown import Figures
from harness.report.verdict_analysis import PrimaryAnalysis, analyse


@dataclass
class ReportContext:
    """The run and where its figures go; the shared analyses, made on first use."""

    data: RunData
    figures: Figures

    @cached_property
    def primary(self) -> PrimaryAnalysis | None:
        """The verdict's analysis; None when the run has one sampler (nothing to compare)."""
        return analyse(self.data) if len(self.data.samplers) >= 2 else None

    @cached_property
    def anytime(self) -> Anytime:
        """The best-so-far curves and what they are measured against."""
        return anytime_inputs(self.data)


Section = Callable[[ReportContext], list[str]]
