"""Search space files: the default one, user variants, and every bad input (table-driven)."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from harness.cli.app import run
from harness.errors import HarnessError
from harness.search.spaces import DEFAULT_PARAMS, load_space

GOOD_PARAMS = """
[params.hidden_size]
type = "int"
low = 8
high = 64
[params.lr]
type = "float"
low = 1e-4
high = 1e-2
log = true
"""


def write(tmp_path, text: str):
    path = tmp_path / "space.toml"
    path.write_text(text)
    return path


def test_default_space_is_the_lab_search_task():
    space = load_space()
    assert space.distributions == {
        "hidden_size": IntDistribution(16, 1024, log=True),
        "lr": FloatDistribution(1e-5, 1e-1, log=True),
        "batch_size": CategoricalDistribution([32, 64, 128, 256, 512]),
        "weight_decay": FloatDistribution(1e-6, 1e-2, log=True),
        "dropout": FloatDistribution(0.0, 0.6),
    }
    assert space.fixed_params == {}
    assert (space.fixed.optimizer, space.fixed.max_epochs, space.fixed.patience) == (
        "adam",
        300,
        10,
    )
    assert space.train_rows is None and space.variant == "lab"


def test_subset_fixed_values_and_data_section(tmp_path):
    text = "[params]\ndropout = 0.2\nbatch_size = 64\n" + GOOD_PARAMS
    text += "[fixed]\nmax_epochs = 3\npatience = 2\n[data]\ntrain_rows = 500\nvariant = 'grouped'\n"
    space = load_space(write(tmp_path, text))
    assert set(space.distributions) == {"hidden_size", "lr"}
    assert space.fixed_params == {
        "dropout": 0.2,
        "batch_size": 64,
        "weight_decay": DEFAULT_PARAMS["weight_decay"],
    }
    assert space.full_params({"hidden_size": 9, "lr": 0.001})["dropout"] == 0.2
    assert space.fixed.max_epochs == 3 and space.train_rows == 500 and space.variant == "grouped"


def test_fast_paths_can_be_turned_off_in_a_space(tmp_path):
    space = load_space(
        write(tmp_path, GOOD_PARAMS + "[fixed]\nhand_backward = false\ncuda_graph = false\n")
    )
    assert space.fixed.hand_backward is False and space.fixed.cuda_graph is False
    assert load_space(write(tmp_path, GOOD_PARAMS)).fixed.hand_backward is True


# (what the file says, words the one-line error must contain)
BAD_SPACES = [
    ("[params.lr]\ntype='float'\nlow=0.1\nhigh=0.01\n", ["params.lr", "low <= high"]),
    ("[params.lr]\ntype='float'\nlow=0.0\nhigh=0.01\nlog=true\n", ["params.lr", "low > 0"]),
    (
        "[params.hidden_size]\ntype='int'\nlow=0\nhigh=8\nlog=true\n",
        ["params.hidden_size", "low >= 1"],
    ),
    ("[params.batch_size]\ntype='categorical'\nchoices=[]\n", ["params.batch_size", "one or more"]),
    (
        "[params.width]\ntype='int'\nlow=1\nhigh=2\n",
        ["params.width", "unknown parameter", "hidden_size"],
    ),
    ("[params.lr]\ntype='float'\nlow='a'\nhigh=0.1\n", ["params.lr.low", "must be a number"]),
    ("[params.lr]\ntype='normal'\nlow=0.1\nhigh=0.2\n", ["params.lr.type", "must be one of"]),
    ("[params.lr]\ntype='float'\nlow=0.1\n", ["params.lr.high", "required"]),
    (
        "[params.lr]\ntype='float'\nlow=0.1\nhigh=0.2\nlog='yes'\n",
        ["params.lr.log", "true or false"],
    ),
    ("[params.lr]\ntype='float'\nlow=0.1\nhigh=0.2\nsteps=3\n", ["params.lr.steps", "unknown key"]),
    (
        "[params.hidden_size]\ntype='float'\nlow=1.0\nhigh=2.0\n",
        ["params.hidden_size", "integer parameter"],
    ),
    (
        "[params.batch_size]\ntype='categorical'\nchoices=[32, 'big']\n",
        ["params.batch_size", "'big'"],
    ),
    (
        "[params.batch_size]\ntype='categorical'\nchoices=[0, 32]\n",
        ["params.batch_size", "batch_size"],
    ),
    ("[params.dropout]\ntype='float'\nlow=0.0\nhigh=1.0\n", ["params.dropout", "dropout < 1"]),
    ("[params.lr]\ntype='float'\nlow=-1.0\nhigh=0.1\n", ["params.lr", "lr > 0"]),
    ("[params]\nlr = 'fast'\n", ["params.lr", "fixed value"]),
    ("[params]\ndropout = 1.5\n", ["params", "dropout"]),
    ("[params]\n", ["params", "non-empty"]),
    ("[fixed]\nmax_epochs = 3\n", ["params", "required"]),
    (GOOD_PARAMS + "[fixed]\nmax_epochs = 0\n", ["fixed.max_epochs", ">= 1"]),
    (GOOD_PARAMS + "[fixed]\npatience = 'x'\n", ["fixed.patience", "must be int"]),
    (GOOD_PARAMS + "[fixed]\noptimizer = 'lbfgs'\n", ["fixed.optimizer", "adam"]),
    (GOOD_PARAMS + "[fixed]\nepochs = 3\n", ["fixed.epochs", "unknown key"]),
    (GOOD_PARAMS + "[fixed]\nhand_backward = 'no'\n", ["fixed.hand_backward", "must be bool"]),
    (GOOD_PARAMS + "[data]\ntrain_rows = 1\n", ["data.train_rows", ">= 2"]),
    (GOOD_PARAMS + "[data]\nvariant = 'raw'\n", ["data.variant", "lab"]),
    (GOOD_PARAMS + "[sampler]\nname = 'tpe'\n", ["sampler", "unknown section"]),
    ("[params.lr\n", ["not valid TOML"]),
]


@pytest.mark.parametrize(("text", "words"), BAD_SPACES)
def test_bad_space_is_refused_with_file_key_and_rule(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(HarnessError) as caught:
        load_space(path)
    message = str(caught.value)
    assert str(path) in message
    for word in words:
        assert word in message
    assert "\n" not in message


def test_missing_space_file(tmp_path):
    with pytest.raises(HarnessError, match="not found"):
        load_space(tmp_path / "nope.toml")


@pytest.mark.parametrize(("text", "words"), BAD_SPACES[:3])
def test_cli_refuses_bad_space_before_creating_anything(tmp_path, capsys, text, words):
    storage = tmp_path / "s.db"
    code = run(
        [
            "study",
            "--name",
            "x",
            "--sampler",
            "tpe",
            "--space",
            str(write(tmp_path, text)),
            "--storage",
            f"sqlite:///{storage}",
            "--executor",
            "local",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    error_lines = [line for line in err.splitlines() if line.startswith("harness: error:")]
    assert len(error_lines) == 1 and words[0] in error_lines[0]
    assert not storage.exists()
