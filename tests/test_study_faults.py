"""The driver as a user runs it (a subprocess): killed with SIGKILL, interrupted with Ctrl-C,
then resumed; and the GPU worker path on a Ray that declares a GPU this machine lacks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from study_spaces import SLOW, TINY, write_space


def start_driver(space: Path, storage: str, trials: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "harness", "study", "--name", "s", "--sampler", "random",
               "--trials", str(trials), "--space", str(space), "--storage", storage,
               "--cpu-workers", "2"]  # fmt: skip
    # SIGINT back to its default in the child: a CI job started in the background may have it
    # ignored, and an ignored SIGINT would be inherited (Python then never sees Ctrl-C).
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_sigint)  # fmt: skip


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
        wait_for(storage, lambda ts: count(ts, TrialState.COMPLETE) >= 1
                 and count(ts, TrialState.RUNNING) >= 1, process)  # fmt: skip
        process.kill()  # SIGKILL to the driver alone, as `kill -9 <pid>`
        process.wait()
    finally:
        cleanup(process)
    before = optuna.load_study(study_name="s", storage=storage).get_trials()
    complete_before = {t.number: (t.params, t.value) for t in before
                       if t.state == TrialState.COMPLETE}  # fmt: skip
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
import harness.search.workers as workers
from harness.errors import HarnessError
ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False,
         log_to_driver=False, object_store_memory=80 * 1024**2)
space = open(sys.argv[1]).read()
if sys.argv[2] == "probe":
    class Probe:  # stands in for TrialRunner: says where Ray put it and what it was told
        def __init__(self, space_text, space_source, device, threads):
            self.told = {"device": device, "threads": threads}
        def describe(self):
            return {**self.told, "gpu_ids": [str(i) for i in ray.get_gpu_ids()],
                    "cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES")}
    workers.TrialRunner = Probe
    pool = workers.RayPool(space, sys.argv[1], lambda *a: False, cpu_workers=None,
                           gpu_workers=2)
    placed = {name: ray.get(actor.describe.remote()) for name, actor in pool.actors.items()}
    print("PLACED", json.dumps({"specs": [[s.name, s.kind, s.gpu_fraction] for s in pool.specs],
                                "placed": placed}))
    pool.close()
else:
    try:
        workers.RayPool(space, sys.argv[1], lambda *a: False, cpu_workers=None, gpu_workers=2)
    except HarnessError as err:
        print("ERROR", err)
"""


def _gpu_script(tmp_path, mode: str) -> str:
    space = write_space(tmp_path, TINY)
    script = tmp_path / "gpu.py"
    script.write_text(GPU_SCRIPT)
    result = subprocess.run([sys.executable, str(script), str(space), mode], capture_output=True,
                            text=True, timeout=180)  # fmt: skip
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
        assert found["placed"][name] == {"device": "cuda", "threads": 1, "gpu_ids": ["0"],
                                         "cuda_visible": "0"}, name  # fmt: skip


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
