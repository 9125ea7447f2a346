"""Tasks in real runs: built-in tasks studied on Ray through the CLI, and one compare of
several tasks on one pool, resumed, reported per task, with the across-task hook's rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from harness.report.task_outcomes import task_outcomes

SMALL = """
[params.hidden_size]
type = "int"
low = 8
high = 32
[params.lr]
type = "float"
low = 1e-3
high = 1e-1
log = true
[params]
batch_size = 32
[fixed]
max_epochs = 6
patience = 3
"""


def _harness(folder: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness", *argv],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "objective", "direction"),
    [("breast-cancer", "val_auroc", "MAXIMIZE"), ("diabetes", "val_rmse", "MINIMIZE")],
)
def test_builtin_task_study_completes_on_ray(tmp_path, task, objective, direction):
    """issue 20's line: `harness study --task breast-cancer --sampler tpe --trials 10` and
    `--task diabetes` complete on Ray (the task's own space), diabetes minimising RMSE."""
    done = _harness(
        tmp_path,
        *("study", "--task", task, "--sampler", "tpe", "--trials", "10", "--name", task),
        *("--storage", "sqlite:///tasks.db", "--cpu-workers", "2"),
    )
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name=task, storage=f"sqlite:///{tmp_path / 'tasks.db'}")
    assert len([t for t in study.trials if t.state.name == "COMPLETE"]) == 10
    assert study.user_attrs["task"] == task and study.user_attrs["executor"] == "ray"
    assert study.user_attrs["objective"] == objective and study.direction.name == direction
    assert {t.user_attrs["worker"] for t in study.trials} <= {"cpu-0", "cpu-1"}
    assert all(t.intermediate_values for t in study.trials), "epochs reported (pruners work)"


@pytest.mark.slow
def test_compare_of_several_tasks_on_one_pool_resumes_and_reports_each(tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    argv = (
        *("compare", "--tasks", "diabetes", "wine", "--space", "small.toml", "--name", "m"),
        *("--samplers", "tpe", "random", "--repeats", "2", "--trials", "3"),
        *("--retrain-seeds", "2", "--executor", "local", "--storage", "sqlite:///m.db"),
    )
    first = _harness(tmp_path, *argv)
    assert first.returncode == 0, first.stderr
    url = f"sqlite:///{tmp_path / 'm.db'}"
    names = {s.study_name for s in optuna.get_all_study_summaries(url)}
    assert names == {
        f"m/{task}/{sampler}/r{r}"
        for task in ("diabetes", "wine")
        for sampler in ("tpe", "random")
        for r in (0, 1)
    }
    again = _harness(tmp_path, *argv)  # resumable: nothing is left to run
    assert again.returncode == 0, again.stderr
    assert "8 studies already have their trials" in again.stderr
    report = _harness(tmp_path, "report", "--name", "m", "--storage", "sqlite:///m.db")
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "reports" / "m.md").read_text()
    assert "# Task `diabetes` (regression; objective validation RMSE, minimised)" in text
    assert "# Task `wine` (multiclass; objective validation log-loss, minimised)" in text
    assert "| test RMSE |" in text and "| test log-loss |" in text
    assert (tmp_path / "reports" / "m_figures" / "wine").is_dir()
    rows = task_outcomes("m", url, tmp_path / "runs")
    assert len(rows) == 8 and all(r.value is not None for r in rows)
    assert {(r.task, r.metric, r.direction) for r in rows} == {
        ("diabetes", "test_rmse", "minimize"),
        ("wine", "test_log_loss", "minimize"),
    }
    for task in ("diabetes", "wine"):
        values = [r.value for r in rows if r.task == task]
        assert {r.best_known for r in rows if r.task == task} == {min(values)}


ACROSS = SMALL.replace("batch_size = 32", "batch_size = 64").replace(
    "max_epochs = 6", "max_epochs = 3"
)


@pytest.mark.slow
def test_a_compare_of_four_tasks_reports_the_across_task_analysis(tmp_path):
    """Issue 20's check: adult, breast-cancer, wine and diabetes x TPE, random and QMC, 3
    repeats of 10 trials on a reduced space: the report's across-task section has the
    normalised scores, the IQM with intervals, the CD diagram with tasks as blocks and the
    Holm table, before the per-task parts."""
    (tmp_path / "small.toml").write_text(ACROSS)
    tasks = ("adult", "breast-cancer", "wine", "diabetes")
    argv = (
        *("compare", "--tasks", *tasks, "--space", "small.toml", "--name", "x"),
        *("--samplers", "tpe", "random", "qmc", "--repeats", "3", "--trials", "10"),
        *("--retrain-seeds", "2", "--bench-seeds", "0", "--reference-seeds", "0"),
        *("--executor", "local", "--storage", "sqlite:///x.db"),
    )
    done = _harness(tmp_path, *argv)
    assert done.returncode == 0, done.stderr[-3000:]
    report = _harness(tmp_path, "report", "--name", "x", "--storage", "sqlite:///x.db")
    assert report.returncode == 0, report.stderr[-3000:]
    text = (tmp_path / "reports" / "x.md").read_text()
    across = text[text.index("## Across tasks") : text.index("# Task `adult`")]
    header = "| task | direction | 0 = best known | 1 = random's expected | repeats |"
    header += " tpe | random | qmc |"
    assert header in across
    assert all(f"| {task} | " in across for task in tasks)
    assert "IQM of normalised regret [95% CI]" in across
    assert "**Friedman test** over 4 tasks (blocks) and 3 samplers" in across
    assert "critical-difference diagram" in across
    assert "Holm" in across and "| tpe - random |" in across
    figures = tmp_path / "reports" / "x_figures"
    for png in ("across_tasks_iqm.png", "across_tasks_critical_difference.png"):
        assert (figures / png).stat().st_size > 1000, png
