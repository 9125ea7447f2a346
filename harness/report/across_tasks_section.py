"""The across-task analysis as markdown lines and figures: ``across_task_lines(table,
figures)``, for a report section to call once a run has several tasks. The numbers come from
``across_tasks`` (normalisation, tasks left out), ``across_tasks_stats`` (IQM, probability
of improvement, Borda) and ``across_tasks_tests`` (ranks, Friedman, Nemenyi, Wilcoxon-Holm);
the words from ``across_tasks_text``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.report import across_tasks_text as text
from harness.report.across_tasks import AcrossTaskTable, ScoreTable, score_table
from harness.report.across_tasks_stats import (
    MIN_REPEATS_FOR_DIRECTION,
    Aggregates,
    Borda,
    Interval,
    aggregates,
    borda,
)
from harness.report.across_tasks_tests import TaskTests, task_tests
from harness.report.config import ALPHA, CONFIDENCE
from harness.report.markdown import MISSING, fmt, md_table, plural, signed_difference

if TYPE_CHECKING:
    from harness.report.markdown import Figures

LEVEL = f"{100 * CONFIDENCE:.0f}%"


@dataclass(frozen=True)
class AcrossTaskAnalysis:
    """Everything the section prints: the scores, the aggregates, the tests, kurobako's ranks
    (these three None when no task is kept)."""

    table: AcrossTaskTable
    scores: ScoreTable
    aggregates: Aggregates | None
    tests: TaskTests | None
    borda: Borda | None


def analyse_across_tasks(table: AcrossTaskTable) -> AcrossTaskAnalysis:
    """The numbers of the analysis, no markdown: for a reader that wants them as data."""
    scores = score_table(table)
    if not scores.tasks:
        return AcrossTaskAnalysis(table, scores, None, None, None)
    return AcrossTaskAnalysis(table, scores, aggregates(scores), task_tests(scores), borda(scores))


def across_task_lines(table: AcrossTaskTable, figures: Figures) -> list[str]:
    """The across-task analysis as markdown lines, its figures saved under ``figures``."""
    return analysis_lines(analyse_across_tasks(table), figures)


def analysis_lines(analysis: AcrossTaskAnalysis, figures: Figures) -> list[str]:
    """The lines of an analysis already made (a report context may hold one for several
    readers)."""
    table, scores = analysis.table, analysis.scores
    lines = [text.HEADING, ""]
    if analysis.aggregates is None or analysis.tests is None or analysis.borda is None:
        return [*lines, text.NO_TASK, "", *_left_out(scores)]
    lines += [
        text.INTRO.format(
            outcome=table.outcome_name,
            tasks=plural(len(scores.tasks), "task"),
            k=len(scores.samplers),
            samplers=", ".join(scores.samplers),
            repeats=_repeats_text(scores),
        ),
        "",
    ]
    lines += _per_task(analysis)
    lines += _iqm(analysis, figures)
    lines += _improvement(analysis.aggregates)
    lines += _borda(scores, analysis.borda)
    lines += _friedman(scores, analysis.tests, figures)
    lines += _wilcoxon(scores, analysis.tests)
    lines += _left_out(scores)
    return [*lines, _support(analysis), ""]


def _repeats_text(scores: ScoreTable) -> str:
    counts = [len(t.repeats) for t in scores.tasks]
    low, high = min(counts), max(counts)
    return f"{plural(high, 'repeat') if low == high else f'{low}-{high} repeats'} per task"


def interval_text(value: Interval, digits: int = 3) -> str:
    """``0.123 [0.050, 0.301]``, or the estimate alone without an interval."""
    if not value.has_interval:
        return fmt(value.estimate, digits)
    return f"{fmt(value.estimate, digits)} [{fmt(value.low, digits)}, {fmt(value.high, digits)}]"


def _per_task(analysis: AcrossTaskAnalysis) -> list[str]:
    scores, tests = analysis.scores, analysis.tests
    assert tests is not None
    header = ["task", "direction", "0 = best known", "1 = random's expected", "repeats"]
    rows = []
    for t, task in enumerate(scores.tasks):
        means = task.regret.mean(axis=0)
        cells = [f"{fmt(m, 3)} ({tests.ranks[t, j]:g})" for j, m in enumerate(means)]
        row = [task.info.name, task.info.direction, f"{task.best_known:.4g}"]
        rows.append([*row, f"{task.random_expected:.4g}", str(len(task.repeats)), *cells])
    note = (
        ""
        if all(t.info.random_expected is not None for t in scores.tasks)
        else (text.RANDOM_NOTE.format(sampler=analysis.table.random_sampler))
    )
    table = md_table(header + scores.samplers, rows)
    lines = [text.PER_TASK.format(random_note=note), "", table, ""]
    dropped = [f"{t.info.name} {t.dropped_repeats}" for t in scores.tasks if t.dropped_repeats]
    return lines + ([text.DROPPED.format(dropped=", ".join(dropped)), ""] if dropped else [])


def _iqm(analysis: AcrossTaskAnalysis, figures: Figures) -> list[str]:
    from harness.report.across_tasks_plots import plot_iqm

    agg, tests, scores = analysis.aggregates, analysis.tests, analysis.scores
    assert agg is not None and tests is not None
    header = ["sampler", f"IQM of normalised regret [{LEVEL} CI]", "average rank over tasks"]
    rows = [
        [s, interval_text(agg.iqm[s]), f"{tests.average_rank[s]:.2f}"]
        for s in sorted(scores.samplers, key=lambda s: agg.iqm[s].estimate)
    ]
    lines = [text.IQM.format(level=LEVEL, resamples=agg.resamples), "", md_table(header, rows), ""]
    if agg.no_interval:
        lines += [text.NO_INTERVAL.format(reason=agg.no_interval), ""]
    elif agg.descriptive:
        lines += [text.FEW_REPEATS.format(repeats=agg.fewest_repeats), ""]
    band = f"{LEVEL} stratified-bootstrap CI of the IQM"
    png = plot_iqm(
        figures.path("across_tasks_iqm.png"),
        agg,
        scores.task_means,
        scores.samplers,
        title=text.IQM_TITLE.format(
            tasks=plural(len(scores.tasks), "task"),
            band=band if agg.no_interval is None else text.IQM_NO_BAND,
        ),
        band=band,
    )
    return [*lines, figures.image(png, text.IQM_FIGURE_ALT), ""]


def level_text(confidence: float) -> str:
    """A level in per cent to 4 significant digits: 95%, 99.17%."""
    return f"{100 * confidence:.4g}%"


def _reading(agg: Aggregates, a: str, b: str) -> str:
    value = agg.improvement[(a, b)]
    if not value.has_interval:
        return text.NO_CLAIM_WITHOUT_INTERVAL
    direction = agg.direction(a, b)
    if direction is not None:
        return text.CLAIM.format(better=direction[0], worse=direction[1])
    return text.NO_CLAIM_DESCRIPTIVE if agg.descriptive else text.NO_CLAIM


def _improvement(agg: Aggregates) -> list[str]:
    if not agg.improvement:
        return []
    level = level_text(agg.improvement_confidence)
    header = ["a vs b", f"P(a improves on b) [{level} CI, simultaneous]", "reading"]
    rows = [
        [f"{a} vs {b}", interval_text(v), _reading(agg, a, b)]
        for (a, b), v in agg.improvement.items()
    ]
    m = agg.pairs
    intro = text.IMPROVEMENT.format(
        pairs=plural(m, "pair"),
        level=level,
        alpha=f"{1 - agg.confidence:.2g}",
        m=m,
        family=LEVEL,
        minimum=MIN_REPEATS_FOR_DIRECTION,
    )
    lines = [intro, "", md_table(header, rows), ""]
    if agg.descriptive and agg.no_interval is None:
        few = text.IMPROVEMENT_DESCRIPTIVE.format(
            repeats=plural(agg.fewest_repeats, "repeat"), minimum=MIN_REPEATS_FOR_DIRECTION
        )
        lines += [few, ""]
    return lines


def _borda(scores: ScoreTable, result: Borda) -> list[str]:
    k = len(scores.samplers)
    rows = [
        [task.info.name, *(str(r) for r in result.ranks[t])] for t, task in enumerate(scores.tasks)
    ]
    rows.append(["**Borda**", *(f"**{b}**" for b in result.borda)])
    rows.append(["**firsts**", *(f"**{f}**" for f in result.firsts)])
    lines = [
        text.BORDA.format(level=result.level, pairs=plural(k * (k - 1) // 2, "pair"), alpha=ALPHA),
        "",
        md_table(["task", *scores.samplers], rows),
        "",
    ]
    if result.floor >= result.level:
        fewest = min(len(t.repeats) for t in scores.tasks)
        floor = text.BORDA_FLOOR.format(
            repeats=plural(fewest, "repeat"), floor=result.floor, level=result.level
        )
        lines += [floor, ""]
    return lines


def _friedman(scores: ScoreTable, tests: TaskTests, figures: Figures) -> list[str]:
    from harness.report.outcome_plots import plot_critical_difference

    result, n, k = tests.friedman, len(scores.tasks), len(scores.samplers)
    if result.refused or result.p_value is None or result.statistic is None:
        return [text.FRIEDMAN_REFUSED.format(reason=result.refused), ""]
    differ = result.p_value < ALPHA
    outcome = (text.FRIEDMAN_DIFFER if differ else text.FRIEDMAN_SAME).format(alpha=ALPHA)
    line = text.FRIEDMAN.format(
        n=n, k=k, statistic=result.statistic, p=result.p_value, outcome=outcome
    )
    assert result.nemenyi is not None and result.critical is not None
    png = plot_critical_difference(
        figures.path("across_tasks_critical_difference.png"),
        tests.average_rank,
        result.nemenyi,
        result.critical,
        {s: s for s in scores.samplers},
        title=text.CD_TITLE.format(n=n, alpha=ALPHA),
        alpha=ALPHA,
    )
    return [
        line,
        "",
        text.CD.format(alpha=ALPHA, critical=result.critical),
        "",
        figures.image(png, text.CD_ALT),
        "",
    ]


def _wilcoxon(scores: ScoreTable, tests: TaskTests) -> list[str]:
    if not tests.pairs:
        return []
    n, pairs = len(scores.tasks), plural(len(tests.pairs), "pair")
    header = ["a - b", "median difference", "rank-biserial", "tasks won (a / b)"]
    header += ["Wilcoxon p", "Holm-adjusted p"]
    rows = []
    for pair in tests.pairs:
        p = f"{pair.p_value:.3g} ({pair.method})" if not tests.wilcoxon_refused else MISSING
        holm = f"{pair.holm:.3g}" + (" *" if pair.holm < ALPHA else "")
        effects = [signed_difference(pair.median_difference), f"{pair.rank_biserial:+.2f}"]
        won = f"{pair.a_better} / {pair.b_better}"
        row = [f"{pair.a} - {pair.b}", *effects, won, p]
        rows.append([*row, holm if not tests.wilcoxon_refused else MISSING])
    lines = [text.WILCOXON.format(pairs=pairs, alpha=ALPHA), "", md_table(header, rows), ""]
    if tests.wilcoxon_refused:
        return [*lines, text.WILCOXON_REFUSED.format(reason=tests.wilcoxon_refused), ""]
    if tests.holm_floor >= ALPHA:
        floor = text.HOLM_FLOOR.format(n=n, pairs=pairs, floor=tests.holm_floor, alpha=ALPHA)
        lines += [floor, ""]
    return lines


def _left_out(scores: ScoreTable) -> list[str]:
    if not scores.left_out:
        return []
    items = [f"- {task}: {reason}" for task, reason in scores.left_out.items()]
    return [text.LEFT_OUT, "", *items, ""]


def _support(analysis: AcrossTaskAnalysis) -> str:
    scores, agg, tests = analysis.scores, analysis.aggregates, analysis.tests
    assert agg is not None and tests is not None
    n = len(scores.tasks)
    word = "task" if n == 1 else "tasks"
    too_few = tests.wilcoxon_refused is not None and tests.friedman.p_value is None
    note = text.TESTS_TOO_FEW.format(n=n, task_word=word, alpha=ALPHA) if too_few else ""
    claim = _pi_claims(agg)
    names = ", ".join(t.info.name for t in scores.tasks)
    support = text.SUPPORT.format(n=n, task_word=word, names=names, tests_note=note, claims=claim)
    return f"{support}{_holm_claims(tests)}"


def _pi_claims(agg: Aggregates) -> str:
    """The closing sentence's directions from the probabilities of improvement: only those
    ``Aggregates.direction`` lets stand (simultaneous interval, enough repeats)."""
    if agg.no_interval:
        return text.NO_CLAIMS_NO_INTERVAL
    if agg.descriptive:
        return text.NO_CLAIMS_DESCRIPTIVE.format(
            repeats=plural(agg.fewest_repeats, "repeat"), minimum=MIN_REPEATS_FOR_DIRECTION
        )
    found = [d for a, b in agg.improvement if (d := agg.direction(a, b)) is not None]
    if not found:
        return text.NO_CLAIMS
    return text.CLAIMS.format(
        level=level_text(agg.improvement_confidence),
        pairs=plural(agg.pairs, "pair"),
        minimum=MIN_REPEATS_FOR_DIRECTION,
        claims="; ".join(text.CLAIM.format(better=b, worse=w) for b, w in found),
    )


def _holm_claims(tests: TaskTests) -> str:
    """The pairs the tests over tasks tell apart, if any: a claim about tasks like these."""
    if tests.wilcoxon_refused:
        return ""
    claims = [
        text.HOLM_CLAIM.format(
            better=p.a if p.median_difference < 0 else p.b,
            worse=p.b if p.median_difference < 0 else p.a,
        )
        for p in tests.pairs
        if p.holm < ALPHA
    ]
    return " " + text.HOLM_CLAIMS.format(alpha=ALPHA, claims="; ".join(claims)) if claims else ""
