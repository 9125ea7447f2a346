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

import numpy as np

from harness.errors import HarnessError
from harness.experiment.runs import DEFAULT_RUNS_ROOT, check_run_name
from harness.report.benchmarks import section_benchmarks
from harness.report.devices import section_devices
from harness.report.load import (
    BOOTSTRAP,
    RunData,
    final_bests,
    importances,
    lab_level,
    load_run,
    paired_tests,
    shared_start,
)
from harness.report.ranks import section_ranks
from harness.report.stats import (
    IDLE_GAP,
    bootstrap_median_band,
    completed,
    completion_seconds,
    signed_difference,
    stack,
    time_curve,
    trial_curve,
    trials_to_reach,
    verdict,
)
from harness.report.tables import (
    fmt,
    image,
    md_table,
    mean_std,
    section_environment,
    section_lab,
    section_studies,
    section_test,
    section_timings,
)

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


def section_verdict(data: RunData, finals, tests, figures: Figures) -> list[str]:
    from harness.report.plots import plot_paired_finals

    lines = ["## Verdict", ""]
    if not tests:
        lines += [f"Only one sampler ({data.title(data.samplers[0])}) is in this run: there is "
                  "nothing to compare.", ""]  # fmt: skip
    for first, other, _common, test in tests:
        text = verdict(test, (data.title(first), data.title(other)), maximize=data.maximize,
                       metric=data.metric, trials=data.target)  # fmt: skip
        lines += [f"**{data.title(first)} vs {data.title(other)}.** {text}", ""]
        lines += _shared_note(data, first, other)
    lines += [f"- {note}" for note in dict.fromkeys(data.notes)]
    lines += ["", f"Best {data.metric} after {data.target} trials, per sampler:", ""]
    rows = []
    for sampler in data.samplers:
        values = list(finals[sampler].values())
        rows.append([data.title(sampler), str(len(values)),
                     fmt(float(np.median(values))) if values else "—", mean_std(values),
                     fmt(min(values, default=None)), fmt(max(values, default=None))])  # fmt: skip
    lines += [md_table(["sampler", "repeats", "median", "mean ± std", "min", "max"], rows), ""]
    if tests:
        header = ["pair", "pairs", "non-tied", "W", "p (two-sided)", "method",
                  "rank-biserial r", "median diff", "mean diff"]  # fmt: skip
        rows = [[f"{data.title(a)} - {data.title(b)}", str(t.n_pairs), str(t.n_nonzero),
                 fmt(t.statistic, 1), f"{t.p_value:.4g}", t.method, f"{t.rank_biserial:+.3f}",
                 signed_difference(t.median_difference), signed_difference(t.mean_difference)]
                for a, b, _, t in tests]  # fmt: skip
        lines += [md_table(header, rows), ""]
    path = plot_paired_finals(
        figures.path("final_best_paired.png"), finals, data.titles,
        title=f"Best {data.metric} after {data.target} trials, paired by repeat",
        ylabel=f"best {data.metric} (fraction)" if data.maximize else f"best {data.metric}",
    )  # fmt: skip
    return [*lines, figures.image(path, "final best value per repeat and sampler"), ""]


def _shared_note(data: RunData, first: str, other: str) -> list[str]:
    """Say how many leading trials a pair shares (TPE's random start-up uses the repeat's seed,
    like the random sampler), and whether any trials were left to tell the samplers apart."""
    shared = shared_start(data, first, other)
    if not shared or max(shared) == 0:
        return []
    a, b = data.title(first), data.title(other)
    k = int(np.median(shared))
    spread = f" (median; {min(shared)} to {max(shared)})" if min(shared) != max(shared) else ""
    if min(shared) >= data.target:
        return [f"All {data.target} compared trials of {a} and {b} had identical configurations "
                f"in every repeat: {a} had not yet left its random start-up, which draws what "
                f"{b} draws with the same seed. This run cannot tell the samplers apart; run "
                f"more trials than {a}'s start-up trials.", ""]  # fmt: skip
    return [f"Both samplers of a repeat share its seed, and the first {k} trials{spread} of {a} "
            f"and {b} had identical configurations ({a}'s random start-up draws what {b} "
            f"draws): the paired differences come from the trials after them.", ""]  # fmt: skip


def _time_unit(seconds: float) -> tuple[float, str]:
    if seconds > 2 * 3600:
        return 3600.0, "h"
    if seconds > 120:
        return 60.0, "min"
    return 1.0, "s"


def section_curves(data: RunData, level: float | None, level_source: str,
                   figures: Figures) -> list[str]:  # fmt: skip
    from harness.report.plots import plot_bands

    boot = {"resamples": BOOTSTRAP["resamples"], "seed": BOOTSTRAP["seed"],
            "confidence": BOOTSTRAP["confidence"]}  # fmt: skip
    y_label = f"best {data.metric} so far" + (" (fraction)" if data.objective == "val_auroc"
                                              else " (BCE, nats)")  # fmt: skip
    level_label = "lab's best validation level (NormalizingMLP)"
    by_trial = {s: bootstrap_median_band(stack([trial_curve(st.trials, data.maximize)
                                                for st in data.of(s)], data.target), **boot)
                for s in data.samplers}  # fmt: skip
    x = np.arange(1, data.target + 1)
    trial_png = plot_bands(
        figures.path("best_by_trial.png"), x, by_trial, data.titles,
        title=f"Best {data.metric} so far by trial (median and "
              f"{100 * BOOTSTRAP['confidence']:.0f}% bootstrap band over repeats)",
        xlabel="trial number (finished trials, count)", ylabel=y_label,
        level=level, level_label=level_label, integer_x=True,
    )  # fmt: skip
    timed = {st.name: completion_seconds(st.trials, data.target) for st in data.studies}
    end = max((t[0][-1] for t in timed.values() if t[0].size), default=1.0)
    scale, unit = _time_unit(end)
    grid = np.linspace(0, end, 300)
    by_time = {}
    for sampler in data.samplers:
        matrix = stack([time_curve(*timed[st.name], grid, data.maximize)
                        for st in data.of(sampler)])  # fmt: skip
        # A median over the few repeats that already finished a trial jumps about: start the
        # curve once every repeat has a value.
        matrix[:, np.isnan(matrix).any(axis=0)] = np.nan
        by_time[sampler] = bootstrap_median_band(matrix, **boot)
    time_png = plot_bands(
        figures.path("best_by_time.png"), grid / scale, by_time, data.titles,
        title=f"Best {data.metric} so far by wall-clock time (median and "
              f"{100 * BOOTSTRAP['confidence']:.0f}% bootstrap band over repeats)",
        xlabel=f"wall-clock time since the study's first trial started ({unit})",
        ylabel=y_label, level=level, level_label=level_label,
    )  # fmt: skip
    return [
        f"## Best {data.metric} so far", "",
        f"For each repeat, the best value among its first *n* finished trials; the line is "
        f"the median over repeats, the band a percentile bootstrap of that median "
        f"({BOOTSTRAP['resamples']} resamples of the repeats, numpy seed {BOOTSTRAP['seed']}). "
        "A pruned trial counts as a trial (it spent the budget) and adds no value; failed "
        "trials are retried, so not counted (see the per-study table). "
        "Wall-clock curves start once every repeat has finished a trial; time includes "
        "queueing on the workers (a run's studies run one after another), but stretches of "
        f"more than {IDLE_GAP:.0f} s with no trial running (a study stopped and resumed "
        "later) are cut out.",
        "", figures.image(trial_png, "best value so far by trial"), "",
        figures.image(time_png, "best value so far by wall-clock time"), "",
        f"Dashed line: {level_label}, {fmt(level)} ({level_source})." if level else "", "",
    ]  # fmt: skip


def section_reach(data: RunData, level: float, level_source: str) -> list[str]:
    lines = ["## Trials needed to reach the lab's best validation level", ""]
    if data.objective != "val_auroc":
        return [*lines, f"Not computed: this run optimised {data.metric}, and the lab's level "
                        "is a validation AUROC.", ""]  # fmt: skip
    lines += [
        f"Level: **{fmt(level)}**, {level_source}. A repeat that never reached it within "
        f"{data.target} trials counts as more than {data.target} (shown as —).",
        "",
    ]
    rows = []
    for sampler in data.samplers:
        needed = {st.repeat: trials_to_reach(trial_curve(st.trials, True)[: data.target], level)
                  for st in data.of(sampler)}  # fmt: skip
        ranked = sorted(_or_inf(v) for v in needed.values())
        median = float(np.median(ranked)) if ranked else np.inf
        rows.append([
            data.title(sampler), f"{sum(v is not None for v in needed.values())} of {len(needed)}",
            f"{median:g}" if np.isfinite(median) else f"> {data.target}",
            ", ".join(f"r{r}: {v if v is not None else '—'}" for r, v in sorted(needed.items())),
        ])  # fmt: skip
    header = ["sampler", "repeats that reached it", "median trials needed", "per repeat"]
    return [*lines, md_table(header, rows), ""]


def _or_inf(value: int | None) -> float:
    return float("inf") if value is None else float(value)


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
    finals = final_bests(data)
    tests = paired_tests(data, finals)
    level, level_source = lab_level(data)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = [f"# Run `{name}`: {' vs '.join(data.titles.values())} search", "",
            f"{len(data.studies)} studies, {data.target} trials each, objective {data.metric} "
            f"({'maximised' if data.maximize else 'minimised'}); storage `{data.url}`; "
            f"generated {now} by `harness report`.", ""]  # fmt: skip
    sections = [
        head,
        section_verdict(data, finals, tests, figures),
        section_ranks(data, figures),
        section_curves(
            data, level if data.objective == "val_auroc" else None, level_source, figures
        ),
        section_reach(data, level, level_source),
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
