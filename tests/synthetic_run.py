"""A small synthetic run written straight through Optuna: studies RUN/<sampler>/r<repeat> with
the study and trial attributes harness.search.driver sets, plus runs/RUN/*.json caches.

Values come from a smooth function of the five hyperparameters plus noise; the "tpe" studies
draw later trials near their best so far, so they tend to do better, like the real sampler.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from harness.search.spaces import DEFAULT_SPACE

DISTRIBUTIONS = {
    "hidden_size": IntDistribution(16, 1024, log=True),
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "batch_size": CategoricalDistribution([32, 64, 128, 256, 512]),
    "weight_decay": FloatDistribution(1e-6, 1e-2, log=True),
    "dropout": FloatDistribution(0.0, 0.6),
}
ORIGIN = datetime(2025, 1, 1, 12, 0, 0)


def _sample(rng: np.random.Generator, near: dict | None) -> dict:
    if near is None:
        return {
            "hidden_size": round(float(np.exp(rng.uniform(np.log(16), np.log(1024))))),
            "lr": float(np.exp(rng.uniform(np.log(1e-5), np.log(1e-1)))),
            "batch_size": int(rng.choice([32, 64, 128, 256, 512])),
            "weight_decay": float(np.exp(rng.uniform(np.log(1e-6), np.log(1e-2)))),
            "dropout": float(rng.uniform(0.0, 0.6)),
        }
    return {
        "hidden_size": int(np.clip(near["hidden_size"] * np.exp(rng.normal(0, 0.3)), 16, 1024)),
        "lr": float(np.clip(near["lr"] * np.exp(rng.normal(0, 0.5)), 1e-5, 1e-1)),
        "batch_size": int(rng.choice([32, 64, 128, 256, 512])),
        "weight_decay": float(
            np.clip(near["weight_decay"] * np.exp(rng.normal(0, 0.5)), 1e-6, 1e-2)
        ),
        "dropout": float(np.clip(near["dropout"] + rng.normal(0, 0.05), 0.0, 0.6)),
    }


def _auroc(params: dict, rng: np.random.Generator) -> float:
    lr_term = (np.log10(params["lr"]) + 2.7) ** 2  # best near lr = 2e-3
    decay_term = 0.2 * max(0.0, np.log10(params["weight_decay"]) + 4) ** 2
    size_term = 0.05 * (np.log2(params["hidden_size"]) - 8) ** 2 / 4
    value = 0.915 - 0.012 * lr_term - 0.01 * decay_term - 0.004 * size_term
    value -= 0.01 * abs(params["dropout"] - 0.3)
    return float(np.clip(value + rng.normal(0, 0.002), 0.5, 0.93))


def _trial(
    number: int,
    params: dict,
    value: float | None,
    state: TrialState,
    start: datetime,
    seconds: float,
    repeat: int,
) -> FrozenTrial:
    epochs = 12
    curve = {e: (value or 0.85) - 0.03 * np.exp(-e / 3) for e in range(1, epochs + 1)}
    attrs = {
        "epochs": epochs,
        "best_epoch": epochs - 2,
        "seconds": seconds,
        "seconds_per_epoch": seconds / epochs,
        "device": "cpu",
        "worker": f"cpu-{number % 2}",
        "host": "synthetic-host",
        "train_seed": repeat * 100_000 + number,
        "status": {TrialState.COMPLETE: "ok", TrialState.PRUNED: "pruned"}.get(state, "failed"),
        "fixed_params": {},
    }
    if value is not None:
        attrs.update(val_auroc=value, val_loss=0.3, threshold=0.4)  # search trials: no test
    if state == TrialState.FAIL:
        attrs["fail_reason"] = "worker lost: synthetic"
    return FrozenTrial(
        number=number,
        state=state,
        value=value,
        datetime_start=start,
        datetime_complete=start + timedelta(seconds=seconds),
        params=params,
        distributions=DISTRIBUTIONS,
        user_attrs=attrs,
        system_attrs={},
        intermediate_values=curve if state != TrialState.FAIL else {},
        trial_id=number,
    )


def make_run(
    url: str,
    run: str,
    repeats: int = 3,
    trials: int = 12,
    samplers: tuple[str, ...] = ("tpe", "random"),
) -> dict[str, optuna.Study]:
    """Create the studies in ``url``; tpe/r0 gets one extra FAIL trial, random/r1 a PRUNED."""
    space = Path(DEFAULT_SPACE).read_text()
    studies = {}
    for repeat in range(repeats):
        for index, sampler in enumerate(samplers):
            name = f"{run}/{sampler}/r{repeat}"
            study = optuna.create_study(study_name=name, storage=url, direction="maximize")
            settings = (
                {
                    "name": "TPESampler",
                    "n_startup_trials": 4,
                    "multivariate": True,
                    "constant_liar": True,
                    "seed": repeat,
                }
                if sampler == "tpe"
                else {"name": "RandomSampler", "seed": repeat}
            )
            for key, value in {
                "sampler": settings,
                "seed": repeat,
                "objective": "val_auroc",
                "pruner": "none",
                "pruner_settings": {"name": "NopPruner"},
                "space": space,
                "space_source": str(DEFAULT_SPACE),
                "space_sha256": "0" * 64,
                "versions": {"python": "3.11.2", "optuna": optuna.__version__, "cpu": "Synth"},
                "storage": url,
                "target_trials": trials,
                "executor": "local",
            }.items():
                study.set_user_attr(key, value)
            rng = np.random.default_rng([repeat, index])
            clock, best, number = ORIGIN, None, 0
            extras = {("tpe", 0): (5, TrialState.FAIL), ("random", 1): (3, TrialState.PRUNED)}
            for _ in range(trials):
                if extras.get((sampler, repeat), (None,))[0] == number:
                    params = _sample(rng, None)
                    state = extras[(sampler, repeat)][1]
                    study.add_trial(_trial(number, params, None, state, clock, 5.0, repeat))
                    clock += timedelta(seconds=5.0)
                    number += 1
                near = best[1] if (sampler == "tpe" and best and number >= 4) else None
                params = _sample(rng, near)
                value = _auroc(params, rng)
                seconds = 4.0 + 600.0 / params["batch_size"]
                study.add_trial(
                    _trial(number, params, value, TrialState.COMPLETE, clock, seconds, repeat)
                )
                clock += timedelta(seconds=seconds + 0.5)
                if best is None or value > best[0]:
                    best = (value, params)
                number += 1
            studies[name] = study
    return studies


def write_caches(folder: Path, studies: dict[str, optuna.Study], k: int = 3) -> None:
    """runs/RUN/retrain.json, bench.json and reference.json with deterministic numbers."""
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for name, study in studies.items():
        best = study.best_trial
        sampler, repeat = name.split("/")[-2], int(name.split("/")[-1][1:])
        results = [
            {
                "seed": 10_000_000 + i,
                "status": "ok",
                "device": "cpu",
                "val_auroc": best.value,
                "threshold": 0.4,
                "test_auroc": best.value - 0.004 + 0.001 * i,
                "test_f1": 0.70 + 0.002 * i,
                "test_precision": 0.64 + 0.003 * i,
                "test_recall": 0.78 - 0.002 * i,
                "epochs": 20,
                "seconds": 10.0,
            }
            for i in range(k)
        ]
        records.append(
            {
                "study": name,
                "sampler": sampler,
                "repeat": repeat,
                "trial": best.number,
                "value": best.value,
                "params": {**best.params},
                "results": results,
            }
        )
    (folder / "retrain.json").write_text(json.dumps({"records": records}, indent=2))
    lab = {"auroc": 0.9080, "f1": 0.7017, "precision": 0.6361, "recall": 0.7825}
    bench = [
        {
            "recipe": "normalizing_mlp",
            "title": "NormalizingMLP",
            "seed": s,
            "device": "cpu",
            "auroc": 0.905 + 0.001 * s,
            "f1": 0.69,
            "precision": 0.62,
            "recall": 0.79,
            "threshold": 0.6,
            "epochs": 25 + s,
            "seconds": 20.0,
            "seconds_per_epoch": 0.8,
            "status": "ok",
            "val_auroc": 0.90 + 0.002 * s,
            "lab": lab,
        }
        for s in range(2)
    ]
    bench.append(
        {
            "recipe": "linear_regression",
            "title": "Linear regression (synthetic)",
            "seed": 0,
            "device": "cpu",
            "mse": 0.01008,
            "mse_pytorch": 0.0101,
            "epochs": 1000,
            "seconds": 0.2,
            "seconds_per_epoch": 0.0002,
            "status": "ok",
            "auroc": None,
            "f1": None,
            "precision": None,
            "recall": None,
            "threshold": None,
            "lab": {"mse": 0.01008},
        }
    )
    (folder / "bench.json").write_text(json.dumps(bench, indent=2))
    reference = {
        "model": "HistGradientBoostingClassifier",
        "settings": {"max_iter": 1000},
        "data": {"variant": "lab", "train_rows": 20838},
        "records": [
            {
                "model": "HistGradientBoostingClassifier",
                "seed": s,
                "status": "ok",
                "test_auroc": 0.924 + 0.0005 * s,
                "test_f1": 0.72,
                "test_precision": 0.66,
                "test_recall": 0.8,
                "val_auroc": 0.922,
                "threshold": 0.3,
                "seconds": 1.0,
                "iterations": 90,
            }
            for s in range(3)
        ],
    }
    (folder / "reference.json").write_text(json.dumps(reference, indent=2))
