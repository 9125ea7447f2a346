"""``harness run``: the whole lab in one resumable command. Every check first, then the paired
comparison (``run_compare``: the lab's fixed models, the studies, the retraining), then the
report, then the lines that say what was decided and where everything is.

The report is written by ``harness.report``, a layer above this one (it reads a run's files):
the command hands its writer in, as a ``ReportWriter`` that also gives the verdict's sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.experiment.config import CompareConfig, Preset
from harness.experiment.run_files import locked_run
from harness.paths import writable_file
from harness.search.interrupts import Terminated
from harness.search.ray_setup import check_ray


@dataclass(frozen=True)
class WrittenReport:
    path: Path
    verdict: str | None  # the verdict's first sentence; None for a report without one


# (run name, storage URL, report file) -> the report written
ReportWriter = Callable[[str, str, Path], WrittenReport]


def run_lab(
    config: CompareConfig,
    preset: Preset,
    out: Path,
    write_report: ReportWriter,
    log: Callable[[str], None],
) -> list[str]:
    """Run (or continue) the run of ``config`` and write its report to ``out``; the closing
    lines for the user: the verdict, the report, the dashboard."""
    # Every check before the first file: the address (in seconds, before importing torch),
    # the space, the storage, then the report's folder (writable_file creates it), so a
    # refused run leaves no empty reports/ or runs/RUN/.
    check_ray(config.study)
    from harness.experiment.compare import run_compare
    from harness.experiment.runs import run_dir
    from harness.search.storage import open_storage, redact_url, storage_errors, storage_url
    from harness.search.task_space import load_task_space

    load_task_space(config.study.task, config.study.space_path)
    url = storage_url(config.study.storage)
    open_storage(url)
    writable_file(out)
    name, shown = config.run, redact_url(url)
    log(
        f"run {name!r} ({preset.name} preset): {config.study.trials} trials per study; "
        f"storage {shown}" + (f"; {preset.hint}" if preset.hint else "")
    )
    log(f"watch it live: harness dashboard --storage '{shown}'")
    directory = run_dir(name, config.runs_root)
    with locked_run(directory, f"harness run --name {name}"), storage_errors(url):
        try:
            run_compare(config, log=log)
        except KeyboardInterrupt as err:
            if not isinstance(err, Terminated):  # SIGTERM: main() prints the one line
                log(f"interrupted; run the same command again to continue run {name!r}")
            raise
        report = write_report(name, url, out)
    verdict = [f"verdict: {report.verdict}"] if report.verdict else []
    return [*verdict, f"report: {report.path}", f"dashboard: harness dashboard --storage '{shown}'"]
