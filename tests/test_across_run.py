"""The across-task section of a run of several tasks: its studies' outcomes become the
analysis's table, a study without a retrained outcome a named failure."""

from __future__ import annotations

from harness.report.across_run import across_table, section_across_tasks
from harness.report.markdown import Figures
from harness.report.task_outcomes import TaskOutcome


def _outcomes() -> list[TaskOutcome]:
    rows = []
    for task, direction, metric, base in (
        ("a", "maximize", "test_auroc", 0.9),
        ("b", "minimize", "test_rmse", 50.0),
        ("c", "maximize", "test_auroc", 0.8),
    ):
        sign = 1 if direction == "maximize" else -1
        for repeat in range(3):
            for sampler, gain in (("tpe", 0.02), ("random", 0.0)):
                value = base + sign * (gain + 0.001 * repeat)
                value = None if (task, sampler, repeat) == ("c", "tpe", 1) else value
                rows.append(TaskOutcome(task, sampler, repeat, metric, direction, value, None))
    return rows


def test_a_run_s_outcomes_become_the_analysis_table():
    table = across_table(_outcomes())
    assert [(t.name, t.direction) for t in table.tasks] == [
        ("a", "maximize"),
        ("b", "minimize"),
        ("c", "maximize"),
    ]
    assert len(table.outcomes) == 17  # 18 studies, one without a retrained outcome
    assert [(f.task, f.sampler) for f in table.failures] == [("c", "tpe")]
    assert table.outcome_name == "retrained test metric (each task's own: AUROC, RMSE)"


def test_the_section_leaves_a_task_with_a_failed_study_out_and_names_it(tmp_path):
    text = "\n".join(section_across_tasks(_outcomes(), Figures(tmp_path, ".")))
    assert "## Across tasks" in text
    assert "no retrained primary outcome" in text  # c's failure, named
    # tpe has less regret than random on both kept tasks, in every repeat
    per_task = [line for line in text.splitlines() if line.startswith(("| a | ma", "| b | mi"))]
    assert len(per_task) == 2, text
    for line in per_task:  # best known is tpe's best repeat: its mean regret is small
        tpe, random = (float(cell.split()[0]) for cell in line.strip("|").split("|")[-2:])
        assert tpe < 0.1 and random == 1.0, line
