"""The training loop: batches sliced from device-resident tensors, early stopping, best state.

No ``Dataset.__getitem__`` + collate per row: the splits are moved to the device once and each
minibatch is a slice (after a seeded per-epoch permutation when shuffling), which is what makes
an epoch cheap on both CPU and GPU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from harness.choices import DEVICES, Optimizer
from harness.engine.metrics import Scores, epoch_auroc, score
from harness.engine.mlp_step import MLPStep
from harness.errors import HarnessError

if TYPE_CHECKING:  # the lab's data type, named for annotations only
    from harness.lab.data import Splits

OPTIMIZER_CLASSES: dict[Optimizer, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}


@dataclass(frozen=True)
class TrainSettings:
    """How one model is trained. ``batch_size=None`` is full-batch gradient descent;
    ``patience=None`` trains all ``max_epochs`` and keeps the final weights."""

    optimizer: Optimizer = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int | None = None
    shuffle: bool = False
    max_epochs: int = 300
    patience: int | None = None
    pos_weight: bool = False  # BCE pos_weight = w1 / w0 from compute_class_weight("balanced")
    cuda_graph: bool = True  # on CUDA, replay the training step as a CUDA graph (CPU: ignored)
    # On CPU, plain MLPs (no BatchNorm) train with the backward written out (mlp_step.py);
    # False: autograd and optimizer.step(). Same arithmetic, same dropout masks.
    hand_backward: bool = True


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


def _batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int | None, generator: torch.Generator | None
):
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


def make_optimizer(
    name: str,
    params: Iterable[torch.Tensor],
    lr: float,
    weight_decay: float,
    device: torch.device,
    for_graph: bool = False,
) -> torch.optim.Optimizer:
    """The optimizer with its fastest update for the device: one fused kernel on CPU (about
    1.2x an epoch of small MLPs: torch.optim's per-parameter loop is pure overhead there), and
    a capturable one (its step counter on the GPU) when the step is replayed as a CUDA graph."""
    options: dict[str, bool] = {}
    if device.type == "cpu":
        options["fused"] = True
    elif for_graph and name in ("adam", "adamw"):
        options["capturable"] = True
    return OPTIMIZER_CLASSES[name](params, lr=lr, weight_decay=weight_decay, **options)


def _eager_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    xb: torch.Tensor,
    yb: torch.Tensor,
) -> torch.Tensor:
    optimizer.zero_grad(set_to_none=True)
    loss = criterion(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.detach()


class CapturedStep:
    """The whole training step (forward, loss, backward, optimizer update) captured once as a
    CUDA graph for one batch size, then replayed per batch: a few launches per batch instead
    of dozens of small kernels, each waiting on Python (the card otherwise idles).

    Capture needs warm-up steps; they run on a copy of the batch and are then undone (weights,
    buffers and optimizer state restored), so training starts from the same point as eager.
    """

    WARMUP_STEPS = 3

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        criterion: nn.Module,
        xb: torch.Tensor,
        yb: torch.Tensor,
    ) -> None:
        self.batch_size = xb.shape[0]
        self.x, self.y = xb.clone(), yb.clone()  # the graph's fixed input addresses
        self.loss_sum = torch.zeros((), device=xb.device)
        start = {k: v.clone() for k, v in model.state_dict().items()}
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.WARMUP_STEPS):
                _eager_step(model, optimizer, criterion, self.x, self.y)
        torch.cuda.current_stream().wait_stream(side)
        restore_start(model, optimizer, start)
        # Gradients set to None, so the captured backward allocates them in the graph's pool.
        optimizer.zero_grad(set_to_none=True)
        self.graph = torch.cuda.CUDAGraph()
        # thread_local: a Ray worker answers polls on another thread while this one captures
        with torch.cuda.graph(self.graph, capture_error_mode="thread_local"):
            loss = criterion(model(self.x), self.y)
            loss.backward()
            optimizer.step()
            self.loss_sum.add_(loss.detach() * self.batch_size)
        self.grads = [p.grad for p in model.parameters()]  # keep the graph's buffers alive

    def __call__(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        self.x.copy_(xb)
        self.y.copy_(yb)
        self.graph.replay()


@torch.no_grad()
def restore_start(
    model: nn.Module, optimizer: torch.optim.Optimizer, start: dict[str, torch.Tensor]
) -> None:
    """Undo steps taken since ``start`` (a cloned state dict): weights and buffers copied back
    in place (a captured graph keeps their addresses), optimizer state zeroed, which for Adam
    (step 0, no moments) and momentum-free SGD (no state) is a fresh optimizer."""
    for key, value in model.state_dict().items():
        value.copy_(start[key])
    for state in optimizer.state.values():
        for value in state.values():
            if torch.is_tensor(value):
                value.zero_()


def captured_step_allowed(optimizer: torch.optim.Optimizer) -> bool:
    """Adam/AdamW built capturable, or SGD without momentum (whose update has no state)."""
    if isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW):
        return bool(optimizer.defaults.get("capturable"))
    return isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["momentum"] == 0


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    captured: CapturedStep | None = None,
    mlp_step: MLPStep | None = None,
) -> float:
    """One pass over ``batches``; the mean training loss, read with one device sync per
    epoch rather than one per batch. With ``captured``, batches of its size replay its CUDA
    graph; others (the ragged last one) run eagerly on the same weights and optimizer.
    With ``mlp_step``, every batch goes through it instead of autograd."""
    model.train()
    eager_sum, rows = None, 0
    if captured is not None:
        captured.loss_sum.zero_()
    for xb, yb in batches:
        if captured is not None and xb.shape[0] == captured.batch_size:
            captured(xb, yb)
        else:
            if mlp_step is not None:
                loss = mlp_step(xb, yb)
            else:
                loss = _eager_step(model, optimizer, criterion, xb, yb)
            weighted = loss * xb.shape[0]
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
    graph_wanted = settings.cuda_graph and torch_device.type == "cuda"
    optimizer = make_optimizer(
        settings.optimizer,
        model.parameters(),
        settings.lr,
        settings.weight_decay,
        torch_device,
        for_graph=graph_wanted,
    )
    pos_weight = None
    if settings.pos_weight:
        pos_weight = torch.tensor([balanced_pos_weight(splits.y_train)], device=torch_device)
    criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    generator = torch.Generator().manual_seed(seed) if settings.shuffle else None

    history: list[dict[str, float]] = []
    best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0
    status: Literal["ok", "diverged"] = "ok"
    started = time.perf_counter()
    captured = None
    full_batch = settings.batch_size or data.x_train.shape[0]
    if graph_wanted and captured_step_allowed(optimizer) and data.x_train.shape[0] >= full_batch:
        captured = CapturedStep(
            model, optimizer, criterion, data.x_train[:full_batch], data.y_train[:full_batch]
        )
    mlp_step = None
    if settings.hand_backward and captured is None and MLPStep.supports(model, criterion):
        mlp_step = MLPStep(model, optimizer, criterion)
    epoch_started, epoch_seconds = started, []
    y_valid_int = data.y_valid.long()
    both = data.y_valid_np.min() != data.y_valid_np.max()  # AUROC needs both classes
    for epoch in range(1, settings.max_epochs + 1):
        batches = _batches(data.x_train, data.y_train, settings.batch_size, generator)
        train_loss = train_epoch(model, optimizer, criterion, batches, captured, mlp_step)
        val_logits = _logits(model, data.x_valid)
        val_loss = float(criterion(val_logits, data.y_valid))
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            status = "diverged"
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "val_auroc": float("nan"),
                }
            )
            break
        val_auroc = epoch_auroc(y_valid_int, torch.sigmoid(val_logits)) if both else math.nan
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_auroc": val_auroc,
        }
        now = time.perf_counter()
        epoch_seconds.append(now - epoch_started)
        epoch_started = now
        history.append(record)

        if settings.patience is None or val_loss < best_loss:
            best_loss, best_epoch, stale = val_loss, epoch, 0
            if settings.patience is not None:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        if on_epoch is not None:
            on_epoch(epoch, record)
        if settings.patience is not None and stale >= settings.patience:
            break
    seconds = time.perf_counter() - started
    optimizer.zero_grad(set_to_none=True)  # the returned model keeps no gradients (nor graph pool)
    del captured, mlp_step

    result = TrainResult(
        status, len(history), best_epoch, seconds, str(torch_device), seed, history, epoch_seconds
    )
    if status == "diverged":
        return result
    if best_state is not None:
        model.load_state_dict(best_state)
    result.valid, result.test = evaluate_splits(model, data, criterion, score_test)
    result.model = model
    return result


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
