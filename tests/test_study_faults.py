"""The driver as a user runs it (a subprocess): killed with SIGKILL, interrupted with Ctrl-C,
then resumed; and the GPU worker path on a Ray that declares a GPU this machine lacks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from study_spaces import SLOW, TINY, write_space


def start_driver(
    space: Path, storage: str, trials: int, env: dict[str, str] | None = None
) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "harness",
        "study",
        "--name",
        "s",
        "--sampler",
        "random",
        "--trials",
        str(trials),
        "--space",
        str(space),
        "--storage",
        storage,
        "--cpu-workers",
        "2",
    ]
    # SIGINT back to its default in the child: a CI job started in the background may have it
    # ignored, and an ignored SIGINT would be inherited (Python then never sees Ctrl-C).
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
        env={**os.environ, **(env or {})},
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(storage: str, condition, process: subprocess.Popen, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            trials = optuna.load_study(study_name="s", storage=storage).get_trials()
        except KeyError:
            trials = []
        if condition(trials):
            return
        time.sleep(0.5)
    raise AssertionError("condition not reached in time")


def count(trials, state: TrialState) -> int:
    return sum(t.state == state for t in trials)


def cleanup(process: subprocess.Popen) -> None:
    """Ray's own processes from a killed driver share its session: end them too."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.slow
def test_driver_killed_with_sigkill_then_resumed(tmp_path):
    space = write_space(tmp_path, SLOW)
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    process = start_driver(space, storage, trials=3)
    try:
        wait_for(
            storage,
            lambda ts: count(ts, TrialState.COMPLETE) >= 1 and count(ts, TrialState.RUNNING) >= 1,
            process,
        )
        process.kill()  # SIGKILL to the driver alone, as `kill -9 <pid>`
        process.wait()
    finally:
        cleanup(process)
    before = optuna.load_study(study_name="s", storage=storage).get_trials()
    complete_before = {
        t.number: (t.params, t.value) for t in before if t.state == TrialState.COMPLETE
    }
    stale = [t.number for t in before if t.state == TrialState.RUNNING]
    assert stale

    resumed = start_driver(space, storage, trials=3)
    try:
        _, err = resumed.communicate(timeout=300)
    finally:
        cleanup(resumed)
    assert resumed.returncode == 0, err
    after = optuna.load_study(study_name="s", storage=storage).get_trials()
    assert count(after, TrialState.COMPLETE) == 3
    assert count(after, TrialState.RUNNING) == 0
    for number, (params, value) in complete_before.items():
        assert (after[number].params, after[number].value) == (params, value)
    for number in stale:
        assert after[number].state == TrialState.FAIL
        assert after[number].user_attrs["fail_reason"].startswith("stale")
        retry = [t for t in after if t.user_attrs.get("retry_of") == number]
        assert len(retry) == 1 and retry[0].params == after[number].params


@pytest.mark.slow
def test_ctrl_c_marks_in_flight_trials_failed_and_says_how_to_resume(tmp_path):
    space = write_space(tmp_path, SLOW)
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    process = start_driver(space, storage, trials=2)
    try:
        wait_for(storage, lambda ts: count(ts, TrialState.RUNNING) >= 1, process)
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        cleanup(process)
    assert process.returncode == 130, err
    assert "run the same command again" in err
    trials = optuna.load_study(study_name="s", storage=storage).get_trials()
    assert count(trials, TrialState.RUNNING) == 0
    interrupted = [t for t in trials if t.user_attrs.get("fail_reason") == "interrupted (Ctrl-C)"]
    assert interrupted
    assert count(trials, TrialState.WAITING) == len(interrupted), "their params wait for a retry"


GPU_SCRIPT = """
import json, os, sys
import ray
import harness.search.ray_pool as ray_pool
from harness.errors import HarnessError
gpus, n_workers = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (1, 2)
ray.init(address="local", num_cpus=4, num_gpus=gpus, include_dashboard=False,
         log_to_driver=False, object_store_memory=80 * 1024**2)
space = open(sys.argv[1]).read()
if sys.argv[2] in ("probe", "crowded"):
    class Probe:  # stands in for TrialRunner: says where Ray put it and what it was told
        def __init__(self, space_text, space_source, device, threads):
            self.told = {"device": device, "threads": threads}
        def describe(self):
            return {**self.told, "gpu_ids": [str(i) for i in ray.get_gpu_ids()],
                    "cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES")}
    ray_pool.TrialRunner = Probe
    if sys.argv[2] == "crowded":  # another job holds most of the one GPU: nothing fits
        @ray.remote(num_gpus=0.9, num_cpus=0)
        class Squatter:
            def ready(self):
                return True
        squatter = Squatter.remote()
        ray.get(squatter.ready.remote())
        ray_pool.START_TIMEOUT = 5.0
        try:
            ray_pool.RayPool(space, sys.argv[1], cpu_workers=0, gpu_workers=n_workers)
        except HarnessError as err:
            print("ERROR", err)
        sys.exit(0)
    pool = ray_pool.RayPool(space, sys.argv[1], cpu_workers=0, gpu_workers=n_workers)
    placed = {name: pool.describe(name) for name in pool.names}
    print("PLACED", json.dumps({"specs": [[s.name, s.kind, s.gpu_fraction] for s in pool.specs],
                                "placed": placed}))
    pool.close()
else:
    try:
        ray_pool.RayPool(space, sys.argv[1], cpu_workers=None, gpu_workers=2)
    except HarnessError as err:
        print("ERROR", err)
"""


def _gpu_script(tmp_path, mode: str, gpus: int = 1, workers: int = 2) -> str:
    space = write_space(tmp_path, TINY)
    script = tmp_path / "gpu.py"
    script.write_text(GPU_SCRIPT)
    command = [sys.executable, str(script), str(space), mode, str(gpus), str(workers)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    return result.stdout + "\n" + result.stderr[-3000:]


@pytest.mark.slow
def test_gpu_workers_are_placed_on_a_declared_gpu(tmp_path):
    """On a Ray that declares one GPU, two GPU workers each ask for half of it, and Ray starts
    both on GPU 0 (CUDA_VISIBLE_DEVICES=0; with a whole GPU each, the second could not start);
    each is told to train on CUDA with one thread. The worker class is replaced by a probe, so
    no CUDA is needed."""
    output = _gpu_script(tmp_path, "probe")
    line = next((x for x in output.splitlines() if x.startswith("PLACED ")), None)
    assert line is not None, output
    found = json.loads(line.removeprefix("PLACED "))
    assert found["specs"] == [["gpu-0", "gpu", 0.5], ["gpu-1", "gpu", 0.5]]
    for name in ("gpu-0", "gpu-1"):
        assert found["placed"][name] == {
            "device": "cuda",
            "threads": 1,
            "gpu_ids": ["0"],
            "cuda_visible": "0",
        }, name


@pytest.mark.slow
def test_three_gpu_workers_fit_on_two_declared_gpus(tmp_path):
    """3 GPU workers on 2 GPUs take half a GPU each (2/3 each could never share a card), so
    Ray places all three: two on one card, one on the other."""
    output = _gpu_script(tmp_path, "probe", gpus=2, workers=3)
    line = next((x for x in output.splitlines() if x.startswith("PLACED ")), None)
    assert line is not None, output
    found = json.loads(line.removeprefix("PLACED "))
    assert [spec[2] for spec in found["specs"]] == [0.5, 0.5, 0.5]
    cards = sorted(placed["gpu_ids"][0] for placed in found["placed"].values())
    assert cards in (["0", "0", "1"], ["0", "1", "1"]), found


@pytest.mark.slow
def test_workers_ray_cannot_place_are_refused_naming_what_is_missing(tmp_path):
    """Another job holds 0.9 of the only GPU: no GPU worker fits. The pool is refused after
    its start timeout with one line naming the workers, what each needs and what is free,
    instead of waiting forever."""
    output = _gpu_script(tmp_path, "crowded", gpus=1, workers=2)
    line = next((x for x in output.splitlines() if x.startswith("ERROR ")), None)
    assert line is not None, output
    assert (
        "2 of 2 workers could not be placed within 5 s (gpu-0, gpu-1; each needs 1 CPU "
        "and 0.5 of one GPU); Ray has" in line
    ), line
    assert "'GPU': 0.1" in line


@pytest.mark.slow
@pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="checks the GPU path on a machine without"
)
def test_gpu_workers_without_cuda_refuse_to_start_in_one_line(tmp_path):
    """The same pool with the real workers: each insists on CUDA, which this machine lacks, so
    the pool refuses to start with one clear line instead of losing trial after trial."""
    output = _gpu_script(tmp_path, "real")
    assert "ERROR a worker could not start: device 'cuda' was asked for" in output, output


@pytest.mark.slow
def test_a_second_driver_on_a_live_study_is_refused(tmp_path):
    """Two drivers on one study: the second is refused in one line naming the holder and
    changes nothing; the first finishes every trial (before the lease, the second failed the
    first's RUNNING trials as stale and the first crashed on UpdateFinishedTrialError)."""
    space = write_space(tmp_path, SLOW)
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    first = start_driver(space, storage, trials=3)
    try:
        wait_for(storage, lambda ts: count(ts, TrialState.RUNNING) >= 1, first)
        before = optuna.load_study(study_name="s", storage=storage).get_trials()
        second = start_driver(space, storage, trials=3)
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        last = err.strip().splitlines()[-1]
        assert last.startswith("harness: error: study 's' is being run by another driver (pid")
        assert str(first.pid) in last and "Traceback" not in err
        during = optuna.load_study(study_name="s", storage=storage).get_trials()
        assert count(during, TrialState.FAIL) == 0, "the second driver failed nothing"
        assert len(during) >= len(before)
        _, err = first.communicate(timeout=300)
    finally:
        cleanup(first)
    assert first.returncode == 0, err
    after = optuna.load_study(study_name="s", storage=storage).get_trials()
    assert count(after, TrialState.COMPLETE) == 3
    assert count(after, TrialState.RUNNING) == 0 and count(after, TrialState.FAIL) == 0


@pytest.mark.slow
def test_sigterm_under_ray_marks_in_flight_trials_failed_and_exits_143(tmp_path):
    """SIGTERM while Ray workers train: taken between Ray calls (Ray's own handler, which
    would sys.exit from inside a Ray call, is undone), so the same clean-up as Ctrl-C."""
    space = write_space(tmp_path, SLOW)
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    process = start_driver(space, storage, trials=2)
    try:
        wait_for(storage, lambda ts: count(ts, TrialState.RUNNING) >= 1, process)
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        cleanup(process)
    assert process.returncode == 143, err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("harness: terminated by SIGTERM; ")
    trials = optuna.load_study(study_name="s", storage=storage).get_trials()
    assert count(trials, TrialState.RUNNING) == 0
    assert [t for t in trials if t.user_attrs.get("fail_reason") == "interrupted: SIGTERM"]


def _lease(storage: str) -> dict | None:
    study = optuna.load_study(study_name="s", storage=storage)
    return study._storage.get_study_system_attrs(study._study_id).get("harness:driver_lease")


@pytest.mark.slow
def test_a_paused_driver_keeps_its_study_past_the_lease_timeout(tmp_path):
    """A driver stopped (kill -STOP: a laptop asleep, a VM paused) past the heartbeat timeout
    is alive on this host: a second driver is refused and fails nothing; resumed, the first
    finishes its study (was: the second took the study, failed the first's running trial as
    stale, and the first died on UpdateFinishedTrialError)."""
    timeout = 3.0  # seconds; the default 60 would make this test a minute longer
    env = {"HARNESS_LEASE_TIMEOUT": str(timeout)}
    space = write_space(tmp_path, SLOW)
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    first = start_driver(space, storage, trials=3, env=env)
    try:
        wait_for(storage, lambda ts: count(ts, TrialState.RUNNING) >= 1, first)
        first.send_signal(signal.SIGSTOP)
        time.sleep(timeout + 2)
        assert time.time() - _lease(storage)["heartbeat"] > timeout, "the lease looks expired"
        before = optuna.load_study(study_name="s", storage=storage).get_trials()
        # a driver may be paused inside a write, holding SQLite's write lock: held here for the
        # second driver's whole life, it must still get the lease's line (was, at random:
        # 'database is locked', from create_study's INSERT of a study that exists)
        writer = sqlite3.connect(tmp_path / "studies.db", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            second = start_driver(space, storage, trials=3, env=env)
            _, err = second.communicate(timeout=120)
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert second.returncode == 2, err
        last = err.strip().splitlines()[-1]
        assert last.startswith(
            f"harness: error: study 's' is being run by another driver (pid {first.pid} on "
        ), last
        assert "alive on this host" in last and "HARNESS_FORCE_LEASE=1" in last
        during = optuna.load_study(study_name="s", storage=storage).get_trials()
        assert [t.state for t in during] == [t.state for t in before], "it changed nothing"
        first.send_signal(signal.SIGCONT)
        _, err = first.communicate(timeout=300)
    finally:
        cleanup(first)
    assert first.returncode == 0, err
    after = optuna.load_study(study_name="s", storage=storage).get_trials()
    assert count(after, TrialState.COMPLETE) == 3
    assert count(after, TrialState.RUNNING) == 0 and count(after, TrialState.FAIL) == 0
    assert _lease(storage) is None, "released at the end"


@pytest.mark.slow
def test_sigterm_during_ray_start_up_exits_143_with_its_line(tmp_path):
    """SIGTERM while ray.init runs (was: Ray's own handler, installed by ray.init, exited with
    status 15 and no line): taken like any SIGTERM, Ray shut down, the study's lease given
    back, and no Ray warning line before ours."""
    space = write_space(tmp_path, SLOW)
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    process = start_driver(space, storage, trials=2)
    try:
        # the study exists (its lease taken) just before the pool starts Ray
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(KeyError):
                if _lease(storage):
                    break
            time.sleep(0.05)
        time.sleep(1.0)  # inside ray.init: it takes a few seconds
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        cleanup(process)
    assert process.returncode == 143, err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("harness: terminated by SIGTERM; "), err
    assert not [line for line in err.splitlines() if " WARNING " in line], err
    assert _lease(storage) is None
    trials = optuna.load_study(study_name="s", storage=storage).get_trials()
    assert count(trials, TrialState.RUNNING) == 0
