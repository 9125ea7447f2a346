"""The report of a run of several tasks: the across-task sections (``ACROSS_TASKS``), then one
part per task, each the sections of a one-task report on that task's studies alone, then what
the whole run shares (devices, benchmarks, environment) once.

Each task's figures go to a folder of their own (``RUN_figures/<task>/``): the sections name
their PNGs alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.report.across_run import section_across_tasks
from harness.report.context import ReportContext, Section
from harness.report.load import load_run
from harness.report.markdown import Figures
from harness.report.task_outcomes import TaskOutcome, task_outcomes

# An across-task section: the run's outcomes per (task, sampler, repeat), and where its
# figures go; its lines come before the per-task parts. harness/report/across_tasks.py (the
# across-task analysis: normalised scores, IQM, ranks, critical differences) lists its
# sections here.
AcrossSection = Callable[[list[TaskOutcome], Figures], list[str]]
ACROSS_TASKS: list[AcrossSection] = [section_across_tasks]


def tasks_report_text(
    run: str,
    storage_url: str,
    runs_root: str | Path,
    figures: Figures,
    tasks: list[str],
    per_task: tuple[Section, ...],
    run_wide: tuple[Section, ...],
    text_of: Callable[[ReportContext, tuple[Section, ...]], str],
) -> str:
    """The markdown of a run of several tasks (the module's text)."""
    outcomes = task_outcomes(run, storage_url, runs_root)
    lines = [
        f"# Run `{run}`: {len(tasks)} tasks",
        "",
        f"Tasks: {', '.join(f'`{t}`' for t in tasks)}; studies `{run}/<task>/<sampler>/r<repeat>`.",
        "",
    ]
    for section in ACROSS_TASKS:
        lines += section(outcomes, figures)
    parts = ["\n".join(lines)]
    context = None
    for task in tasks:
        folder = Figures(figures.folder / task, f"{figures.link}/{task}")
        folder.folder.mkdir(parents=True, exist_ok=True)
        context = ReportContext(load_run(run, storage_url, runs_root, task), folder)
        data = context.data
        parts.append(
            f"# Task `{task}` ({data.kind}; objective {data.metric}, "
            f"{'maximised' if data.maximize else 'minimised'})\n\n"
            f"{len(data.studies)} studies, {data.target} trials each."
        )
        parts.append(text_of(context, per_task))
    if context is not None:
        parts.append("# The run as a whole")
        parts.append(text_of(context, run_wide))
    return "\n\n".join(parts)
