"""The scheduler: many studies on one pool, results independent of timing and pool size,
stop requests that cannot reach the wrong job, retraining queued as each study ends."""

from __future__ import annotations

import json
from dataclasses import replace

import optuna
import pytest
from study_spaces import TINY, write_space

from harness.errors import HarnessError
from harness.experiment.compare import run_compare
from harness.experiment.config import STUDY_TEMPLATE, CompareConfig
from harness.search.jobs import EpochHook, Outcome, TrialJob
from harness.search.local_pool import LocalPool
from harness.search.ray_setup import start_local_ray
from harness.search.runner import TrialRunner
from harness.search.scheduler import Scheduler, Usage

TRIALS = 5


def _compare(
    tmp_path,
    name: str,
    executor: str,
    workers: int | None,
    space_text: str = TINY,
    trials: int = TRIALS,
    **study,
) -> dict:
    """Every trial's (params, value) of a small comparison, by study and trial number."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    space = write_space(tmp_path, space_text)
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    template = replace(
        STUDY_TEMPLATE,
        trials=trials,
        space_path=space,
        storage=url,
        executor=executor,
        cpu_workers=workers,
        show_progress=False,
        concurrency=1,
        **study,
    )
    config = CompareConfig(
        run=name,
        study=template,
        repeats=2,
        retrain_seeds=2,
        bench_seeds=0,
        reference_seeds=0,
        runs_root=tmp_path / "runs",
    )
    directory = run_compare(config, log=lambda text: None)
    storage = optuna.storages.RDBStorage(url)
    trials, steps = {}, {}
    for summary in storage.get_all_studies():
        study_name = summary.study_name
        for trial in optuna.load_study(study_name=study_name, storage=storage).trials:
            key = (study_name.split("/", 1)[1], trial.number)
            trials[key] = (trial.params, trial.value, trial.state.name)
            steps[key] = sorted(trial.intermediate_values)
    retrain = json.loads((directory / "retrain.json").read_text())["records"]
    retrained = {
        r["study"].split("/", 1)[1]: [x["test_auroc"] for x in r["results"]] for r in retrain
    }
    usage = json.loads((directory / "pool.json").read_text())[-1]
    return {
        "trials": trials,
        "steps": steps,
        "retrained": retrained,
        "usage": usage,
        "url": url,
        "runs_root": tmp_path / "runs",
        "folder": tmp_path,
    }


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    return _compare(tmp_path_factory.mktemp("local"), "det", "local", None)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_compare_results_do_not_depend_on_workers_or_executor(tmp_path, local_run, workers):
    """With one trial per study in flight, every trial's parameters and value and every
    retraining result are the same on 1, 2 and 4 Ray workers as in this process."""
    import ray

    start_local_ray(num_cpus=4)  # 4 logical CPUs on any machine: 4 one-CPU workers fit
    try:
        ray_run = _compare(tmp_path, "det", "ray", workers)
    finally:
        ray.shutdown()
    assert set(ray_run["trials"]) == set(local_run["trials"])
    for key, (params, value, state) in local_run["trials"].items():
        other = ray_run["trials"][key]
        assert other[0] == params and other[2] == state, key
        assert other[1] == pytest.approx(value, abs=1e-6), key
    assert ray_run["retrained"].keys() == local_run["retrained"].keys()
    for study, values in local_run["retrained"].items():
        assert ray_run["retrained"][study] == pytest.approx(values, abs=1e-6), study
    assert ray_run["usage"]["workers"] == workers
    assert 0 < ray_run["usage"]["utilization"] <= 1


# Long enough for the median pruner (5 warm-up epochs, 5 start-up trials) to prune: on Ray a
# worker trains past the prune until the stop arrives; those epochs must not be reported.
PRUNABLE = TINY.replace("max_epochs = 3", "max_epochs = 12").replace(
    "patience = 3", "patience = 12"
)


@pytest.mark.slow
def test_pruned_compare_is_the_same_on_ray_as_in_process(tmp_path):
    import ray

    # 12 trials: the median pruner prunes only after 5 complete ones
    local = _compare(
        tmp_path / "local", "prn", "local", None, pruner="median", space_text=PRUNABLE, trials=12
    )
    start_local_ray(num_cpus=2)
    try:
        remote = _compare(
            tmp_path / "ray", "prn", "ray", 2, pruner="median", space_text=PRUNABLE, trials=12
        )
    finally:
        ray.shutdown()
    assert any(state == "PRUNED" for _, _, state in local["trials"].values())
    assert remote["trials"].keys() == local["trials"].keys()
    for key, (params, value, state) in local["trials"].items():
        other = remote["trials"][key]
        assert other[0] == params and other[2] == state, key
        assert other[1] == pytest.approx(value, abs=1e-6), key  # None == None for PRUNED
    assert remote["steps"] == local["steps"]  # the same intermediate values were stored


def test_local_compare_records_pool_usage(local_run):
    usage = local_run["usage"]
    assert usage["workers"] == 1 and usage["jobs"] == 4 * TRIALS + 4 * 2  # trials + retraining
    # busy = submit to outcome; these trials train for a tenth of a second, so the driver's
    # own work between them (asking, telling, the storage) is a large share of the wall time
    assert 0 < usage["busy_s"] <= usage["wall_s"]
    assert usage["utilization"] == pytest.approx(usage["busy_s"] / usage["wall_s"], abs=1e-3)


def test_pool_usage_counts_the_workers_cpu_and_run_queue_time(local_run):
    usage = local_run["usage"]
    assert 0 < usage["cpu_s"] <= usage["busy_s"]
    assert 0 <= usage["runq_wait_s"] <= usage["busy_s"]


def test_usage_line_says_how_much_of_the_busy_time_was_cpu():
    usage = Usage(workers=2, wall_s=10.0)
    usage.add(10.0, {"cpu_s": 6.0, "runq_wait_s": 4.0})
    usage.add(10.0, None)  # a lost job: no profile
    assert usage.jobs == 2 and usage.busy_s == 20.0
    assert "trained on a CPU 30% of the time and waited for one 20%" in usage.line()
    assert "CPU" not in Usage(workers=1, wall_s=1.0, busy_s=1.0, jobs=1).line()


def test_a_job_record_carries_its_profile():
    runner = TrialRunner(TINY, "tiny", "cpu", threads=1)
    params = {"hidden_size": 8, "lr": 1e-2, "batch_size": 256, "weight_decay": 0.0, "dropout": 0.0}
    profile = runner.run(TrialJob(0, params, 1, "val_auroc", token="t"))["profile"]
    assert 0 < profile["cpu_s"] <= profile["wall_s"] + 0.01
    assert 0 < profile["to_first_epoch_s"] <= profile["wall_s"]
    assert profile["hooks_s"] >= 0 and profile["after_last_epoch_s"] >= 0
    if profile["runq_wait_s"] is not None:  # Linux
        parts = profile["cpu_s"] + profile["runq_wait_s"] + profile["blocked_s"]
        assert parts == pytest.approx(profile["wall_s"], abs=0.05)
    assert runner.describe()["torch_threads"] == 1


def test_report_shows_pool_usage(local_run):
    from harness.report.write import write_report

    report = write_report(
        "det", local_run["url"], local_run["folder"] / "det.md", local_run["runs_root"]
    )
    text = report.path.read_text()
    assert "Pool usage of `harness compare`" in text
    usage = local_run["usage"]
    assert f"| 1 | 1 | {usage['jobs']} |" in text


# --- tokens: a late stop cannot reach another job ----------------------------------------


def test_a_stop_for_a_finished_job_is_ignored(tmp_path):
    """Regression: a prune request that reached a worker after its trial ended used to stay
    in its stop set under the trial number, and the next job with that number (another
    study's trial, a retraining seed) was pruned at its first epoch."""
    runner = TrialRunner(TINY, "tiny", "cpu", threads=1)
    params = {"hidden_size": 8, "lr": 1e-2, "batch_size": 256, "weight_decay": 0.0, "dropout": 0.0}
    first = runner.run(TrialJob(0, params, 1, "val_auroc", token="study-a#0/0"))
    assert first["status"] == "ok"
    assert runner.stop("study-a#0/0") is False  # arrived late: nothing is running
    second = runner.run(TrialJob(0, params, 2, "val_auroc", token="study-b#0/1"))
    assert second["status"] == "ok" and second["epochs"] == 3


def test_a_stop_for_the_running_job_prunes_it():
    """The pool's protocol: epochs polled from another thread, the stop named by token."""
    import threading
    import time

    long_space = TINY.replace("max_epochs = 3", "max_epochs = 500").replace(
        "patience = 3", "patience = 500"
    )
    runner = TrialRunner(long_space, "long", "cpu", threads=1)
    params = {"hidden_size": 8, "lr": 1e-2, "batch_size": 256, "weight_decay": 0.0, "dropout": 0.0}
    result: dict = {}
    thread = threading.Thread(
        target=lambda: result.update(runner.run(TrialJob(3, params, 1, "val_auroc", token="mine")))
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not runner.poll() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runner.stop("other") is False  # not the running job: ignored
    assert runner.stop("mine") is True
    thread.join(timeout=60)
    assert result["status"] == "pruned"
    assert runner.stop("mine") is False  # and nothing lingers after it


# --- the scheduler's order ---------------------------------------------------------------


class _Source:
    """A source of ``n`` jobs that records the order in which its jobs were handed out."""

    def __init__(self, name: str, n: int, limit: int, log: list[str]) -> None:
        self.name, self.n, self.limit, self.log = name, n, limit, log
        self.handed, self.told = 0, 0

    def fraction_done(self) -> float:
        return self.told / self.n

    def done(self) -> bool:
        return self.told == self.n

    def next_job(self) -> TrialJob | None:
        if self.handed == self.n:
            return None
        self.handed += 1
        self.log.append(f"{self.name}{self.handed - 1}")
        return TrialJob(self.handed - 1, {}, 0, "val_auroc")

    def tell(self, outcome: Outcome) -> None:
        self.told += 1

    def on_epoch(self, job: TrialJob, epoch: int, value: float) -> bool:
        return False

    def interrupted(self, job: TrialJob, reason: str) -> None:
        pass


class _InstantPool:
    """Two slots; each job finishes at the next wait."""

    slots = 2

    def __init__(self) -> None:
        self.jobs: list[TrialJob] = []

    def free_slots(self) -> int:
        return self.slots - len(self.jobs)

    def submit(self, job: TrialJob) -> None:
        self.jobs.append(job)

    def running(self) -> dict:
        return {}

    def wait(self, timeout: float, on_epoch: EpochHook) -> list[Outcome]:
        done, self.jobs = self.jobs, []
        return [Outcome(job, "w", record={"status": "ok"}) for job in done]

    def stop_all(self) -> list[TrialJob]:
        return []

    def close(self) -> None:
        pass


def test_free_workers_take_the_source_furthest_behind_and_follow_ups_join():
    log: list[str] = []
    a, b = _Source("a", 3, 1, log), _Source("b", 1, 1, log)
    followed = []

    def on_done(source):
        followed.append(source.name)
        return [_Source(f"{source.name}-retrain", 2, 2, log)] if source.name == "b" else []

    scheduler = Scheduler(_InstantPool(), on_done=on_done)
    scheduler.add(a)
    scheduler.add(b)
    usage = scheduler.run()
    # a and b start together (limit 1 each); b's retraining (2 at once) joins when b ends,
    # ahead of a, which is further along
    assert log == ["a0", "b0", "b-retrain0", "b-retrain1", "a1", "a2"]
    assert followed == ["b", "b-retrain", "a"]
    assert usage.jobs == 6 and isinstance(usage, Usage)


class _OneAtATimePool(_InstantPool):
    """Each wait returns the oldest job only; the others stay in flight."""

    def wait(self, timeout: float, on_epoch: EpochHook) -> list[Outcome]:
        done, self.jobs = self.jobs[:1], self.jobs[1:]
        return [Outcome(job, "w", record={"status": "ok"}) for job in done]

    def stop_all(self) -> list[TrialJob]:
        jobs, self.jobs = self.jobs, []
        return jobs


def test_an_error_tells_every_source_about_its_jobs_in_flight():
    log: list[str] = []
    heard: list[tuple[str, str]] = []

    class Failing(_Source):
        def tell(self, outcome: Outcome) -> None:
            raise HarnessError("too many failures in a")

    class Listening(_Source):
        def interrupted(self, job: TrialJob, reason: str) -> None:
            heard.append((f"{self.name}{job.number}", reason))

    scheduler = Scheduler(_OneAtATimePool())
    scheduler.add(Failing("a", 2, 1, log))
    scheduler.add(Listening("b", 2, 1, log))
    with pytest.raises(HarnessError, match="too many failures"):
        scheduler.run()
    assert heard == [("b0", "aborted: too many failures in a")]
    assert not scheduler.in_flight


def test_retrain_cache_is_replaced_whole(tmp_path):
    from harness.files import write_atomically

    path = tmp_path / "runs" / "retrain.json"
    write_atomically(path, '{"records": []}\n')
    write_atomically(path, '{"records": [1]}\n')
    assert path.read_text() == '{"records": [1]}\n'
    assert [p.name for p in path.parent.iterdir()] == ["retrain.json"]  # no temporary left


def test_the_in_process_pool_serves_the_scheduler(tmp_path):
    pool = LocalPool(TINY, "tiny", "cpu")
    log: list[str] = []

    class Trials(_Source):
        def next_job(self) -> TrialJob | None:
            job = super().next_job()
            if job is None:
                return None
            return TrialJob(
                job.number,
                {
                    "hidden_size": 8,
                    "lr": 1e-2,
                    "batch_size": 512,
                    "weight_decay": 0.0,
                    "dropout": 0.0,
                },
                0,
                "val_auroc",
            )

    scheduler = Scheduler(pool)
    scheduler.add(Trials("x", 2, 1, log))
    usage = scheduler.run()
    assert usage.jobs == 2 and usage.workers == 1
    assert usage.busy_s <= usage.wall_s


def test_a_local_ray_runs_its_workers_at_normal_priority(monkeypatch):
    """Ray's own default starts workers at nice 15, where any neighbour's work slows the trials
    and their timings; the harness's local Ray runs them at nice 0 unless the user says."""
    import os

    import ray

    monkeypatch.delenv("RAY_worker_niceness", raising=False)
    start_local_ray(num_cpus=1)
    try:
        niceness = ray.get(ray.remote(lambda: os.nice(0)).remote())
    finally:
        ray.shutdown()
    assert niceness == os.nice(0)
