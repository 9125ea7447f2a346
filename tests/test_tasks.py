"""Tasks: the built-in list, a CSV task described in a TOML file end to end, each bad CSV
refused in one line before anything is written, and a study that keeps its task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import assert_one_line_error

from harness.cli.app import run
from harness.search.config import StudyConfig
from harness.search.study import run_study
from harness.tasks.frames import infer_kind

# a few epochs of a small net: the end-to-end tests check the machinery, not the model
SPACE = """
[params.hidden_size]
type = "int"
low = 8
high = 16
[params.lr]
type = "float"
low = 1e-3
high = 1e-2
log = true
[params]
batch_size = 16
[fixed]
max_epochs = 3
patience = 3
"""


def _frame(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    """A small table: two numeric columns, one categorical, three targets (one per kind)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    return pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(size=rows),
            "colour": colour,
            "label": np.where(x + rng.normal(scale=0.5, size=rows) > 0, "yes", "no"),
            "grade": rng.integers(0, 3, size=rows),
            "price": 3 * x + rng.normal(size=rows) + 10,
        }
    )


def _task(folder: Path, data: str, frame: pd.DataFrame | None = None) -> Path:
    """A task file (the space above and ``data`` as its [data] table) beside its CSV."""
    (frame if frame is not None else _frame()).to_csv(folder / "table.csv", index=False)
    path = folder / "mytask.toml"
    path.write_text(SPACE + "[data]\n" + data)
    return path


def test_tasks_lists_builtins_of_every_kind(capsys):
    assert run(["tasks", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert len(rows) >= 5
    assert {row["kind"] for row in rows.values()} == {"binary", "multiclass", "regression"}
    assert rows["adult"]["features"] == 108 and rows["adult"]["rows"] == 32_561
    assert rows["adult"]["objective"] == "val_auroc" and rows["adult"]["direction"] == "maximize"
    assert rows["diabetes"]["objective"] == "val_rmse"
    assert rows["diabetes"]["direction"] == "minimize"
    assert rows["wine"]["objective"] == "val_log_loss" and rows["wine"]["rows"] == 178


# (id, [data] table, a change to the table or None, pieces of the one-line error)
BAD_TASKS = [
    (
        "missing value",
        'source = "table.csv"\ntarget = "label"\n',
        lambda f: f.assign(z=f["z"].where(f.index != 7)),
        ["column 'z' has 1 missing value(s)", "data row 8"],
    ),
    (
        "constant column",
        'source = "table.csv"\ntarget = "label"\n',
        lambda f: f.assign(z=1.5),
        ["column 'z' is a constant column", "1.5"],
    ),
    (
        "one class",
        'source = "table.csv"\ntarget = "label"\n',
        lambda f: f.assign(label="yes"),
        ["column 'label' is the target holds one class only"],
    ),
    (
        "regression on text",
        'source = "table.csv"\ntarget = "colour"\nkind = "regression"\n',
        None,
        ["kind 'regression' needs a numeric target", "'colour'"],
    ),
    (
        "unknown target",
        'source = "table.csv"\ntarget = "income"\n',
        None,
        ["unknown column 'income'", "'price'"],
    ),
    (
        "unknown categorical",
        'source = "table.csv"\ntarget = "label"\ncategorical = ["shade"]\n',
        None,
        ["unknown column 'shade'"],
    ),
    ("no such file", 'source = "nowhere.csv"\ntarget = "label"\n', None, ["no such file"]),
    ("bad kind", 'source = "table.csv"\ntarget = "label"\nkind = "ordinal"\n', None, ["kind"]),
]


@pytest.mark.parametrize(
    ("data", "change", "pieces"), [c[1:] for c in BAD_TASKS], ids=[c[0] for c in BAD_TASKS]
)
def test_bad_csv_task_is_refused_before_anything_is_written(
    capsys, tmp_path, monkeypatch, data, change, pieces
):
    frame = _frame()
    task = _task(tmp_path, data, change(frame) if change else frame)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = run(
        [
            *("study", "--task", str(task), "--name", "s", "--sampler", "random"),
            *("--trials", "2", "--executor", "local"),
            *("--storage", f"sqlite:///{tmp_path / 'db.sqlite'}"),
        ]
    )
    assert_one_line_error(capsys, code, *pieces)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no storage, no runs/


@pytest.mark.parametrize(
    ("target", "kind", "objective", "direction"),
    [
        ("label", "binary", "val_auroc", "MAXIMIZE"),
        ("grade", "multiclass", "val_log_loss", "MINIMIZE"),
        ("price", "regression", "val_rmse", "MINIMIZE"),
    ],
)
def test_csv_task_end_to_end(tmp_path, target, kind, objective, direction):
    """A study of a CSV task described in a TOML file: kind inferred, the kind's objective
    and direction, one-hot colour, values of every trial finite."""
    task = _task(tmp_path, f'source = "table.csv"\ntarget = "{target}"\n')
    config = StudyConfig(
        name="csv",
        sampler="random",
        trials=3,
        task=str(task),
        storage=f"sqlite:///{tmp_path / 'db.sqlite'}",
        executor="local",
        device="cpu",
        show_progress=False,
    )
    study = run_study(config)
    attrs = study.user_attrs
    assert attrs["task"] == "mytask" and attrs["task_kind"] == kind
    assert attrs["objective"] == objective and study.direction.name == direction
    # the columns holding text, the other kinds' targets among them, are one-hot encoded
    assert attrs["data"]["categorical"] == (
        ["colour"] if target == "label" else ["colour", "label"]
    )
    values = [t.value for t in study.trials]
    assert len(values) == 3 and all(np.isfinite(values))
    assert all(objective in t.user_attrs for t in study.trials)


def test_parquet_task_reads_as_its_csv(tmp_path):
    """The same table as Parquet: the same kind, columns and encoded splits."""
    pytest.importorskip("pyarrow")
    from harness.search.task_space import load_task_space
    from harness.tasks.tabular import load_task_splits

    csv_task = _task(tmp_path, 'source = "table.csv"\ntarget = "grade"\n')
    _frame().to_parquet(tmp_path / "table.parquet")
    parquet_task = tmp_path / "parquet_task.toml"
    parquet_task.write_text(SPACE + '[data]\nsource = "table.parquet"\ntarget = "grade"\n')
    from_csv, from_parquet = (load_task_space(str(t)) for t in (csv_task, parquet_task))
    assert from_parquet.task is not None and from_parquet.task.kind == "multiclass"
    assert from_parquet.data.categorical == from_csv.data.categorical == ("colour", "label")
    a, b = load_task_splits(from_csv.data), load_task_splits(from_parquet.data)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)


def test_resume_refuses_another_task_or_a_changed_task_file(tmp_path):
    task = _task(tmp_path, 'source = "table.csv"\ntarget = "price"\n')
    config = StudyConfig(
        name="kept",
        sampler="random",
        trials=1,
        task=str(task),
        storage=f"sqlite:///{tmp_path / 'db.sqlite'}",
        executor="local",
        device="cpu",
        show_progress=False,
    )
    run_study(config)
    from dataclasses import replace

    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match="exists with task 'mytask', but this run asks for"):
        run_study(replace(config, task="diabetes", objective=None))
    task.write_text(task.read_text().replace("max_epochs = 3", "max_epochs = 2"))
    with pytest.raises(HarnessError, match=r"task file content \(sha256\)"):
        run_study(config)


def test_objective_must_suit_the_task(capsys, tmp_path):
    code = run(
        [
            *("study", "--task", "diabetes", "--objective", "val_auroc", "--name", "d"),
            *("--sampler", "tpe", "--executor", "local", "--storage", f"sqlite:///{tmp_path}/d.db"),
        ]
    )
    assert_one_line_error(capsys, code, "--objective must be one of", "val_rmse", "'diabetes'")


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["a", "b", "a"], "binary"),
        ([0, 1, 1], "binary"),
        (["a", "b", "c"], "multiclass"),
        ([0, 1, 2, 3], "multiclass"),
        ([0.5, 1.5, 2.25], "regression"),
        (list(range(50)), "regression"),
    ],
)
def test_kind_is_inferred_from_the_target(values, kind):
    assert infer_kind(pd.Series(values)) == kind
