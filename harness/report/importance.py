"""Which hyperparameters matter most: importances with bootstrap intervals, and an answer to
"which 4" only where the methods agree.

Each method runs on the trials whose spread it assumes: fANOVA decomposes the objective's
variance over the whole space, so it gets the random-search trials only (they sample the whole
space); PED-ANOVA compares the top quantile of trials with all of them, so it runs per sampler
and tells what matters where that sampler searched. TPE's random start-up trials repeat the
random-search trials of the same repeat (both are seeded with the repeat), so they are counted
once, in the random-search set. Intervals come from resampling the repeats, the independent
unit of a run; trials within a study depend on each other through the sampler.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.trial import FrozenTrial

from harness.report.config import IMPORTANCE_BOOTSTRAP
from harness.report.load import RunData, shared_start
from harness.report.markdown import md_table, ordinal
from harness.report.stats import completed

if TYPE_CHECKING:
    from optuna.importance import BaseImportanceEvaluator

    from harness.report.context import ReportContext

TOP = 4  # the lab's question: which 4 hyperparameters matter most
# fANOVA's cost is Optuna's pure-Python walk over every tree's leaves, run once per resample
# (config.IMPORTANCE_BOOTSTRAP). Depth 5 (at most 32 leaves) cuts a 300-trial fit from ~2.2 s
# (depth 64, the default) to ~0.2 s; on a 10-repeat synthetic run the importances agreed with
# depth 64 to 0.01.
FANOVA = {"n_trees": 32, "max_depth": 5, "seed": 0}
ROUGH_BELOW = 5  # repeats: fewer give few distinct resamples, so a rough interval
RANDOM = "random"  # the sampler whose trials spread over the whole space
EQUAL = "importances will be equal"  # Optuna's warning when PED-ANOVA cannot tell params apart


def _fanova() -> BaseImportanceEvaluator:
    from optuna.importance import FanovaImportanceEvaluator

    return FanovaImportanceEvaluator(**FANOVA)


def _ped_anova() -> BaseImportanceEvaluator:
    from optuna.importance import PedAnovaImportanceEvaluator

    # Optuna's defaults, named so the text stays true: the top 10% against all trials
    return PedAnovaImportanceEvaluator(target_quantile=0.1, region_quantile=1.0)


EVALUATORS: dict[str, Callable[[], BaseImportanceEvaluator]] = {
    "fANOVA": _fanova,
    "PED-ANOVA": _ped_anova,
}


@dataclass(frozen=True)
class TrialSet:
    """The trials one method is run on, grouped by repeat (the unit the bootstrap resamples)."""

    method: str  # a key of EVALUATORS
    sampler: str
    title: str  # e.g. "random-search trials"
    by_repeat: dict[int, list[FrozenTrial]]
    shared: int = 0  # leading trials left out: they repeat the random-search trials

    @property
    def label(self) -> str:
        return f"{self.method}, {self.title}"

    @property
    def trials(self) -> list[FrozenTrial]:
        return [t for r in sorted(self.by_repeat) for t in self.by_repeat[r]]


@dataclass(frozen=True)
class Importance:
    """One method's importances: the estimate on all repeats and its bootstrap interval."""

    label: str
    sampler: str
    trials: int  # given to the evaluator for the estimate on all repeats
    repeats: int
    point: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    top_share: dict[str, float]  # fraction of evaluated resamples with the param in the top
    resamples: int  # evaluated
    skipped: int  # could not be evaluated

    def ranking(self) -> list[str]:
        return sorted(self.point, key=lambda p: (-self.point[p], p))

    def cell(self, param: str, digits: int = 2) -> str:
        """``0.62 [0.50, 0.75]``: never the estimate without its interval."""
        if param not in self.point:
            return "—"
        low, high = self.low.get(param, math.nan), self.high.get(param, math.nan)
        interval = f"[{low:.{digits}f}, {high:.{digits}f}]" if np.isfinite(low) else "[no interval]"
        return f"{self.point[param]:.{digits}f} {interval}"


# ---------------------------------------------------------------- trial sets


def trial_sets(data: RunData) -> list[TrialSet]:
    """fANOVA on the random-search trials; PED-ANOVA per sampler, each sampler's start-up
    trials that repeat the random-search ones left out (they stay in the random-search set)."""
    sets = []
    if RANDOM in data.samplers:
        random = {st.repeat: completed(st.trials) for st in data.of(RANDOM)}
        sets.append(TrialSet("fANOVA", RANDOM, "random-search trials", random))
    for sampler in data.samplers:
        shared: dict[int, int] = {}
        if sampler != RANDOM and RANDOM in data.samplers:
            common = {s.repeat for s in data.of(RANDOM)} & {s.repeat for s in data.of(sampler)}
            shared = dict(zip(sorted(common), shared_start(data, RANDOM, sampler), strict=True))
        by_repeat = {}
        for st in data.of(sampler):
            # trial numbers, not positions: a failed trial among the shared ones still counts
            leading = sorted(st.trials, key=lambda t: t.number)[: shared.get(st.repeat, 0)]
            skip = {t.number for t in leading}
            by_repeat[st.repeat] = [t for t in completed(st.trials) if t.number not in skip]
        title = "random-search trials" if sampler == RANDOM else f"{data.title(sampler)} trials"
        sets.append(TrialSet("PED-ANOVA", sampler, title, by_repeat, sum(shared.values())))
    return sets


# ---------------------------------------------------------------- estimates


def evaluate(trials: Sequence[FrozenTrial], method: str, maximize: bool) -> dict[str, float]:
    """Normalised importances of ``trials`` by ``method``; ValueError when they cannot be told
    apart (too few trials, or Optuna's PED-ANOVA reports that all would be equal)."""
    import optuna
    from optuna.importance import get_param_importances

    if len(trials) < 2:
        raise ValueError(f"at least 2 completed trials are needed, but got {len(trials)}")
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    study.add_trials(trials)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = get_param_importances(study, evaluator=EVALUATORS[method]())
    if any(EQUAL in str(w.message) for w in caught):
        raise ValueError(
            f"Optuna's {method} says the {len(trials)} trials cannot tell the "
            "parameters apart (importances will be equal)"
        )
    out = {p: float(v) for p, v in values.items()}
    if not all(np.isfinite(v) for v in out.values()):
        raise ValueError(f"{method} gave a non-finite importance on {len(trials)} trials")
    return out


def estimate(
    trial_set: TrialSet,
    maximize: bool,
    *,
    resamples: int = IMPORTANCE_BOOTSTRAP.resamples,
    seed: int = IMPORTANCE_BOOTSTRAP.seed,
    confidence: float = IMPORTANCE_BOOTSTRAP.confidence,
    top: int = TOP,
) -> Importance:
    """The importances on all repeats and their percentile bootstrap interval over repeats.

    Every method draws the same resamples (one seed), so their intervals are paired. A resample
    is a multiset of repeats; equal multisets give equal importances (the evaluators are
    seeded), so each is evaluated once: 3 repeats have only 10. ValueError when the estimate on
    all repeats cannot be made; a resample that cannot be evaluated is skipped and counted.
    """
    repeats = sorted(trial_set.by_repeat)
    groups = [[_bare(t) for t in trial_set.by_repeat[r]] for r in repeats]
    cache: dict[tuple[int, ...], dict[str, float] | None] = {}

    def importances_of(draw: tuple[int, ...]) -> dict[str, float] | None:
        if draw not in cache:
            try:
                cache[draw] = evaluate(
                    [t for i in draw for t in groups[i]], trial_set.method, maximize
                )
            except (ValueError, RuntimeError, ZeroDivisionError):
                cache[draw] = None
        return cache[draw]

    point = evaluate([t for group in groups for t in group], trial_set.method, maximize)
    cache[tuple(range(len(repeats)))] = point
    params = sorted(point)
    draws = np.random.default_rng(seed).integers(0, len(repeats), size=(resamples, len(repeats)))
    rows = [importances_of(tuple(sorted(int(i) for i in draw))) for draw in draws]
    samples = np.array([[row.get(p, 0.0) for p in params] for row in rows if row is not None])
    skipped = sum(row is None for row in rows)
    if samples.size:
        tail = 100 * (1 - confidence) / 2
        low, high = np.percentile(samples, [tail, 100 - tail], axis=0)
        # rank within each resample (ties broken by name, as ranking() does)
        order = np.argsort(-samples + 1e-12 * np.arange(len(params)), axis=1, kind="stable")
        in_top = np.zeros_like(samples, dtype=bool)
        np.put_along_axis(in_top, order[:, :top], True, axis=1)
        share = in_top.mean(axis=0)
    else:
        low = high = share = np.full(len(params), np.nan)
    return Importance(
        trial_set.label,
        trial_set.sampler,
        len(trial_set.trials),
        len(repeats),
        point,
        dict(zip(params, map(float, low), strict=True)),
        dict(zip(params, map(float, high), strict=True)),
        dict(zip(params, map(float, share), strict=True)),
        len(samples),
        skipped,
    )


def _bare(trial: FrozenTrial) -> FrozenTrial:
    """Only what an evaluator reads: add_trials deep-copies every trial, attributes and
    learning curves included, once per resample."""
    from optuna.trial import create_trial

    return create_trial(params=trial.params, distributions=trial.distributions, value=trial.value)


def importances(
    data: RunData, **bootstrap: Any
) -> tuple[list[Importance], list[TrialSet], list[str]]:
    """Every method's importances with intervals, the trial sets, and why any is missing."""
    import optuna

    results, problems = [], []
    sets = trial_sets(data)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study" line per resample
    try:
        for trial_set in sets:
            try:
                results.append(estimate(trial_set, data.maximize, **bootstrap))
            except (ValueError, RuntimeError, ZeroDivisionError) as err:
                problems.append(
                    f"{trial_set.label} ({len(trial_set.trials)} trials): not computable ({err})"
                )
    finally:
        optuna.logging.set_verbosity(verbosity)
    return results, sets, problems


# ---------------------------------------------------------------- the answer, in words

WHY = (
    "Why methods can disagree: fANOVA measures how much of the objective's variance over "
    "the whole space each hyperparameter explains; PED-ANOVA compares the top 10% of trials "
    "with all of them, so it tells what matters near the optimum; and a sampler's own "
    "trials describe only where it searched (TPE's crowd into good regions, where a "
    "hyperparameter that is already right no longer varies the objective)."
)


def _where(labels: Sequence[str], ranks: Mapping[str, Mapping[str, int]], param: str) -> str:
    return "; ".join(f"{label} ({ordinal(ranks[label][param])})" for label in labels)


def agreement(results: Sequence[Importance], top: int = TOP) -> list[str]:
    """Markdown lines answering "which ``top`` matter most" only as far as the methods agree,
    then every rank the bootstrap leaves unsettled. Pure: tables in, words out."""
    if not results:
        return []
    params = sorted({p for r in results for p in r.point})
    if len(params) <= top:
        return [
            f"The space has only {len(params)} hyperparameters, so all of them are among "
            f"the {top} that matter most; there is no choice to make.",
            "",
        ]
    tops = {r.label: r.ranking()[:top] for r in results}
    ranks = {r.label: {p: i + 1 for i, p in enumerate(r.ranking())} for r in results}
    lines = []
    if len(results) == 1:
        ((label, chosen),) = tops.items()
        lines += [
            f"Only {label} could be computed, so nothing cross-checks it. By it, the "
            f"{top} that matter most are **{', '.join(chosen)}**.",
            "",
        ]
    elif all(set(chosen) == set(tops[results[0].label]) for chosen in tops.values()):
        first = results[0].ranking()
        rest = [p for p in first if p not in first[:top]]
        lines += [
            f"**All methods agree** on the {top} that matter most: "
            f"**{', '.join(first[:top])}** (least: {', '.join(rest)})."
        ]
        if len({tuple(chosen) for chosen in tops.values()}) == 1:
            lines += ["They also rank them in the same order.", ""]
        else:
            lines += [
                "They order them differently: "
                + "; ".join(f"{label}: {' > '.join(o)}" for label, o in tops.items())
                + ".",
                "",
            ]
    else:
        common = [p for p in results[0].ranking() if all(p in chosen for chosen in tops.values())]
        lines += [
            f"**The methods disagree** on which {top} matter most, so this report names "
            f"no {top}. "
            + (
                f"Every method has **{', '.join(common)}** in its top {top}."
                if common
                else f"No hyperparameter is in every method's top {top}."
            ),
            "",
        ]
        for param in params:
            inside = [label for label, chosen in tops.items() if param in chosen]
            if inside and len(inside) < len(tops):
                outside = [label for label in tops if label not in inside]
                lines.append(
                    f"- {param}: in the top {top} of {_where(inside, ranks, param)}; "
                    f"not of {_where(outside, ranks, param)}."
                )
        lines += ["", WHY, ""]
    flags = unsettled(results, top)
    if flags:  # an agreement the intervals do not settle is no answer yet
        lines += [
            "Read any such answer with the intervals: these repeats leave the top-"
            f"{top} line unsettled.",
            "",
        ]
    return lines + flags


def unsettled(results: Sequence[Importance], top: int = TOP) -> list[str]:
    """A line per method whose top-``top`` line the intervals do not settle: a parameter
    outside its top ``top`` whose interval overlaps that of one inside."""
    lines = []
    for r in results:
        ranking = r.ranking()
        rank = {p: i + 1 for i, p in enumerate(ranking)}
        for out in ranking[top:]:
            overlap = [
                p
                for p in ranking[:top]
                if np.isfinite(r.low.get(p, np.nan)) and r.low[p] <= r.high[out]
            ]
            if not overlap:
                continue
            inside = ", ".join(f"{p} ({ordinal(rank[p])})" for p in overlap)
            shares = ", ".join(f"{p} {100 * r.top_share[p]:.0f}%" for p in [*overlap, out])
            lines.append(
                f"- **Unsettled**, {r.label}: the interval of {out} "
                f"({ordinal(rank[out])}, {r.cell(out)}) overlaps those of {inside}; "
                f"these repeats do not settle which are in the top {top} (share of "
                f"resamples with each in the top {top}: {shares})."
            )
    return [*lines, ""] if lines else []


# ---------------------------------------------------------------- the section


def section_importance(report: ReportContext) -> list[str]:
    data, figures = report.data, report.figures
    from harness.report.importance_plots import plot_importances, plot_slices
    from harness.report.plots import COLOURS, FALLBACK_COLOURS

    results, sets, problems = importances(data)
    lines = ["## Which hyperparameters matter most", ""]
    if not results:
        return [*lines, "Not computable: " + "; ".join(problems), ""]
    repeats = max(r.repeats for r in results)
    distinct = math.comb(2 * repeats - 1, repeats)
    confidence = f"{100 * IMPORTANCE_BOOTSTRAP.confidence:.0f}%"
    lines += [
        f"The lab asks which {TOP} hyperparameters matter most. Each method runs on the "
        "trials whose spread it assumes:",
        "",
        f"- **fANOVA on the random-search trials** ({FANOVA['n_trees']} trees, max depth "
        f"{FANOVA['max_depth']}, seed {FANOVA['seed']}): random search samples the whole "
        "space, as fANOVA's variance decomposition over the space assumes.",
        "- **PED-ANOVA per sampler** (Optuna's PedAnovaImportanceEvaluator, the top 10% of "
        "trials against all of them): what matters near the optimum, where that sampler "
        "searched.",
    ]
    for s in sets:
        if s.shared:
            lines.append(
                f"- {s.label} leaves out {s.shared} start-up trials in all: the first "
                f"trials of each repeat, which had the same configurations as the "
                f"random-search trials of that repeat (same seed); they count once, "
                f"in the random-search set."
            )
    rough = (
        f" With only {repeats} repeats there are {distinct} distinct resamples: the "
        "intervals are rough."
        if repeats < ROUGH_BELOW
        else ""
    )
    lines += [
        "",
        f"Each importance is a fraction of that method's total (they sum to 1), with "
        f"its {confidence} percentile bootstrap interval over repeats: "
        f"{IMPORTANCE_BOOTSTRAP.resamples} resamples of the {repeats} repeats with replacement "
        f"(numpy seed {IMPORTANCE_BOOTSTRAP.seed}), each method recomputed on each.{rough}",
        "",
    ]
    lines += agreement(results)
    order = results[0].ranking()
    rows = [[p, *[r.cell(p) for r in results]] for p in order]
    rows.append(["trials (repeats)", *[f"{r.trials} ({r.repeats})" for r in results]])
    rows.append(["resamples used (skipped)", *[f"{r.resamples} ({r.skipped})" for r in results]])
    lines += [md_table(["hyperparameter", *[r.label for r in results]], rows), ""]
    if any(r.skipped for r in results):
        lines += [
            "A skipped resample could not be evaluated (too few trials to tell the "
            "hyperparameters apart); the interval uses the others.",
            "",
        ]
    lines += [f"- {p}" for p in problems]
    colours = {
        r.label: (
            FALLBACK_COLOURS[0] if r.label.startswith("fANOVA") else COLOURS.get(r.sampler, "")
        )
        for r in results
    }
    png = plot_importances(
        figures.path("importances.png"),
        {r.label: r.point for r in results},
        title="Hyperparameter importance of the validation objective",
        colours={k: v for k, v in colours.items() if v},
        order=order,
        intervals={r.label: {p: (r.low[p], r.high[p]) for p in r.point} for r in results},
        interval_label=f"{confidence} bootstrap interval over repeats",
    )
    trials = {s: [t for st in data.of(s) for t in completed(st.trials)] for s in data.samplers}
    slices = plot_slices(
        figures.path("slices.png"),
        trials,
        _distributions(data),
        data.titles,
        title=f"{data.metric} of each completed trial by hyperparameter",
        ylabel=data.metric + (" (fraction)" if data.maximize else ""),
        maximize=data.maximize,
    )
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
