"""One training step (forward, loss, backward, update), and the choice of how to take it.

Three ways, one arithmetic: autograd and ``optimizer.step()`` (``eager_step``), the whole step
captured once as a CUDA graph and replayed (``CapturedStep``, on CUDA), and the backward
written out by hand for plain MLPs (``mlp_step.MLPStep``, on CPU). ``choose_step`` picks the
fast path a run trains with; ``train.train_epoch`` runs it over an epoch's batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from harness.choices import Optimizer
from harness.engine.mlp_step import MLPStep
from harness.engine.nets import MLP
from harness.engine.settings import TrainSettings

# each a constructor taking (params, lr=, weight_decay=, ...)
OPTIMIZER_CLASSES: dict[Optimizer, Callable[..., torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}


def make_optimizer(
    name: Optimizer,
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


def eager_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    xb: torch.Tensor,
    yb: torch.Tensor,
) -> torch.Tensor:
    """One step with autograd and ``optimizer.step()``; the batch's mean loss."""
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
                eager_step(model, optimizer, criterion, self.x, self.y)
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


def choose_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    settings: TrainSettings,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
) -> CapturedStep | MLPStep | None:
    """The fast path a run trains with, or None for autograd and ``optimizer.step()``.

    On CUDA (``settings.cuda_graph``, an optimizer that allows capture, and a full batch's
    worth of rows): the step captured for the full batches, whose ragged last batch then runs
    eagerly on the same weights. On CPU (``settings.hand_backward``, a plain MLP): the
    hand-written step, for every batch."""
    if x_train.device.type == "cuda":
        full_batch = settings.batch_size or x_train.shape[0]
        if not (
            settings.cuda_graph
            and captured_step_allowed(optimizer)
            and x_train.shape[0] >= full_batch
        ):
            return None
        return CapturedStep(model, optimizer, criterion, x_train[:full_batch], y_train[:full_batch])
    if settings.hand_backward and MLPStep.supports(model, criterion):
        # what supports() checked, said again for the type checker
        assert isinstance(model, MLP) and isinstance(criterion, nn.BCEWithLogitsLoss)
        return MLPStep(model, optimizer, criterion)
    return None
