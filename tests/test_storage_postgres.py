"""A study runs and resumes against a real PostgreSQL server (started by .ci/run).

Set HARNESS_TEST_POSTGRES_URL (scripts/start_postgres.sh prints it) to run it; CI always does.
"""

from __future__ import annotations

import os
import uuid

import optuna
import pytest
from optuna.trial import TrialState
from study_spaces import TINY, write_space

from harness.cli.app import run
from harness.search.study import StudyConfig, run_study

URL = os.environ.get("HARNESS_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(
    not URL and not os.environ.get("CI"), reason="HARNESS_TEST_POSTGRES_URL is not set"
)


def test_study_runs_and_resumes_on_postgresql(tmp_path, capsys):
    assert URL, "CI must start PostgreSQL (scripts/start_postgres.sh) and export the URL"
    name = f"pg-{uuid.uuid4().hex[:8]}"
    space = write_space(tmp_path, TINY)
    common = {
        "name": name,
        "sampler": "tpe",
        "space_path": space,
        "storage": URL,
        "executor": "local",
        "show_progress": False,
    }
    first = run_study(StudyConfig(trials=2, **common))
    values = {t.number: t.value for t in first.trials}
    code = run(
        [
            "study",
            "--name",
            name,
            "--sampler",
            "tpe",
            "--trials",
            "4",
            "--space",
            str(space),
            "--storage",
            URL,
            "--executor",
            "local",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    password = URL.split(":")[2].split("@")[0]
    assert password not in captured.out + captured.err, "the password never appears in output"
    study = optuna.load_study(study_name=name, storage=URL)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 4
    assert all(study.trials[n].value == v for n, v in values.items())
    assert all(t.intermediate_values for t in complete)
    assert password not in str(study.user_attrs)
