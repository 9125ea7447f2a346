"""The search task's unit: params validation and one short trial's record."""

from __future__ import annotations

import json
import math

import pytest

from harness.errors import HarnessError
from harness.numbers import json_safe
from harness.search.task import FixedSettings, run_trial, validate_params

GOOD = {"hidden_size": 16, "lr": 3e-3, "batch_size": 128, "weight_decay": 1e-5, "dropout": 0.2}

# (id, params, pieces the message must contain)
BAD_PARAMS = [
    ("not an object", [1, 2], ["must be a JSON object", "list"]),
    ("missing key", {k: v for k, v in GOOD.items() if k != "lr"}, ["missing key 'lr'"]),
    ("unknown key", {**GOOD, "momentum": 0.9}, ["unknown key 'momentum'"]),
    ("batch_size 0", {**GOOD, "batch_size": 0}, ["batch_size must be an integer >= 1", "0"]),
    ("batch_size 1.5", {**GOOD, "batch_size": 1.5}, ["batch_size must be an integer >= 1"]),
    ("dropout 1.0", {**GOOD, "dropout": 1.0}, ["0 <= dropout < 1", "1.0"]),
    ("dropout -0.1", {**GOOD, "dropout": -0.1}, ["0 <= dropout < 1", "-0.1"]),
    ("lr 0", {**GOOD, "lr": 0}, ["lr > 0", "but got 0"]),
    ("lr infinite", {**GOOD, "lr": math.inf}, ["lr must be a finite number", "inf"]),
    ("weight_decay NaN", {**GOOD, "weight_decay": math.nan}, ["weight_decay must be a finite"]),
    ("weight_decay -1", {**GOOD, "weight_decay": -1}, ["weight_decay >= 0"]),
    ("hidden_size 1", {**GOOD, "hidden_size": 1}, ["hidden_size must be an integer >= 2"]),
    ("hidden_size string", {**GOOD, "hidden_size": "64"}, ["hidden_size must be a finite"]),
    ("hidden_size true", {**GOOD, "hidden_size": True}, ["hidden_size must be a finite"]),
]


@pytest.mark.parametrize(
    ("params", "pieces"), [c[1:] for c in BAD_PARAMS], ids=[c[0] for c in BAD_PARAMS]
)
def test_bad_params(params, pieces):
    with pytest.raises(HarnessError) as caught:
        validate_params(params)
    for piece in pieces:
        assert piece in str(caught.value)


def test_params_are_normalised():
    params = validate_params({**GOOD, "hidden_size": 16.0, "batch_size": 64.0, "lr": 1})
    assert params == {**GOOD, "hidden_size": 16, "batch_size": 64, "lr": 1.0}
    assert isinstance(params["hidden_size"], int)
    assert isinstance(params["batch_size"], int)


@pytest.mark.parametrize(
    ("fields", "rule"),
    [({"optimizer": "lbfgs"}, "optimizer must be one of"), ({"patience": 0}, "patience >= 1")],
)
def test_bad_fixed_settings(fields, rule):
    with pytest.raises(HarnessError, match=rule):
        FixedSettings(**fields)


def test_fixed_settings_default_to_the_lab_task():
    assert FixedSettings() == FixedSettings(optimizer="adam", max_epochs=300, patience=10)


def test_short_trial_record(tiny_splits):
    record = run_trial(
        GOOD, tiny_splits, seed=0, device="cpu", fixed=FixedSettings(max_epochs=3, patience=2)
    )
    assert record["status"] == "ok"
    assert record["params"] == GOOD
    assert record["fixed"] == {
        "optimizer": "adam",
        "max_epochs": 3,
        "patience": 2,
        "cuda_graph": True,
        "hand_backward": True,
        "flush_denormal": False,
    }
    assert 1 <= record["best_epoch"] <= record["epochs"] <= 3
    assert len(record["curve"]) == record["epochs"]
    assert record["seconds_per_epoch"] == pytest.approx(record["seconds"] / record["epochs"])
    assert 0.5 < record["val_auroc"] <= 1.0
    assert 0.5 < record["test_auroc"] <= 1.0
    for key in ("val_f1", "test_f1", "test_precision", "test_recall", "threshold"):
        assert 0.0 <= record[key] <= 1.0, key
    assert record["val_loss"] > 0
    json.dumps(json_safe(record), allow_nan=False)


def test_trials_are_reproducible(tiny_splits):
    fixed = FixedSettings(max_epochs=2, patience=2)
    first = run_trial(GOOD, tiny_splits, seed=3, device="cpu", fixed=fixed)
    second = run_trial(GOOD, tiny_splits, seed=3, device="cpu", fixed=fixed)
    for key in ("curve", "val_auroc", "val_loss", "test_auroc", "test_f1", "threshold"):
        assert first[key] == second[key], key


def test_json_safe_turns_non_finite_numbers_into_null():
    value = {"a": math.nan, "b": [math.inf, 1.0], "c": (-math.inf,), "d": "x", "e": None}
    assert json_safe(value) == {"a": None, "b": [None, 1.0], "c": [None], "d": "x", "e": None}


def test_a_search_trial_never_scores_the_test_split(tiny_splits, monkeypatch):
    """score_test=False: no test_* key, and the model never sees the test rows."""
    import harness.engine.train as train_module

    seen = []
    real = train_module._logits
    monkeypatch.setattr(train_module, "_logits", lambda model, x: seen.append(x) or real(model, x))
    fixed = FixedSettings(max_epochs=2, patience=2)
    record = run_trial(GOOD, tiny_splits, seed=3, device="cpu", fixed=fixed, score_test=False)
    assert not [key for key in record if key.startswith("test_")]
    assert 0.5 < record["val_auroc"] <= 1.0
    rows = {x.shape[0] for x in seen}
    assert rows == {len(tiny_splits.y_valid)}, "only validation rows went through the model"
    scored = run_trial(GOOD, tiny_splits, seed=3, device="cpu", fixed=fixed)
    assert scored["val_auroc"] == record["val_auroc"], "scoring test changes nothing else"
    assert 0.5 < scored["test_auroc"] <= 1.0
