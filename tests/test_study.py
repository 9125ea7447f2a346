"""Studies end to end on a real local Ray (2 CPUs) and in-process, with tiny budgets."""

from __future__ import annotations

import os
import signal
import time

import optuna
import pytest
from optuna.trial import TrialState
from study_spaces import DIVERGING, SLOW, TINY, write_space

from harness.cli.app import run
from harness.errors import HarnessError
from harness.search.ray_pool import RayPool
from harness.search.ray_setup import plan_workers, start_local_ray
from harness.search.storage import redact_url
from harness.search.study import StudyConfig, run_study


@pytest.fixture(scope="module")
def ray_session():
    import ray

    start_local_ray(num_cpus=2)
    yield
    ray.shutdown()


def config(tmp_path, text=TINY, **overrides) -> StudyConfig:
    values = {
        "name": "s",
        "sampler": "tpe",
        "trials": 4,
        "space_path": write_space(tmp_path, text),
        "storage": f"sqlite:///{tmp_path / 'studies.db'}",
        "show_progress": False,
    }
    return StudyConfig(**(values | overrides))


def states(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


@pytest.mark.slow
def test_small_study_on_ray_records_everything(tmp_path, ray_session):
    study = run_study(config(tmp_path, trials=4))
    assert states(study) == {"COMPLETE": 4}
    attrs = study.user_attrs
    assert attrs["sampler"] == {
        "name": "TPESampler",
        "n_startup_trials": 10,
        "multivariate": True,
        "constant_liar": True,
        "seed": 0,
    }
    assert attrs["space"] == (tmp_path / "space.toml").read_text()
    assert {"torch", "optuna", "ray", "numpy", "python"} <= set(attrs["versions"])
    workers = set()
    for trial in study.trials:
        assert trial.intermediate_values, "each epoch's validation AUROC is reported"
        assert trial.value == pytest.approx(trial.user_attrs["val_auroc"])
        assert list(trial.intermediate_values) == list(range(1, trial.user_attrs["epochs"] + 1))
        for key in (
            "epochs",
            "seconds",
            "device",
            "host",
            "train_seed",
            "status",
            "val_auroc",
            "threshold",
        ):
            assert key in trial.user_attrs, key
        # the search chooses on validation: no search trial has a test figure to pick by
        assert not [k for k in trial.user_attrs if k.startswith("test_")], trial.user_attrs
        assert trial.user_attrs["device"] == "cpu"
        workers.add(trial.user_attrs["worker"])
    assert workers == {"cpu-0", "cpu-1"}, "both CPU workers trained"


@pytest.mark.slow
def test_resume_runs_only_what_is_missing_and_changes_nothing(tmp_path, ray_session):
    first = run_study(config(tmp_path, sampler="random", trials=2))
    before = {t.number: (t.params, t.value) for t in first.trials}
    resumed = run_study(config(tmp_path, sampler="random", trials=5))
    assert states(resumed) == {"COMPLETE": 5}
    after = {t.number: (t.params, t.value) for t in resumed.trials}
    assert all(after[n] == before[n] for n in before)
    # a resumed seeded sampler must not replay the proposals it made before
    assert len({str(p) for p, _ in after.values()}) == 5
    again = run_study(config(tmp_path, sampler="random", trials=5))
    assert len(again.trials) == 5, "a finished study is not extended"


def test_resume_refuses_other_settings(tmp_path):
    run_study(config(tmp_path, executor="local", trials=1))
    with pytest.raises(HarnessError, match="sampler"):
        run_study(config(tmp_path, executor="local", sampler="random", trials=2))
    other_space = TINY.replace("high = 32", "high = 33")
    with pytest.raises(HarnessError, match="space"):
        run_study(config(tmp_path, other_space, executor="local", trials=2))
    with pytest.raises(HarnessError, match="objective"):
        run_study(config(tmp_path, executor="local", objective="val_loss", trials=2))


class KillingPool(RayPool):
    """Kills the process of the first busy worker once its trial has trained a little."""

    killed: int | None = None

    def wait(self, timeout, on_epoch):
        if self.killed is None and self.running():
            time.sleep(1.5)
            worker, jobs = next(iter(self.running().items()))
            os.kill(self.worker_pid(worker), signal.SIGKILL)
            self.killed = jobs[0].number
        return super().wait(timeout, on_epoch)


@pytest.mark.slow
def test_worker_killed_mid_trial_is_failed_retried_and_replaced(tmp_path, ray_session):
    cfg = config(tmp_path, SLOW, trials=3, sampler="random")
    from harness.search.spaces import load_space

    space = load_space(cfg.space_path)
    pool = KillingPool(space.text, space.source, 2, 0)
    try:
        study = run_study(cfg, pool=pool)
    finally:
        pool.close()
    assert states(study)["COMPLETE"] == 3
    failed = study.trials[pool.killed]
    assert failed.state == TrialState.FAIL
    assert failed.user_attrs["fail_reason"].startswith("worker lost")
    retries = [t for t in study.trials if t.user_attrs.get("retry_of") == pool.killed]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == failed.params
    assert retries[0].user_attrs["train_seed"] == failed.user_attrs["train_seed"]


def test_diverging_trials_fail_with_reason_and_the_study_goes_on(tmp_path):
    cfg = config(tmp_path, DIVERGING, trials=1, executor="local")
    with pytest.raises(HarnessError, match="failed"):
        run_study(cfg)  # every trial diverges: it stops after more failures than trials
    study = optuna.load_study(study_name="s", storage=cfg.storage)
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert len(failed) >= 2
    assert all(t.user_attrs["fail_reason"] == "diverged" for t in failed)
    assert not study.get_trials(states=(TrialState.WAITING,)), "a divergence is not retried"


def test_local_executor_with_pruner_prunes(tmp_path):
    text = TINY.replace("max_epochs = 3", "max_epochs = 12").replace(
        "patience = 3", "patience = 12"
    )
    study = run_study(
        config(tmp_path, text, trials=12, executor="local", pruner="median", sampler="random")
    )
    counts = states(study)
    assert counts.get("PRUNED", 0) >= 1
    assert counts["COMPLETE"] + counts["PRUNED"] == 12, "pruned trials count towards --trials"
    pruned = study.get_trials(states=(TrialState.PRUNED,))[0]
    assert len(pruned.intermediate_values) < 12


@pytest.mark.parametrize(
    ("cpus", "gpus", "cpu_workers", "gpu_workers", "expected"),
    [
        (2, 0, None, None, ["cpu-0", "cpu-1"]),
        (16, 1, None, None, ["gpu-0", "gpu-1", "gpu-2", "gpu-3"]),
        (16, 1, 2, 2, ["cpu-0", "cpu-1", "gpu-0", "gpu-1"]),
        (16, 2, 0, 8, [f"gpu-{i}" for i in range(8)]),
        (16, 2, 0, 3, ["gpu-0", "gpu-1", "gpu-2"]),
        (16, 3, 0, 7, [f"gpu-{i}" for i in range(7)]),
    ],
)
def test_plan_workers(cpus, gpus, cpu_workers, gpu_workers, expected):
    """Each GPU worker's share fits on one card: k workers per card take at most 1/k each
    (3 workers on 2 GPUs: 0.5, where 2/3 each could not be placed twice on any card)."""
    specs = plan_workers(cpus, gpus, cpu_workers, gpu_workers)
    assert [s.name for s in specs] == expected
    shares = [s.gpu_fraction for s in specs if s.kind == "gpu"]
    if shares:
        per_card = -(-len(shares) // gpus)
        assert all(share == pytest.approx(1 / per_card, abs=1e-4) for share in shares)
        assert per_card * shares[0] <= 1.0


@pytest.mark.parametrize(
    ("cpus", "gpus", "cpu_workers", "gpu_workers", "words"),
    [
        (2, 0, 0, 0, "at least one worker"),
        (2, 0, None, 1, "sees no GPU"),
        (2, 0, 3, None, "has 2 CPUs"),
    ],
)
def test_plan_workers_refuses_impossible_pools(cpus, gpus, cpu_workers, gpu_workers, words):
    with pytest.raises(HarnessError, match=words):
        plan_workers(cpus, gpus, cpu_workers, gpu_workers)


def test_redact_url_hides_passwords():
    url = "postgresql://alice:s3cret@127.0.0.1:5432/optuna"
    assert "s3cret" not in redact_url(url)
    # a URL that does not parse still loses its password (the regex fallback)
    assert (
        redact_url("post gres://alice:s3cret@host:notaport/db")
        == "post gres://alice:***@host:notaport/db"
    )
    assert redact_url("sqlite:///runs/harness.db") == "sqlite:///runs/harness.db"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # a short password inside other words stays: masking it there would spell it out
        ("connection refused", "connection refused"),
        ("password ne was rejected", "password *** was rejected"),
        (
            "could not reach postgresql://al:ne@db:5432/x",
            "could not reach postgresql://al:***@db:5432/x",
        ),
        ("ne", "***"),
    ],
)
def test_one_redaction_for_storage_messages(message, expected):
    from harness.search.storage import redact_message

    assert redact_message(message, "postgresql://al:ne@db:5432/x") == expected


def test_unopenable_storage_is_one_line_without_password(capsys, tmp_path):
    code = run(
        [
            "study",
            "--name",
            "x",
            "--sampler",
            "tpe",
            "--executor",
            "local",
            "--storage",
            "postgresql://bob:hunter2@127.0.0.1:1/none",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "hunter2" not in err
    assert "harness: error: cannot open storage" in err
