"""The across-task analysis (harness/report/across_tasks*.py) on synthetic tables whose answer
is known: a sampler better on every task, samplers that do not differ, minimised tasks, a
failed task, too few tasks for the tests, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.report import across_tasks_text as text
from harness.report.across_tasks import (
    AcrossTaskTable,
    Failure,
    Outcome,
    TaskInfo,
    score_table,
)
from harness.report.across_tasks_section import across_task_lines, analyse_across_tasks
from harness.report.across_tasks_stats import (
    MIN_REPEATS_FOR_DIRECTION,
    aggregates,
    borda,
    simultaneous_confidence,
)
from harness.report.across_tasks_tests import friedman_floor, wilcoxon_floor
from harness.report.markdown import Figures


def _table(
    shifts: dict[str, float],
    tasks: int = 8,
    repeats: int = 5,
    noise: float = 0.05,
    failures: tuple[Failure, ...] = (),
    seed: int = 0,
) -> AcrossTaskTable:
    """``tasks`` tasks, alternately maximised and minimised, the outcome of a sampler drawn
    around 0.5 + its shift on a maximised task (mirrored on a minimised one); 'random' is
    the normaliser's reference (its mean is 1), the best known is 1 (maximised) or 0."""
    rng = np.random.default_rng(seed)
    infos, rows = [], []
    for t in range(tasks):
        maximize = t % 2 == 0
        infos.append(TaskInfo(f"task{t}", "maximize" if maximize else "minimize", 1.0 * maximize))
        for sampler, shift in shifts.items():
            for r in range(repeats):
                value = 0.5 + shift + rng.normal(0, noise)
                rows.append(Outcome(f"task{t}", sampler, r, value if maximize else 1 - value))
    return AcrossTaskTable(rows, infos, failures)


CLEAR = {"tpe": 0.3, "random": 0.0, "qmc": 0.05}


def test_a_sampler_better_on_every_task_is_found_by_every_measure():
    analysis = analyse_across_tasks(_table(CLEAR))
    agg, tests = analysis.aggregates, analysis.tests
    assert agg is not None and tests is not None and analysis.borda is not None
    assert agg.iqm["tpe"].high < agg.iqm["qmc"].low  # clearly separated intervals
    assert agg.improvement[("tpe", "random")].low > 0.5
    assert agg.improvement[("tpe", "qmc")].low > 0.5
    assert tests.average_rank["tpe"] == 1.0
    assert tests.friedman.p_value is not None and tests.friedman.p_value < 0.01
    holm = {(p.a, p.b): p.holm for p in tests.pairs}
    assert holm[("tpe", "random")] < 0.05 and holm[("tpe", "qmc")] < 0.05
    tpe = analysis.scores.samplers.index("tpe")
    assert analysis.borda.firsts[tpe] == 8 and analysis.borda.borda[tpe] == 16


def test_identical_samplers_are_given_no_direction(tmp_path):
    """The same values in another order of repeats on every task: every interval of a
    probability of improvement includes 0.5 and the closing sentence claims nothing."""
    base = _table({"a": 0.0}, tasks=8, repeats=MIN_REPEATS_FOR_DIRECTION)
    rng = np.random.default_rng(1)
    rows = list(base.outcomes)
    for task in base.tasks:
        values = [o.outcome for o in rows if o.task == task.name]
        rows += [
            Outcome(task.name, s, r, v)
            for s in ("b", "c")
            for r, v in enumerate(rng.permutation(values))
        ]
    table = AcrossTaskTable(rows, base.tasks, random_sampler="a")
    analysis = analyse_across_tasks(table)
    assert analysis.aggregates is not None
    for value in analysis.aggregates.improvement.values():
        assert value.low <= 0.5 <= value.high
    lines = "\n".join(across_task_lines(table, Figures(tmp_path, "figs")))
    assert text.NO_CLAIMS in lines and "Directions shown" not in lines
    assert lines.count(f"| {text.NO_CLAIM} |") == 3  # every pair's reading


@pytest.mark.parametrize(
    ("direction", "best", "random", "outcome", "regret"),
    [
        ("maximize", 0.9, 0.5, 0.9, 0.0),
        ("maximize", 0.9, 0.5, 0.5, 1.0),
        ("maximize", 0.9, 0.5, 0.7, 0.5),
        ("maximize", 0.9, 0.5, 1.1, -0.5),  # beyond the best known
        ("minimize", 0.1, 0.5, 0.1, 0.0),
        ("minimize", 0.1, 0.5, 0.5, 1.0),
        ("minimize", 0.1, 0.5, 0.3, 0.5),
        ("minimize", 0.1, 0.5, 0.7, 1.5),  # worse than random search
    ],
)
def test_outcomes_are_normalised_in_the_tasks_direction(direction, best, random, outcome, regret):
    info = TaskInfo("t", direction, best_known=best, random_expected=random)
    table = AcrossTaskTable([Outcome("t", "tpe", 0, outcome)], [info])
    scores = score_table(table)
    assert scores.tasks[0].regret[0, 0] == pytest.approx(regret)


def test_without_a_reference_the_random_samplers_mean_is_1_and_the_best_outcome_0():
    rows = [Outcome("t", "random", r, v) for r, v in enumerate([3.0, 5.0])]
    rows += [Outcome("t", "tpe", r, v) for r, v in enumerate([1.0, 2.0])]
    scores = score_table(AcrossTaskTable(rows, [TaskInfo("t", "minimize")]))
    task = scores.tasks[0]
    assert (task.best_known, task.random_expected) == (1.0, 4.0)
    assert task.regret[:, scores.samplers.index("random")].mean() == pytest.approx(1.0)
    assert task.regret[:, scores.samplers.index("tpe")].tolist() == pytest.approx([0.0, 1 / 3])


def test_a_failed_task_is_left_out_of_every_aggregate_and_named(tmp_path):
    failure = Failure("task3", "qmc", "every trial diverged")
    table = _table(CLEAR, failures=(failure,))
    analysis = analyse_across_tasks(table)
    assert "task3" not in [t.info.name for t in analysis.scores.tasks]
    assert analysis.scores.left_out == {"task3": "qmc failed (every trial diverged)"}
    # the aggregate is the one of the table without that task at all
    outcomes = [o for o in table.outcomes if o.task != "task3"]
    tasks = [t for t in table.tasks if t.name != "task3"]
    without = aggregates(score_table(AcrossTaskTable(outcomes, tasks)))
    assert analysis.aggregates is not None and analysis.aggregates.iqm == without.iqm
    lines = across_task_lines(table, Figures(tmp_path, "figs"))
    assert "- task3: qmc failed (every trial diverged)" in lines


def test_a_sampler_without_outcomes_on_a_task_leaves_it_out():
    table = _table(CLEAR, tasks=3)
    rows = [o for o in table.outcomes if not (o.task == "task1" and o.sampler == "qmc")]
    scores = score_table(AcrossTaskTable(rows, table.tasks))
    assert scores.left_out == {"task1": "no outcome of qmc"}


def test_a_repeat_missing_a_sampler_is_dropped_from_its_task(tmp_path):
    table = _table(CLEAR, tasks=3, repeats=4)
    rows = [
        o
        for o in table.outcomes
        if not (o.task == "task0" and o.sampler == "tpe" and o.repeat == 2)
    ]
    scores = score_table(AcrossTaskTable(rows, table.tasks))
    assert scores.tasks[0].repeats == [0, 1, 3] and scores.tasks[0].dropped_repeats == 1
    lines = across_task_lines(AcrossTaskTable(rows, table.tasks), Figures(tmp_path, "figs"))
    assert text.DROPPED.format(dropped="task0 1") in lines


def test_two_tasks_refuse_friedman_and_wilcoxon_with_their_reasons(tmp_path):
    figures = Figures(tmp_path, "figs")
    analysis = analyse_across_tasks(_table(CLEAR, tasks=2))
    assert analysis.tests is not None
    friedman = analysis.tests.friedman
    assert friedman.p_value is None and friedman.refused is not None
    assert f"{friedman_floor(2, 3):.3g}" in friedman.refused  # the p-value it could reach
    assert analysis.tests.wilcoxon_refused is not None
    assert f"{wilcoxon_floor(2):.3g}" in analysis.tests.wilcoxon_refused
    lines = across_task_lines(_table(CLEAR, tasks=2), figures)
    joined = "\n".join(lines)
    assert "**Friedman test**: not run: with 2 tasks and 3 samplers" in joined
    assert "χ²" not in joined and "(exact)" not in joined  # no p-value printed
    assert "but 2 tasks are too few for them to reject anything" in joined
    assert [p.name for p in figures.made] == ["across_tasks_iqm.png"]  # no CD diagram


def test_two_samplers_have_no_friedman_test_but_a_wilcoxon_one():
    analysis = analyse_across_tasks(_table({"tpe": 0.3, "random": 0.0}))
    assert analysis.tests is not None
    assert "needs at least 3 samplers" in (analysis.tests.friedman.refused or "")
    assert analysis.tests.wilcoxon_refused is None and analysis.tests.pairs[0].holm < 0.05


def test_the_bootstrap_holds_the_tasks_fixed():
    """Repeats that agree within each task, tasks that differ widely: a bootstrap over repeats
    within tasks sees no spread, so the interval is the estimate (one over tasks would not)."""
    rows, infos = [], []
    for t, level in enumerate([0.1, 0.4, 0.7, 0.9]):
        infos.append(TaskInfo(f"t{t}", "maximize", best_known=1.0, random_expected=0.0))
        rows += [Outcome(f"t{t}", s, r, level) for s in ("a", "b") for r in range(3)]
    agg = aggregates(score_table(AcrossTaskTable(rows, infos)))
    assert agg.iqm["a"].low == agg.iqm["a"].high == pytest.approx(agg.iqm["a"].estimate)
    assert agg.improvement[("a", "b")].estimate == 0.5


def test_probability_of_improvement_counts_pairs_of_repeats():
    rows = [Outcome("t", "a", r, v) for r, v in enumerate([0.9, 0.8, 0.7])]
    rows += [Outcome("t", "b", r, v) for r, v in enumerate([0.85, 0.75, 0.65])]
    info = TaskInfo("t", "maximize", best_known=1.0, random_expected=0.0)
    agg = aggregates(score_table(AcrossTaskTable(rows, [info])))
    assert agg.improvement[("a", "b")].estimate == pytest.approx(6 / 9)


def test_one_repeat_on_a_task_gives_no_interval_and_says_why(tmp_path):
    table = _table(CLEAR, tasks=3, repeats=1)
    agg = aggregates(score_table(table))
    assert not agg.iqm["tpe"].has_interval and "at least 2 per task" in (agg.no_interval or "")
    lines = across_task_lines(table, Figures(tmp_path, "figs"))
    assert text.NO_INTERVAL.format(reason=agg.no_interval) in lines
    assert lines[-2].endswith(text.NO_CLAIMS_NO_INTERVAL)  # the closing sentence claims nothing


def test_too_few_repeats_for_a_mann_whitney_test_leave_every_rank_1(tmp_path):
    table = _table(CLEAR, repeats=3)
    result = borda(score_table(table))
    assert result.floor > result.level and (result.ranks == 1).all() and not result.borda.any()
    assert any(
        line.startswith("With 3 repeats on a task no Mann-Whitney")
        for line in across_task_lines(table, Figures(tmp_path, "f"))
    )


def test_a_data_frame_gives_what_the_records_give():
    table = _table(CLEAR, tasks=3)
    frame = pd.DataFrame([vars(o) for o in table.outcomes])
    from_frame = aggregates(score_table(AcrossTaskTable(frame, table.tasks)))
    assert from_frame == aggregates(score_table(table))


@pytest.mark.parametrize(
    ("outcomes", "tasks", "message"),
    [
        (
            pd.DataFrame({"task": ["t"], "sampler": ["a"], "outcome": [1.0]}),
            [TaskInfo("t", "maximize")],
            "lacks ['repeat']",
        ),
        (
            [Outcome("t", "a", 0, 1.0), Outcome("t", "a", 0, 2.0)],
            [TaskInfo("t", "maximize")],
            "(t, a, 0) has several",
        ),
        ([Outcome("t", "a", 0, 1.0)], [TaskInfo("t", "max")], "t has 'max'"),
        ([Outcome("u", "a", 0, 1.0)], [TaskInfo("t", "maximize")], "['u'] have none"),
    ],
)
def test_bad_input_is_refused_with_the_rule_and_the_value(outcomes, tasks, message):
    with pytest.raises(HarnessError, match=None) as error:
        score_table(AcrossTaskTable(outcomes, tasks))
    assert message in str(error.value)


def test_a_task_whose_random_reference_equals_the_best_is_left_out():
    info = TaskInfo("t", "maximize", best_known=0.5, random_expected=0.5)
    scores = score_table(AcrossTaskTable([Outcome("t", "a", 0, 0.4)], [info]))
    assert not scores.tasks and "no scale to normalise by" in scores.left_out["t"]


def test_no_task_left_renders_the_reason_and_the_list(tmp_path):
    table = _table(CLEAR, tasks=1, failures=(Failure("task0", "tpe", "raised"),))
    lines = across_task_lines(table, Figures(tmp_path, "figs"))
    assert text.NO_TASK in lines and "- task0: tpe failed (raised)" in lines


def test_the_markdown_links_every_figure_it_draws(tmp_path):
    figures = Figures(tmp_path, "figs")
    lines = across_task_lines(_table(CLEAR), figures)
    names = sorted(p.name for p in figures.made)
    assert names == ["across_tasks_critical_difference.png", "across_tasks_iqm.png"]
    for path in figures.made:
        assert path.stat().st_size > 10_000
        assert any(f"(figs/{path.name})" in line for line in lines)


def test_a_task_where_every_sampler_failed_is_named_without_a_task_info():
    table = _table(CLEAR, tasks=3, failures=(Failure("ghost", "tpe", "import error"),))
    scores = score_table(table)
    assert scores.left_out == {"ghost": "tpe failed (import error)"} and len(scores.tasks) == 3


def test_non_finite_outcomes_count_as_missing():
    table = _table(CLEAR, tasks=3, repeats=4)
    rows = [
        Outcome(o.task, o.sampler, o.repeat, float("inf") if o.repeat == 1 else o.outcome)
        for o in table.outcomes
        if o.task == "task0"
    ]
    scores = score_table(AcrossTaskTable(rows, table.tasks[:1]))
    assert scores.tasks[0].repeats == [0, 2, 3]


def test_samplers_tied_on_every_task_have_no_friedman_test():
    rows = [Outcome(f"t{t}", s, r, 0.5) for t in range(5) for s in "abc" for r in range(2)]
    infos = [TaskInfo(f"t{t}", "maximize", 1.0, 0.0) for t in range(5)]
    analysis = analyse_across_tasks(AcrossTaskTable(rows, infos))
    assert analysis.tests is not None
    assert analysis.tests.friedman.refused == "every task ties every sampler: nothing to rank"
    assert set(analysis.tests.average_rank.values()) == {2.0}


@pytest.mark.parametrize(
    ("repeats", "shifts", "stated"),
    [
        # tpe far ahead: its interval excludes 0.5 at any of these repeats, but with 3 or 5 a
        # percentile bootstrap covers too little to read a direction from it
        (3, CLEAR, False),
        (5, CLEAR, False),
        (MIN_REPEATS_FOR_DIRECTION, CLEAR, True),
        (15, CLEAR, True),
    ],
)
def test_a_direction_needs_an_interval_that_excludes_half_and_enough_repeats(
    tmp_path, repeats, shifts, stated
):
    table = _table(shifts, tasks=6, repeats=repeats)
    analysis = analyse_across_tasks(table)
    agg = analysis.aggregates
    assert agg is not None
    assert agg.improvement[("tpe", "random")].low > 0.5  # the interval excludes 0.5 ...
    assert (agg.direction("tpe", "random") == ("tpe", "random")) is stated  # ... a claim or not
    lines = across_task_lines(table, Figures(tmp_path, "figs"))
    closing = lines[-2]
    claim = text.CLAIM.format(better="tpe", worse="random")
    assert (claim in closing) is stated
    assert (f"| {claim} |" in "\n".join(lines)) is stated
    if not stated:
        assert f"{repeats} repeats on a task (under {MIN_REPEATS_FOR_DIRECTION})" in closing
        assert "improves on" not in closing
        assert "| tpe vs random |" in "\n".join(lines)  # the interval is shown all the same
        assert f"| {text.NO_CLAIM_DESCRIPTIVE} |" in "\n".join(lines)


def test_the_intervals_of_improvement_are_simultaneous_and_widen_with_the_pairs():
    """The same two samplers, alone (1 pair) or among four (6 pairs): the bootstrap draws the
    same repeats, so the pair's interval at 1 - 0.05 / 6 holds the one at 95%."""
    four = _table({"a": 0.1, "b": 0.0, "c": 0.05, "d": 0.02}, tasks=5, repeats=10, noise=0.1)
    two = AcrossTaskTable(
        [o for o in four.outcomes if o.sampler in ("a", "b")], four.tasks, random_sampler="b"
    )
    four = AcrossTaskTable(four.outcomes, four.tasks, random_sampler="b")
    alone, among = aggregates(score_table(two)), aggregates(score_table(four))
    assert alone.improvement_confidence == pytest.approx(0.95)
    assert among.improvement_confidence == pytest.approx(1 - 0.05 / 6)
    assert simultaneous_confidence(6, 0.95) == pytest.approx(1 - 0.05 / 6)
    one, six = alone.improvement[("a", "b")], among.improvement[("a", "b")]
    assert one.estimate == pytest.approx(six.estimate)
    assert six.low < one.low and six.high > one.high
    assert among.iqm["a"] == alone.iqm["a"]  # the IQM's intervals stay at 95%


CD_SCRIPT = """
import sys
from pathlib import Path
import pandas as pd
from harness.report.outcome_plots import plot_critical_difference
means = {"tpe": 2.8, "random": 2.1, "qmc": 2.1, "gp": 3.0, "cmaes": 1.2}
p = pd.DataFrame(0.5, index=list(means), columns=list(means))
p.loc["cmaes", "gp"] = p.loc["gp", "cmaes"] = 0.01
plot_critical_difference(
    Path(sys.argv[1]), means, p, 2.1, {s: s for s in means}, title="t", alpha=0.05
)
"""


@pytest.mark.slow
def test_the_critical_difference_diagram_does_not_depend_on_the_hash_seed(tmp_path):
    """scikit-posthocs draws a bar through a set of names, whose order follows
    PYTHONHASHSEED (seeds 1 and 2 gave other bytes before the bars were sorted)."""
    root = Path(__file__).resolve().parents[1]
    made = []
    for seed in ("1", "2", "3"):
        out = tmp_path / f"cd{seed}.png"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}
        done = subprocess.run(
            [sys.executable, "-c", CD_SCRIPT, str(out)],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        made.append(out.read_bytes())
    assert made[0] == made[1] == made[2]
