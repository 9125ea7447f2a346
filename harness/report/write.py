"""``harness report``: a GitHub-renderable markdown report of a run, with PNG figures beside it.

Everything comes from the Optuna storage (the studies ``RUN/<sampler>/r<repeat>``) and the
run's cached results in ``runs/RUN/`` (retrained best configurations, the lab's fixed models,
the gradient-boosting reference), so regenerating a report trains nothing.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.experiment.runs import DEFAULT_RUNS_ROOT, check_run_name
from harness.report.anytime_sections import section_anytime, section_trials_to_target
from harness.report.benchmarks import section_benchmarks
from harness.report.devices import section_devices
from harness.report.load import (
    RunData,
    importances,
    lab_level,
    load_run,
)
from harness.report.stats import (
    completed,
)
from harness.report.tables import (
    fmt,
    image,
    md_table,
    section_environment,
    section_lab,
    section_studies,
    section_test,
    section_timings,
)
from harness.report.verdict import section_verdict

# ---------------------------------------------------------------- figure sections


@dataclass
class Figures:
    """Where the PNGs go, and how the markdown links them (relative, so GitHub renders)."""

    folder: Path
    link: str
    made: list[Path] = field(default_factory=list)

    def path(self, name: str) -> Path:
        path = self.folder / name
        self.made.append(path)
        return path

    def image(self, path: Path, alt: str) -> str:
        return image(self.link, path, alt)




def section_importance(data: RunData, figures: Figures) -> list[str]:
    from harness.report.plots import COLOURS, plot_importances, plot_slices

    table, problems = importances(data)
    lines = ["## Which hyperparameters matter most", ""]
    if not table:
        return [*lines, "Not computable: " + "; ".join(problems), ""]
    main_column = next((c for c in table if c.startswith("PED-ANOVA, all")), next(iter(table)))
    ranked = sorted(table[main_column], key=lambda p: -table[main_column][p])
    lines += [f"The lab asks which 4 hyperparameters matter most. By {main_column} (Optuna's "
              f"default evaluator): **{', '.join(ranked[:4])}**"
              + (f"; least: {', '.join(ranked[4:])}." if ranked[4:] else ".")
              + " Importances from the random sampler's trials describe the whole space; "
              "TPE's trials crowd into good regions, so theirs describe the neighbourhood of "
              "the optimum. fANOVA (32 trees, seed 0) on all trials is a cross-check.",
              ""]  # fmt: skip
    params = sorted({p for c in table.values() for p in c}, key=lambda p: ranked.index(p)
                    if p in ranked else 99)  # fmt: skip
    rows = [[p, *[fmt(table[c].get(p), 3) for c in table]] for p in params]
    lines += [md_table(["hyperparameter", *table], rows), ""]
    lines += [f"- {p}" for p in problems]
    colours = {f"PED-ANOVA, {data.title(s)} trials": COLOURS.get(s, "") for s in data.samplers}
    png = plot_importances(figures.path("importances.png"), table,
                           title="Hyperparameter importance of the validation objective",
                           colours={k: v for k, v in colours.items() if v},
                           order=params)  # fmt: skip
    distributions = _distributions(data)
    trials = {s: [t for st in data.of(s) for t in completed(st.trials)] for s in data.samplers}
    slices = plot_slices(figures.path("slices.png"), trials, distributions, data.titles,
                         title=f"{data.metric} of each completed trial by hyperparameter",
                         ylabel=data.metric + (" (fraction)" if data.maximize else ""),
                         maximize=data.maximize)  # fmt: skip
    return [
        *lines,
        figures.image(png, "hyperparameter importances"),
        "",
        figures.image(slices, "slice plot: objective by hyperparameter value"),
        "",
    ]


def _distributions(data: RunData) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for st in data.studies:
        for trial in completed(st.trials):
            for name, dist in trial.distributions.items():
                out.setdefault(name, dist)
    order = ("hidden_size", "lr", "batch_size", "weight_decay", "dropout")
    return dict(sorted(out.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9))


# ---------------------------------------------------------------- the report


def _prepare_out(out: Path) -> Figures:
    """Fail before any work when the report or its figures cannot be written."""
    figures = Figures(out.parent / f"{out.stem}_figures", f"{out.stem}_figures")
    try:
        if out.is_dir():
            raise IsADirectoryError(21, "is a directory")
        figures.folder.mkdir(parents=True, exist_ok=True)
        probe = figures.folder / ".write-check"
        probe.touch()
        probe.unlink()
        if out.exists():
            with out.open("a"):
                pass
    except OSError as err:
        raise HarnessError(f"--out {out}: cannot write the report there "
                           f"({err.strerror or err})") from None  # fmt: skip
    return figures


def write_report(name: str, storage_url: str, out_path: str | Path,
                 runs_root: str | Path = DEFAULT_RUNS_ROOT) -> Path:  # fmt: skip
    """Write the markdown report of run ``name`` and its PNGs; return the markdown's path."""
    check_run_name(name)
    out = Path(out_path)
    if out.suffix.lower() != ".md":
        raise HarnessError(f"--out must name a .md file, but got {str(out)!r}")
    created = not (out.parent / f"{out.stem}_figures").exists()
    figures = _prepare_out(out)
    try:
        data = load_run(name, storage_url, runs_root)
    except HarnessError:
        if created:  # a report that could not be made leaves no empty folder behind
            shutil.rmtree(figures.folder, ignore_errors=True)
        raise
    level, level_source = lab_level(data)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = [f"# Run `{name}`: {' vs '.join(data.titles.values())} search", "",
            f"{len(data.studies)} studies, {data.target} trials each, objective {data.metric} "
            f"({'maximised' if data.maximize else 'minimised'}); storage `{data.url}`; "
            f"generated {now} by `harness report`.", ""]  # fmt: skip
    sections = [
        head,
        section_verdict(data, figures),
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
    out.write_text(text.rstrip() + "\n")
    return out
