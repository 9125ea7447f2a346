"""The lab's Adult as the task ``adult``: its trials equal those of the harness before tasks.

``tests/data/adult_trials_44c8705.json`` was recorded at commit 44c8705 (before tasks) by
running the two studies below on that commit's code: same space, seeds, sampler and pruner.
The task path must give the same parameters, intermediate values and objective values.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.search.config import StudyConfig
from harness.search.study import run_study
from tests.study_spaces import TINY

RECORDED = Path(__file__).parent / "data" / "adult_trials_44c8705.json"
STUDIES = {"tpe-none": ("tpe", "none"), "random-median": ("random", "median")}


def _trials(study) -> list[dict]:
    return [
        {
            "number": t.number,
            "state": t.state.name,
            "params": t.params,
            "value": t.value,
            "intermediate": {str(k): v for k, v in t.intermediate_values.items()},
            "train_seed": t.user_attrs.get("train_seed"),
        }
        for t in study.trials
    ]


@pytest.mark.parametrize("name", list(STUDIES))
def test_adult_task_trials_equal_those_before_tasks(tmp_path, name):
    sampler, pruner = STUDIES[name]
    space = tmp_path / "tiny.toml"
    space.write_text(TINY)
    config = StudyConfig(
        name=name,
        sampler=sampler,
        trials=6,
        space_path=space,
        storage=f"sqlite:///{tmp_path / 'tasks.db'}",
        seed=3,
        executor="local",
        device="cpu",
        show_progress=False,
        pruner=pruner,
        task="adult",
    )
    study = run_study(config)
    recorded = json.loads(RECORDED.read_text())[name]
    assert _trials(study) == recorded
    assert study.user_attrs["task"] == "adult"
    assert study.user_attrs["objective"] == "val_auroc"
