"""The ``harness`` command: happy paths and every bad input (exit 2, one line on stderr)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import torch
from float_paths import AUROC_ABS, LOSS_REL
from rich.console import Console

import harness.cli
from harness.cli.app import run
from harness.lab.data import SHA256

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GOOD_PARAMS = {"hidden_size": 16, "lr": 3e-3, "batch_size": 128, "weight_decay": 0, "dropout": 0.2}
CUDA = torch.cuda.is_available()

TINY_RECIPES = """\
[linear_regression]
model = "linear_regression"
optimizer = "sgd"
lr = 0.1
max_epochs = 1000
[linear_regression.lab]
mse = 0.01008

[logistic]
model = "logistic"
optimizer = "sgd"
lr = 0.1
batch_size = 0
max_epochs = 3
[logistic.lab]
auroc = 0.8487
"""


def _params(**changes) -> str:
    return json.dumps({**GOOD_PARAMS, **changes})


def assert_one_line_error(capsys, code: int, *pieces: str) -> str:
    """Exit code 2 and exactly one line on stderr, 'harness: error: ...' with the pieces."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.endswith("\n")
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("harness: error: "), err
    for piece in pieces:
        assert piece in lines[0]
    return lines[0]


@pytest.fixture
def wide_console(monkeypatch):
    """Tables at 200 columns: rich's 80-column default for a pipe truncates the cells."""
    for module in vars(harness.cli).values():  # each command module prints with `console`
        if hasattr(module, "console"):
            monkeypatch.setattr(module, "console", Console(width=200))


@pytest.fixture
def recipes_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_RECIPES)
    return path


def _bad_recipes(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


# --- happy paths ------------------------------------------------------------------------


def test_data_json_on_a_users_file(capsys, small_data_file):
    assert run(["data", "--data", str(small_data_file), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    # 3,000 rows: test 600, valid ceil(0.2 * 2400) = 480, train 1,920
    assert summary["train"][0] == 1920
    assert summary["valid"][0] == 480
    assert summary["test"][0] == 600
    assert summary["train"][1] == summary["features"]
    assert summary["variant"] == "lab"
    assert summary["source"] == str(small_data_file.resolve())
    assert 0.15 < summary["positive_rate"] < 0.35


@pytest.mark.usefixtures("wide_console")
def test_data_table(capsys, small_data_file):
    assert run(["data", "--data", str(small_data_file), "--variant", "grouped"]) == 0
    out = capsys.readouterr().out
    assert "variant grouped" in out
    for word in ("train", "valid", "test", "1,920", "positive rate overall"):
        assert word in out


def test_data_json_packaged_in_a_subprocess():
    """The real entry point (``python -m harness``) on the packaged, checksum-verified data."""
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_DATASET_DIR"}
    done = subprocess.run(
        [sys.executable, "-m", "harness", "data", "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["train"] == [20838, 108]
    assert summary["valid"] == [5210, 108]
    assert summary["test"] == [6513, 108]
    assert summary["positive_rate"] == pytest.approx(0.2408, abs=0.001)


def test_error_in_a_subprocess_is_one_line_even_when_long(tmp_path):
    """Through a real pipe (no capsys): a message far wider than 80 columns is not wrapped."""
    missing = tmp_path / ("a_long_folder_name_" * 6) / "adult.data"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "data", "--data", str(missing)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0] == f"harness: error: data file not found: {missing}"


def test_console_script_is_declared():
    try:
        scripts = metadata.entry_points(group="console_scripts", name="harness")
    except metadata.PackageNotFoundError:  # pragma: no cover - not installed
        pytest.skip("the package is not installed")
    if not scripts:
        pytest.skip("the package is not installed")
    assert [s.value for s in scripts] == ["harness.cli:main"]


def test_trial_json(capsys, small_data_file):
    code = run(
        [
            "trial",
            "--params",
            _params(),
            "--max-epochs",
            "2",
            "--seed",
            "0",
            "--device",
            "cpu",
            "--data",
            str(small_data_file),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    record = json.loads(captured.out)
    for key in (
        "val_auroc",
        "val_loss",
        "test_auroc",
        "test_f1",
        "epochs",
        "seconds",
        "seconds_per_epoch",
        "status",
    ):
        assert key in record, key
    assert record["status"] == "ok"
    assert 1 <= record["epochs"] <= 2
    assert record["params"] == GOOD_PARAMS
    assert record["device"] == "cpu"
    assert 0.5 < record["val_auroc"] <= 1.0
    assert record["seconds_per_epoch"] == pytest.approx(record["seconds"] / record["epochs"])


def test_trial_autograd_flag_gives_the_same_trial(capsys, small_data_file):
    """--autograd reaches the engine, and the two paths train the same trial: by outcome
    (``float_paths``: the same epochs and kept epoch, AUROC within 1e-3, the loss within the
    drift measured across CPU kernels), not by last bits."""
    records = {}
    for flags in ([], ["--autograd"]):
        data = str(small_data_file)
        code = run(
            [
                "trial",
                "--params",
                _params(),
                "--max-epochs",
                "2",
                "--seed",
                "0",
                "--device",
                "cpu",
                "--data",
                data,
                "--json",
                *flags,
            ]
        )
        captured = capsys.readouterr()
        assert code == 0, captured.err
        records[bool(flags)] = json.loads(captured.out)
    assert records[False]["fixed"]["hand_backward"] is True
    assert records[True]["fixed"]["hand_backward"] is False
    hand, autograd = records[False], records[True]
    assert (hand["epochs"], hand["best_epoch"]) == (autograd["epochs"], autograd["best_epoch"])
    for key in ("val_auroc", "test_auroc"):
        assert hand[key] == pytest.approx(autograd[key], abs=AUROC_ABS), key
    assert hand["val_loss"] == pytest.approx(autograd["val_loss"], rel=LOSS_REL)


@pytest.mark.usefixtures("wide_console")
def test_trial_table(capsys, small_data_file):
    code = run(
        [
            "trial",
            "--params",
            _params(),
            "--max-epochs",
            "1",
            "--device",
            "cpu",
            "--data",
            str(small_data_file),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    for key in ("status", "val_auroc", "test_f1", "seconds_per_epoch"):
        assert key in out


@pytest.mark.usefixtures("wide_console")
def test_bench_models_linear_regression_json(capsys, tmp_path, recipes_file, small_data_file):
    out_path = tmp_path / "out" / "bench.json"
    code = run(
        [
            "bench",
            "models",
            "--recipes",
            str(recipes_file),
            "--recipe",
            "linear_regression",
            "--json",
            str(out_path),
            "--data",
            str(small_data_file),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    records = json.loads(out_path.read_text())
    assert len(records) == 1
    record = records[0]
    for key in (
        "recipe",
        "seed",
        "device",
        "auroc",
        "f1",
        "precision",
        "recall",
        "threshold",
        "epochs",
        "seconds",
    ):
        assert key in record, key
    assert record["recipe"] == "linear_regression"
    assert record["seed"] == 0
    assert record["epochs"] == 1000
    assert record["mse"] == pytest.approx(0.0101, abs=2e-4)
    assert record["mse_pytorch"] == pytest.approx(0.0101, abs=2e-4)
    # numpy / pytorch, the lab's printed number in brackets
    assert re.search(r"MSE 0\.01\d{3} / 0\.01\d{3} \(0\.01008\)", captured.out)
    assert f"records written to {out_path}" in captured.out


@pytest.mark.usefixtures("wide_console")
def test_bench_models_logistic_two_seeds(capsys, tmp_path, recipes_file, small_data_file):
    out_path = tmp_path / "bench.json"
    code = run(
        [
            "bench",
            "models",
            "--recipes",
            str(recipes_file),
            "--recipe",
            "logistic",
            "--seeds",
            "2",
            "--device",
            "cpu",
            "--json",
            str(out_path),
            "--data",
            str(small_data_file),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    records = json.loads(out_path.read_text())
    assert [(r["recipe"], r["seed"]) for r in records] == [("logistic", 0), ("logistic", 1)]
    for record in records:
        assert record["device"] == "cpu"
        assert record["epochs"] == 3
        assert record["status"] == "ok"
        for metric in ("auroc", "f1", "precision", "recall", "threshold"):
            assert 0.0 <= record[metric] <= 1.0, metric
        assert record["lab"] == {"auroc": 0.8487}
    assert "(84.87)" in captured.out  # the lab's printed number beside ours


# --- bad input: one line on stderr, exit code 2 -----------------------------------------


def test_packaged_data_with_a_wrong_checksum(capsys, corrupt_dataset_dir):
    assert_one_line_error(capsys, run(["data"]), "sha256", SHA256["adult.data"])


def test_packaged_data_missing(capsys, empty_dataset_dir):
    assert_one_line_error(capsys, run(["data", "--json"]), "data file not found")


def test_bench_with_a_wrong_checksum(capsys, corrupt_dataset_dir, recipes_file):
    code = run(["bench", "models", "--recipes", str(recipes_file), "--recipe", "logistic"])
    assert_one_line_error(capsys, code, "sha256")


def test_user_data_missing(capsys, tmp_path):
    assert_one_line_error(
        capsys, run(["data", "--data", str(tmp_path / "no.data")]), "data file not found"
    )


def test_user_data_with_14_columns(capsys, tmp_path, adult_rows, write_adult):
    path = write_adult(tmp_path / "short.data", [r.rsplit(",", 1)[0] for r in adult_rows[:300]])
    assert_one_line_error(
        capsys,
        run(["data", "--data", str(path)]),
        str(path),
        "15 comma-separated columns",
        "has 14",
    )


def test_user_data_with_an_unknown_label(capsys, tmp_path, adult_rows, write_adult):
    lines = list(adult_rows[:300])
    lines[10] = lines[10].rsplit(",", 1)[0] + ", rich"
    path = write_adult(tmp_path / "labels.data.gz", lines)
    code = run(["trial", "--params", _params(), "--data", str(path), "--max-epochs", "1"])
    assert_one_line_error(capsys, code, "labels must be one of", "' rich'")


@pytest.mark.parametrize(
    ("change", "pieces"),
    [
        (("learning_rate = 0.1", "lr = 0.1"), ["[logistic]", "unknown key 'learning_rate'"]),
        (("lr = 0", "lr = 0.1"), ["[logistic]", "lr > 0", "but got 0"]),
        (("lr = -1", "lr = 0.1"), ["[logistic]", "lr > 0", "but got -1"]),
        (("lr = -1e-3", "lr = 0.1"), ["[logistic]", "lr > 0"]),
    ],
    ids=["unknown key", "lr 0", "lr -1", "lr -1e-3"],
)
def test_bad_recipe_file(capsys, tmp_path, small_data_file, change, pieces):
    new, old = change
    path = _bad_recipes(tmp_path, TINY_RECIPES.replace(f"{old}\nbatch_size", f"{new}\nbatch_size"))
    assert path.read_text() != TINY_RECIPES
    code = run(["bench", "models", "--recipes", str(path), "--data", str(small_data_file)])
    assert_one_line_error(capsys, code, str(path), *pieces)


def test_missing_recipe_file(capsys, tmp_path):
    code = run(["bench", "models", "--recipes", str(tmp_path / "none.toml")])
    assert_one_line_error(capsys, code, "recipe file not found")


def test_unknown_recipe_name_lists_the_known_ones(capsys, recipes_file):
    code = run(["bench", "models", "--recipes", str(recipes_file), "--recipe", "resnet"])
    assert_one_line_error(
        capsys, code, "unknown recipe 'resnet'", "known recipes: linear_regression, logistic"
    )


def test_unknown_recipe_name_in_the_lab_file(capsys):
    code = run(["bench", "models", "--recipe", "regularised_mlp"])
    assert_one_line_error(
        capsys,
        code,
        "unknown recipe 'regularised_mlp'",
        "regularized_mlp",
        "normalizing_mlp",
        "linear_regression",
    )


@pytest.mark.parametrize(
    ("params", "pieces"),
    [
        ("{hidden_size: 64}", ["--params must be a JSON object", "not JSON"]),
        ("", ["not JSON"]),
        ("[64, 0.001]", ["must be a JSON object"]),
        (
            json.dumps({k: v for k, v in GOOD_PARAMS.items() if k != "dropout"}),
            ["missing key 'dropout'"],
        ),
        (_params(batch_size=0), ["batch_size must be an integer >= 1", "but got 0"]),
        (_params(dropout=1.0), ["0 <= dropout < 1", "but got 1.0"]),
        (_params(lr=-0.1), ["lr > 0"]),
        (_params(hidden_size="big"), ["hidden_size must be a finite number"]),
        (
            '{"hidden_size": 16, "lr": Infinity, "batch_size": 32, "weight_decay": 0, '
            '"dropout": 0}',
            ["lr must be a finite number", "inf"],
        ),
    ],
    ids=[
        "not JSON",
        "empty",
        "not an object",
        "lacks a key",
        "batch_size 0",
        "dropout 1.0",
        "lr negative",
        "hidden_size string",
        "lr Infinity",
    ],
)
def test_bad_params(capsys, params, pieces):
    # no --data: bad params are refused before any data is read
    code = run(["trial", "--params", params, "--max-epochs", "1"])
    assert_one_line_error(capsys, code, *pieces)


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
@pytest.mark.parametrize(
    "argv",
    [
        ["trial", "--params", _params(), "--device", "cuda"],
        ["bench", "models", "--recipe", "logistic_regression", "--device", "cuda"],
    ],
    ids=["trial", "bench models"],
)
def test_cuda_without_cuda(capsys, argv):
    assert_one_line_error(capsys, run(argv), "device 'cuda'", "no CUDA device")


def test_unwritable_json_path(capsys, tmp_path, recipes_file):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = run(
        ["bench", "models", "--recipes", str(recipes_file), "--json", str(blocker / "bench.json")]
    )
    assert_one_line_error(capsys, code, "cannot write")


# --- argparse-level errors: usage + error, exit code 2 ----------------------------------


@pytest.mark.parametrize(
    ("argv", "piece"),
    [
        ([], "required: COMMAND"),
        (["train"], "invalid choice: 'train'"),
        (["data", "--variant", "merged"], "invalid choice: 'merged'"),
        (["trial"], "--params"),
        (["trial", "--params", "{}", "--device", "tpu"], "invalid choice: 'tpu'"),
        (["trial", "--params", "{}", "--max-epochs", "0"], "must be >= 1, but got 0"),
        (["trial", "--params", "{}", "--patience", "many"], "must be an integer"),
        (["bench", "models", "--seeds", "0"], "must be >= 1, but got 0"),
        (["bench"], "KIND"),
    ],
    ids=[
        "no command",
        "unknown command",
        "bad variant",
        "no params",
        "bad device",
        "max-epochs 0",
        "patience not int",
        "seeds 0",
        "no bench kind",
    ],
)
def test_argparse_errors(capsys, argv, piece):
    with pytest.raises(SystemExit) as caught:
        run(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: harness")
    assert "error:" in err
    assert piece in err
