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


def test_a_fresh_lease_refuses_a_second_driver(study):
    first = Lease(study)
    first.acquire()
    with pytest.raises(HarnessError, match=rf"pid {os.getpid()} on {socket.gethostname()}"):
        Lease(study).acquire()
    assert _holder(study)["token"] == first.token, "the refused driver changed nothing"


def test_an_expired_lease_is_taken_over(study):
    Lease(study).acquire(now=time.time() - STALE_AFTER - 1)
    second = Lease(study)
    second.acquire()
    assert _holder(study)["token"] == second.token


def test_a_dead_holder_on_this_host_has_no_lease(study):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    holder = {
        "token": "x",
        "host": socket.gethostname(),
        "pid": int(dead.stdout),
        "heartbeat": time.time(),
    }
    study._storage.set_study_system_attr(study._study_id, KEY, holder)
    Lease(study).acquire()  # no error: the holder's process is gone


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
    mine.acquire(now=time.time() - STALE_AFTER - 1)
    other = Lease(study)
    other.acquire()  # took over the expired lease
    mine.release()
    assert _holder(study)["token"] == other.token
