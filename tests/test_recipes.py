"""models/lab.toml, recipe validation, the linear regression and short runs of each network."""

from __future__ import annotations

import dataclasses
import math

import pytest
from torch import nn

from harness.bench.models import bench_recipe
from harness.engine.train import TrainSettings
from harness.errors import HarnessError
from harness.lab.linreg import fit_numpy, fit_pytorch
from harness.lab.recipes import DEFAULT_RECIPES, load_recipes, select

NETWORKS = ["logistic_regression", "mlp", "regularized_mlp", "normalizing_mlp"]

# LAB.md's table, models 1-5: (model, hidden, dropout, batchnorm, settings)
LAB = {
    "linear_regression": (
        "linear_regression",
        (),
        0.0,
        False,
        TrainSettings(optimizer="sgd", lr=0.1, max_epochs=1000, patience=None),
    ),
    "logistic_regression": (
        "logistic",
        (),
        0.0,
        False,
        TrainSettings(optimizer="sgd", lr=1e-3, batch_size=None, max_epochs=3000, patience=None),
    ),
    "mlp": (
        "mlp",
        (256, 128),
        0.0,
        False,
        TrainSettings(optimizer="sgd", lr=1e-3, batch_size=None, max_epochs=2000, patience=None),
    ),
    "regularized_mlp": (
        "mlp",
        (256, 128),
        0.5,
        False,
        TrainSettings(
            optimizer="sgd",
            lr=1e-3,
            weight_decay=1e-4,
            batch_size=128,
            shuffle=False,
            max_epochs=300,
            patience=4,
        ),
    ),
    "normalizing_mlp": (
        "mlp",
        (256, 128),
        0.5,
        True,
        TrainSettings(
            optimizer="adamw",
            lr=1e-3,
            weight_decay=1e-4,
            batch_size=128,
            shuffle=False,
            max_epochs=300,
            patience=4,
            pos_weight=True,
        ),
    ),
}
LAB_PRINTED = {
    "linear_regression": {"mse": 0.01008},
    "logistic_regression": {"auroc": 0.8487},
    "mlp": {"auroc": 0.7589},
    "regularized_mlp": {"auroc": 0.9023, "f1": 0.6886, "precision": 0.6333, "recall": 0.7545},
    "normalizing_mlp": {"auroc": 0.9080, "f1": 0.7017, "precision": 0.6361, "recall": 0.7825},
}


@pytest.fixture(scope="module")
def recipes():
    return load_recipes()


def test_lab_file_has_the_five_recipes_in_order(recipes):
    assert DEFAULT_RECIPES.name == "lab.toml"
    assert list(recipes) == list(LAB)


@pytest.mark.parametrize("name", list(LAB))
def test_lab_recipe_settings(recipes, name):
    model, hidden, dropout, batchnorm, settings = LAB[name]
    recipe = recipes[name]
    assert recipe.name == name
    assert recipe.model == model
    assert recipe.hidden == hidden
    assert recipe.dropout == dropout
    assert recipe.batchnorm is batchnorm
    assert recipe.settings == settings
    assert recipe.lab == LAB_PRINTED[name]
    assert recipe.title


def _layers(module: nn.Module) -> list[str]:
    return [type(layer).__name__ for layer in module]


def test_lab_networks_are_built_as_the_lab_wrote_them(recipes):
    assert _layers(recipes["mlp"].make_model(108)) == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert _layers(recipes["regularized_mlp"].make_model(108)) == [
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
    ]
    normalizing = recipes["normalizing_mlp"].make_model(108)
    assert _layers(normalizing) == [
        "Linear",
        "ReLU",
        "BatchNorm1d",
        "Dropout",
        "Linear",
        "ReLU",
        "BatchNorm1d",
        "Dropout",
        "Linear",
    ]
    widths = [(m.in_features, m.out_features) for m in normalizing if isinstance(m, nn.Linear)]
    assert widths == [(108, 256), (256, 128), (128, 1)]
    assert all(m.p == 0.5 for m in normalizing if isinstance(m, nn.Dropout))
    logistic = recipes["logistic_regression"].make_model(108)
    assert [p.shape for p in logistic.parameters()] == [(1, 108), (1,)]
    with pytest.raises(HarnessError, match="not a network"):
        recipes["linear_regression"].make_model(108)


def test_select(recipes):
    assert select(recipes, None) == list(recipes.values())
    assert select(recipes, []) == list(recipes.values())
    assert [r.name for r in select(recipes, ["mlp", "linear_regression"])] == [
        "mlp",
        "linear_regression",
    ]
    with pytest.raises(HarnessError) as caught:
        select(recipes, ["mlp", "resnet"])
    message = str(caught.value)
    assert "unknown recipe 'resnet'" in message
    for name in LAB:
        assert name in message


# --- validation -------------------------------------------------------------------------

GOOD = """\
[r]
model = "mlp"
hidden = [8, 4]
optimizer = "sgd"
lr = 1e-3
batch_size = 64
max_epochs = 3
"""


def _with(**changes: str | None) -> str:
    """GOOD with keys replaced (a TOML value as text), added, or removed (None)."""
    lines = [line for line in GOOD.splitlines() if line.split(" = ")[0] not in changes]
    lines += [f"{key} = {value}" for key, value in changes.items() if value is not None]
    return "\n".join(lines) + "\n"


# (id, file text, recipe name expected in the message or None, pieces the message must contain)
BAD_RECIPES = [
    ("unknown key", _with(learning_rate="1e-3"), "r", ["unknown key 'learning_rate'", "lr"]),
    ("lr 0", _with(lr="0"), "r", ["lr", "lr > 0", "but got 0"]),
    ("lr -1", _with(lr="-1"), "r", ["lr", "lr > 0", "but got -1"]),
    ("lr inf", _with(lr="inf"), "r", ["lr must be a finite number", "inf"]),
    ("lr nan", _with(lr="nan"), "r", ["lr must be a finite number", "nan"]),
    ("lr string", _with(lr='"fast"'), "r", ["lr must be a finite number", "'fast'"]),
    ("lr boolean", _with(lr="true"), "r", ["lr must be a finite number", "True"]),
    ("patience 0", _with(patience="0"), "r", ["patience", "patience >= 1", "but got 0"]),
    ("patience float", _with(patience="2.5"), "r", ["patience must be an integer", "2.5"]),
    ("dropout 1.0", _with(dropout="1.0"), "r", ["dropout", "0 <= dropout < 1", "1.0"]),
    ("dropout -0.1", _with(dropout="-0.1"), "r", ["dropout", "0 <= dropout < 1", "-0.1"]),
    ("weight_decay -1", _with(weight_decay="-1e-4"), "r", ["weight_decay >= 0", "-0.0001"]),
    ("batch_size -1", _with(batch_size="-1"), "r", ["batch_size >= 0", "-1"]),
    ("max_epochs 0", _with(max_epochs="0"), "r", ["max_epochs >= 1", "but got 0"]),
    ("missing model", _with(model=None), "r", ["missing required key 'model'"]),
    ("missing lr", _with(lr=None), "r", ["missing required key 'lr'"]),
    ("bad model", _with(model='"cnn"'), "r", ["model", "one of", "'cnn'"]),
    ("bad optimizer", _with(optimizer='"rmsprop"'), "r", ["optimizer", "'sgd'", "'rmsprop'"]),
    ("empty hidden", _with(hidden="[]"), "r", ["hidden", "non-empty"]),
    ("zero width", _with(hidden="[8, 0]"), "r", ["hidden", "every width >= 1"]),
    ("hidden not ints", _with(hidden='["wide"]'), "r", ["hidden must be a list of integers"]),
    ("shuffle string", _with(shuffle='"yes"'), "r", ["shuffle must be a boolean", "'yes'"]),
    (
        "batchnorm with batch 1",
        _with(batchnorm="true", batch_size="1"),
        "r",
        ["batch_size", "batchnorm", "but got 1"],
    ),
    ("lab metric unknown", GOOD + "[r.lab]\naccuracy = 0.9\n", "r", ["lab", "keys among"]),
    ("lab metric above 1", GOOD + "[r.lab]\nauroc = 90.2\n", "r", ["lab", "[0, 1]"]),
    (
        "second recipe broken",
        GOOD + '[other]\nmodel = "logistic"\noptimizer = "sgd"\n'
        "lr = 0.1\nmax_epochs = 3\npatience = 0\n",
        "other",
        ["patience >= 1"],
    ),
    ("not a table", 'title = "x"\n' + GOOD, None, ["top-level key 'title' must be a [table]"]),
    ("invalid TOML", GOOD + "lr = = 2\n", None, ["not valid TOML", "line 8"]),
    ("duplicate key", GOOD + "lr = 2\n", None, ["not valid TOML"]),
    ("empty file", "", None, ["no recipes"]),
]


@pytest.mark.parametrize(
    ("text", "name", "pieces"), [c[1:] for c in BAD_RECIPES], ids=[c[0] for c in BAD_RECIPES]
)
def test_bad_recipe_files(tmp_path, text, name, pieces):
    path = tmp_path / "recipes.toml"
    path.write_text(text)
    with pytest.raises(HarnessError) as caught:
        load_recipes(path)
    message = str(caught.value)
    assert str(path) in message
    if name is not None:
        assert f"[{name}]" in message
    for piece in pieces:
        assert piece in message


def test_good_recipe_file_loads(tmp_path):
    path = tmp_path / "recipes.toml"
    path.write_text(_with(batch_size="0", patience="2", dropout="0.25"))
    recipe = load_recipes(path)["r"]
    assert recipe.title == "r"  # the name when there is no title
    assert recipe.settings.batch_size is None  # 0 means full batch
    assert recipe.settings.patience == 2
    assert recipe.dropout == 0.25
    assert recipe.lab == {}


def test_missing_recipe_file(tmp_path):
    with pytest.raises(HarnessError, match="recipe file not found") as caught:
        load_recipes(tmp_path / "none.toml")
    assert str(tmp_path / "none.toml") in str(caught.value)


# --- model 1: linear regression ---------------------------------------------------------


@pytest.mark.parametrize("fit", [fit_numpy, fit_pytorch], ids=["numpy", "pytorch"])
def test_linear_regression_final_mse(fit):
    result = fit(seed=0, lr=0.1, steps=1000)
    assert result.mse == pytest.approx(0.0101, abs=2e-4)
    assert result.steps == 1000
    assert 0.5 < result.a < 1.5  # y = x + noise: slope near 1, intercept near 0
    assert abs(result.b) < 0.3


def test_linear_regression_implementations_agree():
    numpy_fit, torch_fit = fit_numpy(0, 0.1, 1000), fit_pytorch(0, 0.1, 1000)
    assert torch_fit.a == pytest.approx(numpy_fit.a, rel=1e-9)
    assert torch_fit.b == pytest.approx(numpy_fit.b, rel=1e-9)
    assert torch_fit.mse == pytest.approx(numpy_fit.mse, rel=1e-9)


def test_linear_regression_recipe_record(recipes, tiny_splits):
    record = bench_recipe(recipes["linear_regression"], tiny_splits, seed=0, device="cpu")
    assert record["mse"] == pytest.approx(0.0101, abs=2e-4)
    assert record["mse_pytorch"] == pytest.approx(0.0101, abs=2e-4)
    assert record["epochs"] == 1000
    assert record["status"] == "ok"
    assert record["lab"] == {"mse": 0.01008}


# --- short runs of each network recipe --------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
def test_network_recipe_short_run(recipes, tiny_splits, name):
    recipe = recipes[name]
    short = dataclasses.replace(recipe, settings=dataclasses.replace(recipe.settings, max_epochs=2))
    record = bench_recipe(short, tiny_splits, seed=0, device="cpu")
    assert record["status"] == "ok"
    assert record["recipe"] == name
    assert 1 <= record["epochs"] <= 2
    assert record["device"] == "cpu"
    for metric in ("auroc", "f1", "precision", "recall", "threshold", "val_auroc"):
        assert math.isfinite(record[metric]), metric
        assert 0.0 <= record[metric] <= 1.0, metric
    assert record["seconds"] > 0
    assert record["lab"] == LAB_PRINTED[name]
