"""Pruner settings are stored with the study, and a resumed study rebuilds its pruner from them."""

from __future__ import annotations

import optuna
import pytest
from study_spaces import TINY, write_space

from harness.choices import PRUNERS
from harness.errors import HarnessError
from harness.search.config import StudyConfig
from harness.search.driver import open_study
from harness.search.pruners import build_pruner, pruner_name, pruner_settings


@pytest.mark.parametrize(
    ("name", "cls", "attrs"),
    [
        ("none", optuna.pruners.NopPruner, {}),
        ("median", optuna.pruners.MedianPruner, {"_n_startup_trials": 5, "_n_warmup_steps": 5}),
        ("hyperband", optuna.pruners.HyperbandPruner, {"_min_resource": 3}),
    ],
)
def test_each_pruner_is_built_from_its_record(name, cls, attrs):
    settings = pruner_settings(name)
    assert pruner_name(settings) == name
    pruner = build_pruner(settings)
    assert type(pruner) is cls
    for attr, value in attrs.items():
        assert getattr(pruner, attr) == value, attr


def test_the_light_list_is_the_registry():
    assert [pruner_name(pruner_settings(name)) for name in PRUNERS] == list(PRUNERS)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: pruner_settings("sometimes"), "pruner must be one of"),
        (lambda: build_pruner({"name": "ThresholdPruner"}), "a stored pruner must be one of"),
    ],
)
def test_unknown_pruners_state_the_rule(call, words):
    with pytest.raises(HarnessError, match=words):
        call()


def _config(tmp_path, **overrides) -> StudyConfig:
    values = {
        "name": "s",
        "sampler": "random",
        "space_path": write_space(tmp_path, TINY),
        "storage": f"sqlite:///{tmp_path / 'p.db'}",
        "pruner": "median",
    }
    return StudyConfig(**(values | overrides))


def test_a_resumed_study_rebuilds_its_pruner_from_the_stored_record(tmp_path):
    driver = open_study(_config(tmp_path))
    assert driver.study.user_attrs["pruner"] == "median"
    assert driver.study.user_attrs["pruner_settings"] == pruner_settings("median")
    # what the study recorded wins over what this version would write today
    stored = {**pruner_settings("median"), "n_warmup_steps": 7}
    driver.study.set_user_attr("pruner_settings", stored)
    driver.release()
    again = open_study(_config(tmp_path))
    assert isinstance(again.study.pruner, optuna.pruners.MedianPruner)
    assert again.study.pruner._n_warmup_steps == 7
    again.release()


def test_a_resumed_study_refuses_another_pruner(tmp_path):
    open_study(_config(tmp_path)).release()
    with pytest.raises(HarnessError, match="exists with pruner 'median'"):
        open_study(_config(tmp_path, pruner="none"))
