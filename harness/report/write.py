"""``harness report``: a GitHub-renderable markdown report of a run, with PNG figures beside it.

Everything comes from the Optuna storage (the studies ``RUN/<sampler>/r<repeat>``) and the
run's cached results in ``runs/RUN/`` (retrained best configurations, the lab's fixed models,
the gradient-boosting reference), so regenerating a report trains nothing.
"""

from __future__ import annotations

import contextlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import HarnessError
from harness.experiment.runs import DEFAULT_RUNS_ROOT, check_run_name
from harness.files import write_atomically
from harness.paths import writable_file, writable_folder
from harness.report.anytime_reach import section_trials_to_target
from harness.report.anytime_sections import section_anytime
from harness.report.benchmarks import section_benchmarks
from harness.report.devices import section_devices
from harness.report.importance import section_importance
from harness.report.load import (
    lab_level,
    load_run,
)
from harness.report.markdown import Figures
from harness.report.ranks import section_ranks
from harness.report.tables import (
    section_environment,
    section_lab,
    section_studies,
    section_test,
    section_timings,
)
from harness.report.verdict import section_verdict

# ---------------------------------------------------------------- the report


def _prepare_out(out: Path) -> Figures:
    """Fail before any work when the report or its figures cannot be written."""
    figures = Figures(out.parent / f"{out.stem}_figures", f"{out.stem}_figures")
    what = f"the report there (--out {out})"
    writable_file(out, what)
    writable_folder(figures.folder, what)
    return figures


def write_report(
    name: str, storage_url: str, out_path: str | Path, runs_root: str | Path = DEFAULT_RUNS_ROOT
) -> Path:
    """Write the markdown report of run ``name`` and its PNGs; return the markdown's path."""
    check_run_name(name)
    out = Path(out_path)
    if out.suffix.lower() != ".md":
        raise HarnessError(f"--out must name a .md file, but got {str(out)!r}")
    made = [p for p in (out.parent / f"{out.stem}_figures", out.parent) if not p.exists()]
    figures = _prepare_out(out)
    try:
        text = _report_text(name, storage_url, runs_root, figures)
        write_atomically(out, text)
    except BaseException:
        # a report that could not be made leaves no figures folder behind (nor reports/)
        if figures.folder in made:
            shutil.rmtree(figures.folder, ignore_errors=True)
        if out.parent in made:
            with contextlib.suppress(OSError):
                out.parent.rmdir()  # only when empty
        raise
    return out


def _report_text(name: str, storage_url: str, runs_root: str | Path, figures: Figures) -> str:
    """The report's markdown (its figures drawn into ``figures`` on the way)."""
    data = load_run(name, storage_url, runs_root)
    level, level_source = lab_level(data)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = [
        f"# Run `{name}`: {' vs '.join(data.titles.values())} search",
        "",
        f"{len(data.studies)} studies, {data.target} trials each, objective {data.metric} "
        f"({'maximised' if data.maximize else 'minimised'}); storage `{data.url}`; "
        f"generated {now} by `harness report`.",
        "",
    ]
    if data.left_out:
        head += [
            f"Left out, with no COMPLETE trial to compare: {'; '.join(data.left_out)}. "
            "Running the same `harness compare` again retries their trials.",
            "",
        ]
    sections = [
        head,
        section_verdict(data, figures),
        section_ranks(data, figures),
        section_anytime(
            data, figures, level if data.objective == "val_auroc" else None, level_source
        ),
        section_trials_to_target(data, figures),
        section_test(data),
        section_importance(data, figures),
        section_studies(data),
        section_lab(data),
        section_timings(data),
        section_devices(runs_root),
        section_benchmarks(runs_root),
        section_environment(data),
    ]
    text = "\n".join(line for section in sections for line in section)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip() + "\n"
