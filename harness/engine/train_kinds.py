"""Training for multiclass and regression tasks: ``train.py``'s loop with another head.

The same device-resident batches, seeded shuffling, early stopping on validation loss and
best-epoch weights as ``train.train``; the loss is cross-entropy over C logits (multiclass) or
the mean squared error of one output on the standardised target (regression). Steps take the
autograd path (``eager_step``): the hand-written MLP backward and the CUDA-graph step are the
binary task's fast paths. The scores are scikit-learn's: log-loss of the softmax
probabilities, and RMSE in the target's own units (the standardised error times the training
target's standard deviation, ``Splits.target_scale``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from sklearn.metrics import log_loss, root_mean_squared_error
from torch import nn

from harness.engine.settings import TrainSettings
from harness.engine.splits import Splits
from harness.engine.steps import make_optimizer
from harness.engine.train import (
    EarlyStopping,
    ResidentSplits,
    TrainResult,
    _batches,
    _copy_state,
    _logits,
    resolve_device,
    train_epoch,
)

# the score each kind reports per split, with its split's prefix ("val_", "test_")
KIND_METRIC = {"multiclass": "log_loss", "regression": "rmse"}


def kind_criterion(kind: str) -> nn.Module:
    """The training loss of a task kind other than binary (which is ``train.make_criterion``'s)."""
    if kind == "multiclass":
        return nn.CrossEntropyLoss()
    if kind == "regression":
        return nn.MSELoss()
    raise ValueError(f"kind must be 'multiclass' or 'regression', but got {kind!r}")


def kind_score(splits: Splits, outputs: torch.Tensor, labels: np.ndarray) -> float:
    """The kind's metric of a split's outputs: log-loss (multiclass), RMSE (regression)."""
    if splits.kind == "multiclass":
        probabilities = torch.softmax(outputs.double(), dim=1).cpu().numpy()
        return float(log_loss(labels.ravel(), probabilities, labels=list(range(splits.classes))))
    predicted = outputs.double().cpu().numpy().ravel() * splits.target_scale
    truth = labels.astype(np.float64).ravel() * splits.target_scale
    return float(root_mean_squared_error(truth, predicted))


def train_kind(
    make_model: Callable[[int], nn.Module],
    splits: Splits,
    settings: TrainSettings,
    *,
    seed: int = 0,
    device: str = "auto",
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    resident: ResidentSplits | None = None,
    score_test: bool = True,
) -> TrainResult:
    """Train ``make_model(n_features)`` on a multiclass or regression task; ``train.train``'s
    contract (seed, ``on_epoch``, divergence, ``score_test``), its scores in
    ``result.scores`` (``val_loss``, ``val_<metric>`` and, with ``score_test``, ``test_*``)."""
    torch_device = resolve_device(device)
    data = resident or ResidentSplits(splits, torch_device)
    torch.manual_seed(seed)
    model = make_model(splits.n_features).to(torch_device)
    optimizer = make_optimizer(
        settings.optimizer, model.parameters(), settings.lr, settings.weight_decay, torch_device
    )
    criterion = kind_criterion(splits.kind)
    generator = torch.Generator().manual_seed(seed) if settings.shuffle else None
    result = TrainResult("ok", 0, 0, 0.0, str(torch_device), seed)
    best = _epochs(model, optimizer, criterion, splits, data, settings, generator, on_epoch, result)
    if result.status == "diverged":
        return result
    if best.best_state is not None:
        model.load_state_dict(best.best_state)
    metric = KIND_METRIC[splits.kind]
    parts = [("val", data.x_valid, data.y_valid, data.y_valid_np)]
    if score_test:
        parts.append(("test", data.x_test, data.y_test, data.y_test_np))
    for split, x, y, y_np in parts:
        outputs = _logits(model, x)
        result.scores[f"{split}_loss"] = float(criterion(outputs, y))
        result.scores[f"{split}_{metric}"] = kind_score(splits, outputs, y_np)
    result.model = model
    return result


def _epochs(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    splits: Splits,
    data: ResidentSplits,
    settings: TrainSettings,
    generator: torch.Generator | None,
    on_epoch: Callable[[int, dict[str, float]], None] | None,
    result: TrainResult,
) -> EarlyStopping[dict[str, torch.Tensor]]:
    """Epoch after epoch until the budget, patience or a non-finite loss ends it (as
    ``train._epochs``); each epoch's record holds ``val_<metric>`` beside the losses."""
    metric = f"val_{KIND_METRIC[splits.kind]}"
    stopping: EarlyStopping[dict[str, torch.Tensor]] = EarlyStopping(settings.patience)
    started = epoch_started = time.perf_counter()
    for epoch in range(1, settings.max_epochs + 1):
        batches = _batches(data.x_train, data.y_train, settings.batch_size, generator)
        train_loss = train_epoch(model, optimizer, criterion, batches, None)
        outputs = _logits(model, data.x_valid)
        val_loss = float(criterion(outputs, data.y_valid))
        record = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, metric: math.nan}
        result.history.append(record)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            result.status = "diverged"
            break
        record[metric] = kind_score(splits, outputs, data.y_valid_np)
        now = time.perf_counter()
        result.epoch_seconds.append(now - epoch_started)
        epoch_started = now
        stopping.update(epoch, val_loss, lambda: _copy_state(model))
        if on_epoch is not None:
            on_epoch(epoch, record)
        if stopping.exhausted:
            break
    result.seconds = time.perf_counter() - started
    result.epochs, result.best_epoch = len(result.history), stopping.best_epoch
    optimizer.zero_grad(set_to_none=True)
    return stopping
