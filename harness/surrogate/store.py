"""A surrogate on disk: ``runs/surrogates/NAME/surrogate.json`` (what it is, how well it
predicts, where its trials came from) and ``models.joblib`` (the two fitted regressors).

Both written whole or not at all (harness.files). The regressors are pickled by joblib, as
scikit-learn documents; a pickle is only safe to load with the scikit-learn that made it, so
loading with another version is refused in one line (fit it again: it takes seconds).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.environment import library_versions, package_version
from harness.errors import HarnessError
from harness.files import replacing, write_atomically
from harness.paths import DEFAULT_RUNS_ROOT
from harness.surrogate.encoding import Encoding
from harness.surrogate.model import Noise, Scored, Surrogate

FOLDER = "surrogates"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PACKAGES = ("optuna", "numpy", "scikit-learn", "scipy")


def check_surrogate_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise HarnessError(
            f"surrogate name {name!r}: use 1-64 letters, digits, '_', '.' or '-', starting with "
            "a letter or digit"
        )
    return name


def surrogate_dir(name: str, runs_root: str | Path = DEFAULT_RUNS_ROOT) -> Path:
    return Path(runs_root) / FOLDER / check_surrogate_name(name)


def save(surrogate: Surrogate, folder: Path, sources: dict[str, Any], seed: int) -> None:
    """Write the models, then the metadata that names them (a reader finds both or neither)."""
    import joblib

    with replacing(folder / "models.joblib") as temporary:
        joblib.dump({"objective": surrogate.model, "seconds": surrogate.seconds_model}, temporary)
    meta = {
        "format": 1,
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "objective": surrogate.objective,
        "direction": surrogate.direction,
        "trials": surrogate.trials,
        "sources": sources,
        "encoding": surrogate.encoding.to_json(),
        "columns": surrogate.encoding.columns,
        "scores": [asdict(s) for s in surrogate.scores],
        "chosen": surrogate.chosen.model,
        "seconds_score": asdict(surrogate.seconds_score),
        "noise": asdict(surrogate.noise),
        "seed": seed,
        "versions": library_versions(_PACKAGES),
    }
    write_atomically(folder / "surrogate.json", json.dumps(meta, indent=2) + "\n")


def read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "surrogate.json"
    if not path.is_file():
        found = sorted(p.parent.name for p in folder.parent.glob("*/surrogate.json"))
        hint = f"surrogates there: {found}" if found else "fit one with 'harness surrogate fit'"
        raise HarnessError(f"no surrogate {folder.name!r} in {folder.parent}; {hint}")
    try:
        meta = json.loads(path.read_text())
        meta["encoding"], meta["scores"], meta["noise"]  # the keys must be there
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise HarnessError(
            f"{path}: not a surrogate 'harness surrogate fit' wrote ({err})"
        ) from None
    return meta


def load(folder: Path) -> tuple[Surrogate, dict[str, Any]]:
    """The surrogate saved in ``folder`` and its metadata."""
    import joblib

    meta = read_meta(folder)
    made, here = meta["versions"].get("scikit-learn"), package_version("scikit-learn")
    if made != here:
        raise HarnessError(
            f"surrogate {folder.name!r} was fitted with scikit-learn {made}, this is {here}: "
            "its models cannot be loaded safely; fit it again"
        )
    models = joblib.load(folder / "models.joblib")
    surrogate = Surrogate(
        encoding=Encoding.from_json(meta["encoding"]),
        objective=meta["objective"],
        direction=meta["direction"],
        model=models["objective"],
        scores=[Scored(**s) for s in meta["scores"]],
        seconds_model=models["seconds"],
        seconds_score=Scored(**meta["seconds_score"]),
        noise=Noise(**meta["noise"]),
        trials=meta["trials"],
    )
    return surrogate, meta


# Below this held-out Spearman rho a surrogate ranks configurations too unlike the real task
# for its verdict to stand for the task's: 'harness compare' refuses it unless forced (issue
# 22; YAHPO Gym and HPOBench report their surrogates' rank correlations for the same reason).
MIN_RHO = 0.8


def trust_summary(meta: dict[str, Any]) -> dict[str, Any]:
    """What a study on the surrogate records of it: its model, held-out rho and RMSE, how many
    trials of which run it learned from, its noise, and its runtime model's rho."""
    chosen = next(s for s in meta["scores"] if s["model"] == meta["chosen"])
    sources = meta.get("sources", {})
    return {
        "model": meta["chosen"],
        "rho": chosen["rho"],
        "rmse": chosen["rmse"],
        "trials": meta["trials"],
        "run": sources.get("run"),
        "storage": sources.get("storage"),
        "noise_sd": meta["noise"]["sd"],
        "seconds_rho": meta["seconds_score"]["rho"],
        "objective": meta["objective"],
        "created": meta["created"],
    }
