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


def test_a_real_servers_messages_show_no_password(tmp_path, capsys):
    """Issue 18 against libpq and SQLAlchemy themselves: a role whose password holds @ : / ?
    and a space, given escaped (works), in the query string (works), unescaped and after one
    slash (refused); neither the lines nor the study's attributes show any piece of it."""
    from urllib.parse import quote

    import psycopg

    assert URL, "CI must start PostgreSQL (scripts/start_postgres.sh) and export the URL"
    role, secret = f"alice_{uuid.uuid4().hex[:8]}", "Zq9a@Zq9b:Zq9c/Zq9d?Zq9e Zq9f"
    admin = URL.replace("postgresql://", "postgresql+psycopg://", 1)
    host_db = URL.split("@", 1)[1]
    with psycopg.connect(URL, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{secret}'")
        for what in ("SCHEMA public", "ALL TABLES IN SCHEMA public"):
            connection.execute(f"GRANT ALL ON {what} TO {role}")
        connection.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    escaped = quote(secret, safe="")
    shapes = {
        f"postgresql+psycopg://{role}:{escaped}@{host_db}": 0,
        f"postgresql+psycopg://{role}@{host_db}?password={escaped}": 0,
        f"postgresql+psycopg://{role}:{secret}@{host_db}": 2,
        f"postgresql+psycopg:/{role}:{escaped}@{host_db}": 2,
    }
    space = write_space(tmp_path, TINY)
    for index, (url, expected) in enumerate(shapes.items()):
        name = f"pg-secret-{uuid.uuid4().hex[:8]}-{index}"
        argv = ["study", "--name", name, "--sampler", "random", "--trials", "1"]
        code = run([*argv, "--space", str(space), "--storage", url, "--executor", "local"])
        captured = capsys.readouterr()
        assert code == expected, captured.err
        assert "Zq9" not in captured.out + captured.err, captured.err
        if expected == 0:
            attrs = optuna.load_study(study_name=name, storage=admin).user_attrs
            assert "Zq9" not in str(attrs) and "***" in attrs["storage"]
