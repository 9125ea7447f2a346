"""``harness report``: a GitHub-renderable markdown report of a run, with PNG figures beside it.

Everything comes from the Optuna storage (the studies ``RUN/<sampler>/r<repeat>``) and the
run's cached results in ``runs/RUN/`` (retrained best configurations, the lab's fixed models,
the gradient-boosting reference), so regenerating a report trains nothing.

The report is ``SECTIONS`` in order: each a ``section(report) -> list[str]`` given one
``ReportContext`` (harness.report.context).
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import HarnessError
from harness.experiment.runs import DEFAULT_RUNS_ROOT, check_run_name
from harness.files import write_atomically
from harness.paths import writable_file, writable_folder
from harness.report.anytime_area import section_area
from harness.report.anytime_reach import section_trials_to_target
from harness.report.anytime_sections import section_anytime, section_wins
from harness.report.anytime_time import section_by_compute
from harness.report.benchmarks import section_benchmarks
from harness.report.context import ReportContext, Section
from harness.report.devices import section_devices
from harness.report.importance_section import section_importance
from harness.report.load import SeveralTasks, load_run
from harness.report.markdown import Figures
from harness.report.ranks import section_ranks
from harness.report.retrained import section_test
from harness.report.surrogate_trust import section_surrogate_trust
from harness.report.tables import (
    section_environment,
    section_lab,
    section_studies,
    section_timings,
)
from harness.report.tasks_report import tasks_report_text
from harness.report.verdict import section_verdict, verdict_headline


def section_header(report: ReportContext) -> list[str]:
    """The title, what the run holds, and the studies left out of every comparison."""
    data = report.data
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Run `{data.run}`: {' vs '.join(data.titles.values())} search",
        "",
        f"{len(data.studies)} studies, {data.target} trials each, objective {data.metric} "
        f"({'maximised' if data.maximize else 'minimised'}); storage `{data.url}`; "
        f"generated {now} by `harness report`.",
        "",
    ]
    if data.left_out:
        lines += [
            f"Left out, with no COMPLETE trial to compare: {'; '.join(data.left_out)}. "
            "Running the same `harness compare` again retries their trials.",
            "",
        ]
    return lines


SECTIONS: tuple[Section, ...] = (
    section_header,
    section_verdict,  # the pre-declared primary outcome first: the run's answer
    section_surrogate_trust,  # a surrogate task: how far its answer speaks for the real one
    section_ranks,  # three or more samplers, on the same outcome
    section_anytime,  # from here to trials-to-target: the search's own objective
    section_wins,
    section_area,
    section_by_compute,
    section_trials_to_target,
    section_test,
    section_importance,
    section_studies,
    section_lab,
    section_timings,
    section_devices,
    section_benchmarks,
    section_environment,
)


# a run of several tasks: each task's part, then what the run shares once
PER_TASK = SECTIONS[1:14]
RUN_WIDE = SECTIONS[14:]
assert PER_TASK[0] is section_verdict and RUN_WIDE[0] is section_devices, "SECTIONS' order"


@dataclass(frozen=True)
class ReportResult:
    """What ``write_report`` made: the markdown file, and the verdict's first sentence as the
    report prints it (None when the run has one sampler), for a command to print."""

    path: Path
    verdict: str | None


def _prepare_out(out: Path) -> Figures:
    """Fail before any work when the report or its figures cannot be written."""
    figures = Figures(out.parent / f"{out.stem}_figures", f"{out.stem}_figures")
    what = f"the report there (--out {out})"
    writable_file(out, what)
    writable_folder(figures.folder, what)
    return figures


def write_report(
    name: str, storage_url: str, out_path: str | Path, runs_root: str | Path = DEFAULT_RUNS_ROOT
) -> ReportResult:
    """Write the markdown report of run ``name`` and its PNGs."""
    check_run_name(name)
    out = Path(out_path)
    if out.suffix.lower() != ".md":
        raise HarnessError(f"--out must name a .md file, but got {str(out)!r}")
    made = [p for p in (out.parent / f"{out.stem}_figures", out.parent) if not p.exists()]
    figures = _prepare_out(out)
    try:
        try:
            report = ReportContext(load_run(name, storage_url, runs_root), figures)
        except SeveralTasks as several:  # a part per task (harness.report.tasks_report)
            text = tasks_report_text(
                name,
                storage_url,
                runs_root,
                figures,
                several.tasks,
                PER_TASK,
                RUN_WIDE,
                report_text,
            )
            write_atomically(out, text.rstrip() + "\n")
            return ReportResult(out, None)
        write_atomically(out, report_text(report))
    except BaseException:
        # a report that could not be made leaves no figures folder behind (nor reports/)
        if figures.folder in made:
            shutil.rmtree(figures.folder, ignore_errors=True)
        if out.parent in made:
            with contextlib.suppress(OSError):
                out.parent.rmdir()  # only when empty
        raise
    return ReportResult(out, verdict_headline(report))


def report_text(report: ReportContext, sections: tuple[Section, ...] = SECTIONS) -> str:
    """The report's markdown (its figures drawn into ``report.figures`` on the way)."""
    # the sections name the primary outcome by report.data.primary_title, each template's
    # {primary} field: the lab's AUROC, another kind's own metric (negated when minimised)
    text = "\n".join(line for section in sections for line in section(report))
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip() + "\n"
