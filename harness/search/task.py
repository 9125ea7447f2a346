"""The search task's MLP as one training run: the unit that ``harness trial`` and studies run.

A 3-layer MLP (N, then N // 2 hidden units, ReLU, dropout) trained with Adam and weight decay
on minibatches shuffled each epoch by a seeded generator, early-stopped on validation loss.
Its head is the task's kind (``splits.kind``): one logit and BCE for a binary task (the lab's,
trained by ``engine/train.py`` with its fast paths), C logits and cross-entropy for
multiclass, one output and MSE for regression (``engine/train_kinds.py``, autograd).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from functools import partial
from typing import TYPE_CHECKING, Any

from harness.engine.nets import MLP, search_mlp
from harness.engine.settings import PopulationSettings, TrainSettings, loop_fields
from harness.engine.train import ResidentSplits, TrainResult, train
from harness.engine.train_kinds import train_kind
from harness.errors import HarnessError
from harness.lab.data import Splits
from harness.numbers import is_number
from harness.search.config import FixedSettings

if TYPE_CHECKING:
    from harness.engine.population import PopulationHook

PARAM_KEYS = ("hidden_size", "lr", "batch_size", "weight_decay", "dropout")
# The net's second layer has N x N/2 weights: at 16,384 that is 2**27 (512 MiB in float32,
# 2 GiB with its gradient and Adam's two moments), what four workers can share on a 16 GiB
# GPU beside the resident data; the lab searches up to 1,024. 2e9 was accepted before and
# failed only as an out-of-memory deep inside a worker.
HIDDEN_SIZE_MAX = 16_384


def _number(params: dict[str, Any], key: str) -> float:
    value = params[key]
    # json.loads accepts NaN and Infinity; neither is a usable hyperparameter.
    if not is_number(value):
        raise HarnessError(f"params: {key} must be a finite number, but got {value!r}")
    return value


def validate_params(params: Any) -> dict[str, Any]:
    """Check the five keys and their ranges; return them with proper types."""
    if not isinstance(params, dict):
        raise HarnessError(f"params must be a JSON object, but got {type(params).__name__}")
    missing = [k for k in PARAM_KEYS if k not in params]
    if missing:
        raise HarnessError(f"params: missing key {missing[0]!r}; required keys: {list(PARAM_KEYS)}")
    unknown = sorted(set(params) - set(PARAM_KEYS))
    if unknown:
        raise HarnessError(f"params: unknown key {unknown[0]!r}; known keys: {list(PARAM_KEYS)}")
    hidden, batch = _number(params, "hidden_size"), _number(params, "batch_size")
    lr, decay = _number(params, "lr"), _number(params, "weight_decay")
    dropout = _number(params, "dropout")
    rules = [
        (hidden >= 2 and float(hidden).is_integer(), "hidden_size must be an integer >= 2", hidden),
        (
            hidden <= HIDDEN_SIZE_MAX,
            f"hidden_size <= {HIDDEN_SIZE_MAX} must hold (the second layer is N x N/2 weights)",
            hidden,
        ),
        (batch >= 1 and float(batch).is_integer(), "batch_size must be an integer >= 1", batch),
        (lr > 0, "lr > 0 must hold", lr),
        (decay >= 0, "weight_decay >= 0 must hold", decay),
        (0 <= dropout < 1, "0 <= dropout < 1 must hold", dropout),
    ]
    for ok, rule, value in rules:
        if not ok:
            raise HarnessError(f"params: {rule}, but got {value!r}")
    return {
        "hidden_size": int(hidden),
        "lr": float(lr),
        "batch_size": int(batch),
        "weight_decay": float(decay),
        "dropout": float(dropout),
    }


def run_trial(
    params: dict[str, Any],
    splits: Splits,
    *,
    seed: int = 0,
    device: str = "auto",
    fixed: FixedSettings = FixedSettings(),
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    resident: ResidentSplits | None = None,
    score_test: bool = True,
    test_probabilities: bool = False,
) -> dict[str, Any]:
    """Train one configuration; return a flat, JSON-ready record of what happened. Without
    ``score_test`` the record holds validation scores only (a search trial's record). With
    ``test_probabilities`` it also holds the model's positive-class probability of each test
    row and the rows' labels (numpy arrays, not JSON: a retraining stores them apart, for
    the test split's sampling error)."""
    params = validate_params(params)
    settings = TrainSettings(
        **loop_fields(fixed),
        lr=params["lr"],
        weight_decay=params["weight_decay"],
        batch_size=params["batch_size"],
        shuffle=True,
    )
    binary = splits.kind == "binary"
    make_model = partial(
        _make,
        hidden_size=params["hidden_size"],
        dropout=params["dropout"],
        outputs=splits.classes if splits.kind == "multiclass" else 1,
    )
    result = (train if binary else train_kind)(
        make_model,
        splits,
        settings,
        seed=seed,
        device=device,
        on_epoch=on_epoch,
        resident=resident,
        score_test=score_test,
    )
    record = trial_record(params, fixed, result)
    # the test split's sampling error (DeLong) is the binary task's: only it keeps them
    if test_probabilities and score_test and binary and result.model is not None:
        record["test_probabilities"] = _probabilities(result.model, splits, resident)
        record["test_labels"] = splits.y_test.ravel().astype("int8")
    return record


def _probabilities(model: Any, splits: Splits, resident: ResidentSplits | None) -> Any:
    import numpy as np
    import torch

    device = next(model.parameters()).device
    x = resident.x_test if resident is not None else torch.from_numpy(splits.x_test).to(device)
    model.eval()
    with torch.no_grad():
        return torch.sigmoid(model(x)).ravel().cpu().numpy().astype(np.float32)


def run_population_trials(
    trials: Sequence[tuple[dict[str, Any], int]],
    splits: Splits,
    *,
    device: str = "auto",
    fixed: FixedSettings = FixedSettings(),
    on_epoch: PopulationHook | None = None,
    resident: ResidentSplits | None = None,
    score_test: bool = True,
    test_probabilities: bool = False,
) -> list[dict[str, Any]]:
    """Train several ``(params, seed)`` trials of one batch size together in one stacked
    step (``harness.engine.population``); one record per trial, as ``run_trial`` returns
    it. On CPU each record equals the trial's ``run_trial`` record up to float rounding; on CUDA the
    dropout masks come from the population's hashed stream (another stream, same law). The
    task is binary (the stacked net has one logit)."""
    from harness.engine.population import Member
    from harness.engine.population_training import train_population

    checked = [(validate_params(params), seed) for params, seed in trials]
    sizes = sorted({params["batch_size"] for params, _ in checked})
    if len(sizes) > 1:
        raise HarnessError(f"a population shares one batch size, but got batch sizes {sizes}")
    if not checked:
        return []
    members = [
        Member(p["hidden_size"], p["lr"], p["weight_decay"], p["dropout"], seed)
        for p, seed in checked
    ]
    settings = PopulationSettings(**loop_fields(fixed), batch_size=sizes[0])
    results = train_population(
        members,
        splits,
        settings,
        device=device,
        resident=resident,
        on_epoch=on_epoch,
        score_test=score_test,
    )
    records = []
    for (params, _), result in zip(checked, results, strict=True):
        record = trial_record(params, fixed, result)
        if test_probabilities and score_test and result.model is not None:
            record["test_probabilities"] = _probabilities(result.model, splits, resident)
            record["test_labels"] = splits.y_test.ravel().astype("int8")
        records.append(record)
    return records


def trial_record(
    params: dict[str, Any], fixed: FixedSettings, result: TrainResult
) -> dict[str, Any]:
    """A trial's flat, JSON-ready record: what was trained, how it went, its scores."""
    record: dict[str, Any] = {
        "status": result.status,
        "params": params,
        "fixed": asdict(fixed),
        "seed": result.seed,
        "device": result.device,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "seconds": result.seconds,
        "seconds_per_epoch": result.seconds_per_epoch,
    }
    if result.scores or (result.history and "val_auroc" not in result.history[0]):
        metric = next(k for k in result.history[0] if k.startswith("val_") and k != "val_loss")
        record["curve"] = [h[metric] for h in result.history]
        return {**record, "val_loss": float("nan"), metric: float("nan"), **result.scores}
    record["curve"] = [h["val_auroc"] for h in result.history]
    nan = float("nan")
    valid, test = result.valid, result.test
    record.update(
        val_auroc=valid.auroc if valid else nan,
        val_loss=valid.loss if valid else nan,
        val_f1=valid.f1 if valid else nan,
        threshold=valid.threshold if valid else nan,
    )
    if test is not None:  # absent, not NaN, when the test split was not scored
        record.update(
            test_auroc=test.auroc,
            test_f1=test.f1,
            test_precision=test.precision,
            test_recall=test.recall,
            test_loss=test.loss,
        )
    return record


def _make(n_features: int, *, hidden_size: int, dropout: float, outputs: int = 1) -> MLP:
    # Top level so that the factory pickles (it crosses to Ray workers).
    return search_mlp(n_features, hidden_size, dropout, outputs)
