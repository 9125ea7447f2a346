"""How a study ends when it is stopped or its surroundings fail (issue 12): SIGTERM, a storage
that refuses writes, an unreachable Ray cluster; and the storage password kept out of Ray."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState
from study_spaces import TINY, write_space

from harness.cli.app import run

# Trials of a second or two in this process (--executor local): a SIGTERM finds one running.
SHORT = """
[params.hidden_size]
type = "int"
low = 16
high = 32
[params.lr]
type = "float"
low = 1e-3
high = 2e-3
[params]
batch_size = 16
dropout = 0.0
[fixed]
max_epochs = 30
patience = 30
[data]
train_rows = 400
"""

SECRET = "s3cret-pw"


def harness(*argv: str) -> list[str]:
    return [sys.executable, "-m", "harness", *argv]


def trials_of(storage: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name="s", storage=storage).get_trials()
    except KeyError:
        return []


def count(trials, state: TrialState) -> int:
    return sum(t.state == state for t in trials)


def states(db) -> set[str]:
    """The states of a SQLite storage's trials, read without Optuna."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
            return {state for (state,) in connection.execute("SELECT DISTINCT state FROM trials")}
    except sqlite3.OperationalError:  # no file or no table yet
        return set()


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("harness:")]


def test_sigterm_fails_trials_in_flight_and_exits_143(tmp_path):
    space = write_space(tmp_path, SHORT)
    db = tmp_path / "studies.db"
    storage = f"sqlite:///{db}"
    process = subprocess.Popen(
        harness(
            "study",
            "--name",
            "s",
            "--sampler",
            "random",
            "--trials",
            "20",
            "--space",
            str(space),
            "--storage",
            storage,
            "--executor",
            "local",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not {"COMPLETE", "RUNNING"} <= states(db):  # plain SQL: polling stays cheap
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no trial finished and another running in time"
            time.sleep(0.2)
        before = trials_of(storage)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, err
    assert "Traceback" not in err
    assert error_lines(err) == [
        "harness: terminated by SIGTERM; trials in flight were marked FAIL and will be "
        "retried; to resume, run the same command again"
    ]
    after = trials_of(storage)
    assert count(after, TrialState.RUNNING) == 0
    stopped = [t for t in after if t.user_attrs.get("fail_reason") == "interrupted: SIGTERM"]
    assert len(stopped) == 1
    assert count(after, TrialState.WAITING) == 1, "the stopped trial's params wait for a retry"
    for trial in before:
        if trial.state == TrialState.COMPLETE:
            kept = after[trial.number]
            assert (kept.state, kept.params, kept.value) == (trial.state, trial.params, trial.value)


def _disk_full() -> Exception:
    from sqlalchemy.exc import OperationalError

    return OperationalError(
        "UPDATE trials SET state=? WHERE trial_id = ?",
        (1, 1),
        sqlite3.OperationalError("database or disk is full"),
    )


def _disk_full_in_optuna() -> Exception:
    """As Optuna's RDB storage raises it: StorageInternalError from SQLAlchemy's error."""
    try:
        raise optuna.exceptions.StorageInternalError(
            "An exception is raised during the commit. This typically happens due to invalid "
            "data in the commit, e.g. exceeding max length."
        ) from _disk_full()
    except optuna.exceptions.StorageInternalError as err:
        return err


@pytest.mark.parametrize(
    "make_error", [_disk_full, _disk_full_in_optuna], ids=["sqlalchemy", "optuna"]
)
def test_a_storage_that_fails_ends_in_one_line_with_the_root_cause(
    tmp_path, capsys, monkeypatch, make_error
):
    """The storage refuses to record the first finished trial (once): exit 2, one line with
    the database's own words; the trial it refused is marked FAIL, none is left RUNNING."""
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    original = optuna.storages.RDBStorage.set_trial_state_values
    refused: list[int] = []

    def set_trial_state_values(self, trial_id, state, values=None):
        if state == TrialState.COMPLETE and not refused:
            refused.append(trial_id)
            raise make_error()
        return original(self, trial_id, state, values)

    monkeypatch.setattr(
        optuna.storages.RDBStorage, "set_trial_state_values", set_trial_state_values
    )
    space = str(write_space(tmp_path, TINY))
    code = run(
        [
            "study",
            "--name",
            "s",
            "--sampler",
            "random",
            "--trials",
            "3",
            "--space",
            space,
            "--storage",
            storage,
            "--executor",
            "local",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and "[SQL:" not in err
    assert error_lines(err) == [f"harness: error: storage {storage}: database or disk is full"]
    trials = trials_of(storage)
    assert count(trials, TrialState.RUNNING) == 0
    assert "database or disk is full" in trials[0].user_attrs["fail_reason"]
    assert trials[0].state == TrialState.FAIL


@pytest.mark.parametrize("command", ["study", "run"])
def test_an_unreachable_address_is_refused_in_seconds_before_any_study(tmp_path, command):
    db = tmp_path / "studies.db"
    argv = ["--name", "s", "--sampler", "random"] if command == "study" else ["--preset", "smoke"]
    started = time.monotonic()
    done = subprocess.run(
        harness(command, *argv, "--storage", f"sqlite:///{db}", "--address", "127.0.0.1:1"),
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert elapsed < 15
    assert done.stderr.splitlines() == [
        "harness: error: --address 127.0.0.1:1: no Ray cluster answers there (TCP connect to "
        "127.0.0.1 port 1 within 3 s: Connection refused); start one with 'ray start --head', "
        "or leave out --address for a Ray of this machine"
    ]
    assert not db.exists(), "no storage opened, so no study created"
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the storage password


@pytest.mark.parametrize(
    ("given", "env", "expected"),
    [
        (None, None, "sqlite:///runs/harness.db"),
        (None, "", "sqlite:///runs/harness.db"),
        (None, "sqlite:///env.db", "sqlite:///env.db"),
        ("sqlite:///flag.db", "sqlite:///env.db", "sqlite:///flag.db"),
        ("sqlite:///flag.db", None, "sqlite:///flag.db"),
    ],
)
def test_storage_precedence_flag_then_environment_then_default(monkeypatch, given, env, expected):
    from harness.search.config import STORAGE_ENV, storage_url

    if env is None:
        monkeypatch.delenv(STORAGE_ENV, raising=False)
    else:
        monkeypatch.setenv(STORAGE_ENV, env)
    assert storage_url(given) == expected


def test_harness_storage_is_used_and_its_password_never_printed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_STORAGE", f"postgresql://user:{SECRET}@127.0.0.1:1/db")
    code = run(["study", "--name", "s", "--sampler", "random", "--executor", "local"])
    captured = capsys.readouterr()
    assert code == 2
    assert SECRET not in captured.out + captured.err
    assert "storage: postgresql://user:***@127.0.0.1:1/db" in captured.err
    assert error_lines(captured.err)[0].startswith(
        "harness: error: cannot open storage postgresql://user:***@127.0.0.1:1/db: "
    )
    assert list(tmp_path.iterdir()) == [], "the default SQLite file was not used"


def test_a_url_without_password_reaches_libpq_unchanged(monkeypatch):
    """postgresql://user@host/db: libpq then takes PGPASSWORD or ~/.pgpass; the harness
    passes the URL on as it is and adds no password of its own."""
    from harness.search import storage

    seen: list[str] = []

    class Recorder:
        def __init__(self, url, **kwargs):
            seen.append(url)

    monkeypatch.setenv("PGPASSWORD", SECRET)
    monkeypatch.setattr(optuna.storages, "RDBStorage", Recorder)
    storage.open_storage("postgresql://user@db.example/lab")
    assert seen == ["postgresql://user@db.example/lab"]
    assert storage.redact_url(seen[0]) == seen[0]


@pytest.mark.parametrize("address", ["10.0.0.1:6379", None])
def test_ray_init_gets_no_storage_url_nor_password(monkeypatch, address):
    """Ray's job table records what ray.init is given and the driver's command line (its
    'entrypoint'): neither may carry the storage password."""
    import ray
    import ray._private.utils as ray_utils

    from harness.errors import HarnessError
    from harness.search.ray_pool import RayPool

    command_line = (
        f"harness study --storage postgresql://user:{SECRET}@db/lab "
        f"--storage=mysql://me:{SECRET}@db/lab --address 10.0.0.1:6379"
    )
    calls: list[dict] = []

    def fake_init(**kwargs):
        calls.append({"kwargs": kwargs, "entrypoint": ray_utils.get_entrypoint_name()})
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(15))  # as Ray's own init does
        raise RuntimeError("no cluster in this test")

    def ours(signum, frame):
        pass

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.setattr(ray_utils, "get_entrypoint_name", lambda: command_line)
    previous = signal.signal(signal.SIGTERM, ours)
    try:
        with pytest.raises((HarnessError, RuntimeError)):
            RayPool("", "space.toml", 1, 0, address)
        assert signal.getsignal(signal.SIGTERM) is ours, "Ray's SIGTERM handler was undone"
    finally:
        signal.signal(signal.SIGTERM, previous)
    (call,) = calls
    assert SECRET not in repr(call)
    assert not {"runtime_env", "job_config", "namespace", "_metadata"} & set(call["kwargs"])
    assert call["entrypoint"] == (
        "harness study --storage postgresql://user:***@db/lab --storage=mysql://me:***@db/lab "
        "--address 10.0.0.1:6379"
    )
    assert ray_utils.get_entrypoint_name() == command_line, "restored after ray.init"
