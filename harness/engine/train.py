"""The training loop: batches sliced from device-resident tensors, early stopping, best state.

No ``Dataset.__getitem__`` + collate per row: the splits are moved to the device once and each
minibatch is a slice (after a seeded per-epoch permutation when shuffling), which is what makes
an epoch cheap on both CPU and GPU. How each batch's step is taken is ``engine/steps.py``'s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Generic, Literal, TypeVar

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from harness.choices import DEVICES
from harness.engine.metrics import Scores, epoch_auroc, score
from harness.engine.mlp_step import MLPStep
from harness.engine.settings import TrainSettings
from harness.engine.splits import Splits
from harness.engine.steps import CapturedStep, choose_step, eager_step, make_optimizer
from harness.errors import HarnessError

State = TypeVar("State")  # what early stopping keeps of the best epoch


@dataclass
class TrainResult:
    status: Literal["ok", "diverged", "pruned"]  # pruned: population training only
    epochs: int  # epochs actually trained
    best_epoch: int  # the epoch whose weights were kept (1-based; 0 if none)
    seconds: float  # wall time of the epochs, evaluation included
    device: str
    seed: int
    history: list[dict[str, float]] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)  # per epoch, evaluation included
    valid: Scores | None = None  # at the F1-optimal validation threshold
    test: Scores | None = None  # at the validation threshold (never re-optimised on test)
    # a multiclass or regression task's final scores ("val_log_loss", "test_rmse", ...):
    # ``valid`` and ``test`` are the binary task's (threshold, F1, ...)
    scores: dict[str, float] = field(default_factory=dict)
    model: nn.Module | None = field(default=None, repr=False)

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / self.epochs if self.epochs else float("nan")


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without it is a user error."""
    if device not in DEVICES:
        raise HarnessError(f"device must be one of {list(DEVICES)}, but got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise HarnessError("device 'cuda' was asked for, but torch sees no CUDA device here")
    return torch.device(device)


def balanced_pos_weight(labels: np.ndarray) -> float:
    """``w1 / w0`` of scikit-learn's balanced class weights (what the lab meant to pass)."""
    labels = np.asarray(labels).ravel()
    if labels.size == 0 or labels.min() == labels.max():
        raise HarnessError(
            f"pos_weight needs both classes among the training rows, but {labels.size} "
            "row(s) hold one class only; train on more rows"
        )
    w0, w1 = compute_class_weight("balanced", classes=np.array([0.0, 1.0]), y=labels)
    return float(w1 / w0)


class ResidentSplits:
    """The three splits as tensors on one device, moved there once."""

    def __init__(self, splits: Splits, device: torch.device) -> None:
        def put(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(array)).to(device)

        self.x_train, self.y_train = put(splits.x_train), put(splits.y_train)
        self.x_valid, self.y_valid = put(splits.x_valid), put(splits.y_valid)
        self.x_test, self.y_test = put(splits.x_test), put(splits.y_test)
        self.y_valid_np, self.y_test_np = splits.y_valid, splits.y_test


@dataclass
class EarlyStopping(Generic[State]):
    """Early stopping on validation loss: the best epoch so far, what was kept of it, and the
    epochs since. Without patience every epoch is the best (the last one is kept, and nothing
    needs copying) and training never stops early."""

    patience: int | None
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: State | None = None  # with patience: the best epoch's weights
    stale: int = 0  # epochs since the best one

    def update(self, epoch: int, loss: float, snapshot: Callable[[], State]) -> None:
        """Record an epoch's validation loss; ``snapshot()`` copies its weights if it is the
        best so far (a strictly lower loss)."""
        if self.patience is None or loss < self.best_loss:
            self.best_loss, self.best_epoch, self.stale = loss, epoch, 0
            if self.patience is not None:
                self.best_state = snapshot()
        else:
            self.stale += 1

    @property
    def exhausted(self) -> bool:
        """Patience has run out: ``patience`` epochs in a row without a lower loss."""
        return self.patience is not None and self.stale >= self.patience


def _batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int | None, generator: torch.Generator | None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    n = x.shape[0]
    if generator is not None:
        order = torch.randperm(n, generator=generator).to(x.device)
        # index_select: the same rows as x[order], about 3x faster on CPU (0.6 ms against 1.9
        # ms per epoch of the training split), which small models notice
        x, y = x.index_select(0, order), y.index_select(0, order)
    size = n if batch_size is None else batch_size
    for start in range(0, n, size):
        stop = min(start + size, n)
        if stop - start == 1 and start > 0 and size > 1:
            # a lone ragged last row breaks BatchNorm and adds only noise; batch_size=1 is
            # every batch one row (nothing to skip), and n=1 is a single batch that must stay.
            continue
        yield x[start:stop], y[start:stop]


def make_criterion(pos_weight: bool, y_train: np.ndarray, device: torch.device) -> nn.Module:
    """Mean BCE on logits; with ``pos_weight``, the positive class weighted by
    ``balanced_pos_weight`` of the training labels."""
    weight = None
    if pos_weight:
        weight = torch.tensor([balanced_pos_weight(y_train)], device=device)
    return nn.BCEWithLogitsLoss(pos_weight=weight)


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    step: CapturedStep | MLPStep | None = None,
) -> float:
    """One pass over ``batches``; the mean training loss, read with one device sync per
    epoch rather than one per batch. ``step`` is the run's fast path (``choose_step``): a
    ``CapturedStep`` replays its CUDA graph for batches of its size, and the others (the
    ragged last one) run eagerly on the same weights and optimizer; an ``MLPStep`` takes
    every batch; None: autograd and ``optimizer.step()``."""
    model.train()
    captured = step if isinstance(step, CapturedStep) else None
    eager = step if isinstance(step, MLPStep) else partial(eager_step, model, optimizer, criterion)
    eager_sum, rows = None, 0
    if captured is not None:
        captured.loss_sum.zero_()
    for xb, yb in batches:
        if captured is not None and xb.shape[0] == captured.batch_size:
            captured(xb, yb)
        else:
            weighted = eager(xb, yb) * xb.shape[0]
            eager_sum = weighted if eager_sum is None else eager_sum + weighted
        rows += xb.shape[0]
    if not rows:
        return float("nan")
    total = 0.0 if eager_sum is None else float(eager_sum)
    if captured is not None:
        total += float(captured.loss_sum)
    return total / rows


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return model(x)


def _epoch_record(
    model: nn.Module, criterion: nn.Module, data: ResidentSplits, epoch: int, train_loss: float
) -> dict[str, float]:
    """An epoch's record: training loss, validation loss and AUROC (NaN when a loss is not
    finite, or when validation holds one class only, where AUROC is undefined)."""
    val_logits = _logits(model, data.x_valid)
    val_loss = float(criterion(val_logits, data.y_valid))
    record = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_auroc": math.nan}
    both = data.y_valid_np.min() != data.y_valid_np.max()
    if math.isfinite(train_loss) and math.isfinite(val_loss) and both:
        record["val_auroc"] = epoch_auroc(data.y_valid.long(), torch.sigmoid(val_logits))
    return record


def train(
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
    """Train ``make_model(n_features)`` and score it; deterministic on CPU for a given seed.

    ``score_test=False`` leaves the test split untouched (``result.test`` is None): a search
    trial is chosen on validation only, so its test scores must not exist to be picked by.

    ``seed`` fixes model initialisation, dropout and the batch order. ``on_epoch(epoch, record)``
    sees each epoch's record (train_loss, val_loss, val_auroc); it may raise to stop training
    (a pruner does). A non-finite loss ends training with status ``diverged``, not a crash.
    """
    torch_device = resolve_device(device)
    data = resident or ResidentSplits(splits, torch_device)
    torch.manual_seed(seed)
    model = make_model(splits.n_features).to(torch_device)
    for_graph = settings.cuda_graph and torch_device.type == "cuda"
    optimizer = make_optimizer(
        settings.optimizer,
        model.parameters(),
        settings.lr,
        settings.weight_decay,
        torch_device,
        for_graph,
    )
    criterion = make_criterion(settings.pos_weight, splits.y_train, torch_device)
    generator = torch.Generator().manual_seed(seed) if settings.shuffle else None
    result = TrainResult("ok", 0, 0, 0.0, str(torch_device), seed)
    with denormals_flushed(settings.flush_denormal and torch_device.type == "cpu"):
        stopping = _epochs(model, optimizer, criterion, data, settings, generator, on_epoch, result)
        if result.status == "diverged":
            return result
        if stopping.best_state is not None:
            model.load_state_dict(stopping.best_state)
        result.valid, result.test = evaluate_splits(model, data, criterion, score_test)
    result.model = model
    return result


@contextmanager
def denormals_flushed(on: bool) -> Iterator[None]:
    """With ``on``, denormal floats are flushed to zero on this thread's CPU arithmetic for
    the block (the CPU's FTZ/DAZ flags are per thread: a Ray actor's call may run on another
    thread than its start-up), then back to torch's default; without it, nothing changes."""
    if not on:
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def _epochs(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    data: ResidentSplits,
    settings: TrainSettings,
    generator: torch.Generator | None,
    on_epoch: Callable[[int, dict[str, float]], None] | None,
    result: TrainResult,
) -> EarlyStopping[dict[str, torch.Tensor]]:
    """Train epoch after epoch until the budget, patience or a non-finite loss ends it,
    recording into ``result`` (history, epochs, best epoch, status, seconds); returns the
    early-stopping record (the best epoch's weights, with patience)."""
    stopping: EarlyStopping[dict[str, torch.Tensor]] = EarlyStopping(settings.patience)
    started = epoch_started = time.perf_counter()  # a CUDA graph's capture counts as training
    step = choose_step(model, optimizer, criterion, settings, data.x_train, data.y_train)
    for epoch in range(1, settings.max_epochs + 1):
        batches = _batches(data.x_train, data.y_train, settings.batch_size, generator)
        train_loss = train_epoch(model, optimizer, criterion, batches, step)
        record = _epoch_record(model, criterion, data, epoch, train_loss)
        result.history.append(record)
        if not (math.isfinite(train_loss) and math.isfinite(record["val_loss"])):
            result.status = "diverged"
            break
        now = time.perf_counter()
        result.epoch_seconds.append(now - epoch_started)
        epoch_started = now
        stopping.update(epoch, record["val_loss"], lambda: _copy_state(model))
        if on_epoch is not None:
            on_epoch(epoch, record)
        if stopping.exhausted:
            break
    result.seconds = time.perf_counter() - started
    result.epochs, result.best_epoch = len(result.history), stopping.best_epoch
    # the returned model keeps no gradients, and the step (a CUDA graph's pool) goes with
    # this function's frame
    optimizer.zero_grad(set_to_none=True)
    return stopping


def _copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def evaluate_splits(
    model: nn.Module, data: ResidentSplits, criterion: nn.Module, score_test: bool = True
) -> tuple[Scores, Scores | None]:
    """Validation scores at its F1-optimal threshold, and test scores at that same threshold
    (None without ``score_test``: the test split is then not even passed through the model)."""
    val_logits = _logits(model, data.x_valid)
    valid = score(
        data.y_valid_np,
        torch.sigmoid(val_logits).cpu().numpy(),
        float(criterion(val_logits, data.y_valid)),
    )
    if not score_test:
        return valid, None
    test_logits = _logits(model, data.x_test)
    test = score(
        data.y_test_np,
        torch.sigmoid(test_logits).cpu().numpy(),
        float(criterion(test_logits, data.y_test)),
        threshold=valid.threshold,
    )
    return valid, test
