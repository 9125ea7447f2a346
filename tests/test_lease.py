"""One live driver per study: the lease (harness.search.lease) on an in-memory storage."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import optuna
import pytest

from harness.errors import HarnessError
from harness.search import lease as lease_module
from harness.search.lease import KEY, STALE_AFTER, Lease


@pytest.fixture
def study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name="s", storage=optuna.storages.InMemoryStorage())


def _holder(study: optuna.Study) -> dict:
    return study._storage.get_study_system_attrs(study._study_id)[KEY]


def _hold(study: optuna.Study, host: str, pid: int, age: float, **extra) -> None:
    """Write another driver's lease: on ``host``, process ``pid``, last beat ``age`` s ago."""
    holder = {"token": "other", "host": host, "pid": pid, "heartbeat": time.time() - age}
    study._storage.set_study_system_attr(study._study_id, KEY, {**holder, **extra})


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_a_fresh_lease_refuses_a_second_driver(study):
    first = Lease(study)
    first.acquire()
    with pytest.raises(HarnessError, match=rf"pid {os.getpid()} on {socket.gethostname()}"):
        Lease(study).acquire()
    assert _holder(study)["token"] == first.token, "the refused driver changed nothing"


def test_a_live_holder_on_this_host_keeps_its_lease_however_old(study):
    """A driver paused past the timeout (kill -STOP, a laptop asleep) is alive: its study is
    not taken (was: taken once the heartbeat was 60 s old, and the paused driver crashed
    with UpdateFinishedTrialError when it resumed). The line says how to force it."""
    _hold(study, socket.gethostname(), os.getpid(), age=3600)
    with pytest.raises(HarnessError) as refused:
        Lease(study).acquire()
    line = str(refused.value)
    assert f"(pid {os.getpid()} on {socket.gethostname()}, alive on this host;" in line
    assert "last heartbeat 3600 s ago" in line
    assert "keeps its study however old its heartbeat" in line
    assert line.endswith("to take the study anyway, run again with HARNESS_FORCE_LEASE=1")
    assert _holder(study)["token"] == "other"


def test_a_dead_holder_on_this_host_has_no_lease(study):
    _hold(study, socket.gethostname(), _dead_pid(), age=0)
    Lease(study).acquire()  # no error: the holder's process is gone


def test_a_reused_pid_is_not_the_holder(study):
    """The holder's pid now belongs to another process (after a reboot, or pids wrapping):
    its start time differs, so the lease is dead, not held for ever."""
    _hold(study, socket.gethostname(), os.getpid(), age=0, started="another-boot:1")
    mine = Lease(study)
    mine.acquire()
    assert _holder(study)["token"] == mine.token
    assert _holder(study)["started"] == lease_module._process_start(os.getpid())


@pytest.mark.parametrize(("age", "taken"), [(STALE_AFTER - 5, False), (STALE_AFTER + 1, True)])
def test_another_hosts_lease_expires_after_the_timeout(study, age, taken):
    _hold(study, "elsewhere", 1, age=age)
    if taken:
        Lease(study).acquire()
        assert _holder(study)["host"] == socket.gethostname()
        return
    with pytest.raises(HarnessError, match="its lease expires 60 s after its last heartbeat"):
        Lease(study).acquire()


def test_the_timeout_comes_from_the_environment(study, monkeypatch):
    monkeypatch.setenv("HARNESS_LEASE_TIMEOUT", "2")
    _hold(study, "elsewhere", 1, age=3)
    Lease(study).acquire()
    monkeypatch.setenv("HARNESS_LEASE_TIMEOUT", "soon")
    with pytest.raises(HarnessError, match=r"\$HARNESS_LEASE_TIMEOUT must be seconds > 0, but"):
        Lease(study).acquire()


def test_force_takes_a_live_study_and_its_holder_stops_in_one_line(study, monkeypatch):
    from harness.search.lease import LeaseLost

    first = Lease(study)
    first.acquire()
    monkeypatch.setenv("HARNESS_FORCE_LEASE", "1")
    second = Lease(study)
    second.acquire()
    assert _holder(study)["token"] == second.token
    monkeypatch.setattr(lease_module, "HEARTBEAT", 0.0)
    with pytest.raises(LeaseLost, match=r"study 's' was taken over by another driver \(pid"):
        first.renew()
    assert _holder(study)["token"] == second.token, "the first wrote nothing"


def test_renew_beats_and_release_frees(study, monkeypatch):
    mine = Lease(study)
    mine.acquire(now=time.time() - 30)
    monkeypatch.setattr(lease_module, "HEARTBEAT", 0.0)
    mine.renew()
    assert time.time() - _holder(study)["heartbeat"] < 5
    mine.release()
    assert _holder(study) is None
    Lease(study).acquire()


def test_release_leaves_another_drivers_lease(study):
    mine = Lease(study)
    mine.acquire()
    _hold(study, "elsewhere", 1, age=0)  # taken over meanwhile
    mine.release()
    assert _holder(study)["token"] == "other"


def test_leases_are_renewed_while_the_workers_start(study, monkeypatch):
    """Ray's start-up runs nothing of the driver's for up to minutes (was: no heartbeat then,
    so a slow start made a live driver's lease look expired)."""
    from harness.search.lease import renewed_meanwhile

    monkeypatch.setattr(lease_module, "HEARTBEAT", 0.05)
    mine = Lease(study)
    mine.acquire()
    first = _holder(study)["heartbeat"]
    with renewed_meanwhile([mine]):
        time.sleep(0.5)  # the workers starting
    assert _holder(study)["heartbeat"] > first + 0.2


def test_a_lease_lost_while_the_workers_start_is_raised_after(study, monkeypatch):
    from harness.search.lease import LeaseLost, renewed_meanwhile

    monkeypatch.setattr(lease_module, "HEARTBEAT", 0.05)
    mine = Lease(study)
    mine.acquire()
    with pytest.raises(LeaseLost), renewed_meanwhile([mine]):
        _hold(study, "elsewhere", 1, age=0)
        time.sleep(0.3)
    assert _holder(study)["token"] == "other"


def test_a_study_beats_while_its_workers_start(tmp_path, monkeypatch):
    """run_studies: the pool's start (Ray's, up to START_TIMEOUT = 120 s) is beaten through
    (was: nothing renewed the lease until the first trial, so a slow start made a live
    driver's study look abandoned)."""
    import harness.search.study as study_module
    from harness.paths import SPACES_DIR
    from harness.search.config import StudyConfig
    from harness.search.driver import open_study

    monkeypatch.setattr(lease_module, "HEARTBEAT", 0.05)
    config = StudyConfig(
        name="s",
        sampler="random",
        trials=1,
        space_path=SPACES_DIR / "smoke.toml",
        storage=f"sqlite:///{tmp_path / 's.db'}",
        executor="local",
        show_progress=False,
    )
    driver = open_study(config)
    acquired = _holder(driver.study)["heartbeat"]
    seen = []
    real_make_pool = study_module.make_pool

    def slow_pool(*args, **kwargs):
        time.sleep(0.6)  # Ray starting
        seen.append(_holder(driver.study)["heartbeat"])
        return real_make_pool(*args, **kwargs)

    monkeypatch.setattr(study_module, "make_pool", slow_pool)
    study_module.run_studies(config, driver.space, [driver])
    assert seen and seen[0] > acquired + 0.3, "renewed while the pool started"
