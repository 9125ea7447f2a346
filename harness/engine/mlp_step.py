"""A CPU training step for plain MLPs with the backward pass written out (no autograd).

Small MLPs on a CPU spend most of a step in PyTorch's per-operation overhead, not in
arithmetic: for the search MLP at hidden 32 and batch 32 (torch 2.13, one thread) forward +
loss + autograd backward cost about 300 µs, of which the matrix products are a few µs. The
autograd engine's graph building and node dispatch is most of it, and ``torch.compile`` is
slower still on CPU for such graphs (measured: 580 µs against 400 µs eager per step). Writing
the backward of Linear → ReLU → Dropout out by hand, into preallocated gradient buffers, does
the same arithmetic in about a third of the operations. The optimizer is still torch's.

Dropout masks are drawn exactly as ``nets.Dropout`` draws them (``rand_like >= p``, in
layer order), so a seed gives the same masks, and the weights follow the autograd path's up
to float rounding (checked in ``tests/test_mlp_step.py``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional
from torch.optim.adam import adam

from harness.engine.nets import MLP, Dropout


class MLPStep:
    """Forward, loss, hand-derived gradients and the optimizer update for one batch.

    Built only for models :func:`supports` accepts. Gradients are written in full into
    buffers allocated once (nothing accumulates, no ``zero_grad`` between steps). Adam and
    AdamW update through ``torch.optim.adam.adam``, the function ``Adam.step`` calls, on the
    optimizer's own state: ``step()``'s per-call bookkeeping is most of an update of a small
    model (59 µs against 28 µs for the search MLP at hidden 32).
    """

    def __init__(
        self, model: MLP, optimizer: torch.optim.Optimizer, criterion: nn.BCEWithLogitsLoss
    ) -> None:
        layers = _hidden_layers(model)
        assert layers is not None, "MLPStep.supports(model, criterion) must hold"
        output = model[-1]
        assert isinstance(output, nn.Linear), "MLPStep.supports(model, criterion) must hold"
        self.dropouts = [p for _, p in layers]
        self.linears = [linear for linear, _ in layers] + [output]
        self.weights_t = [linear.weight.t() for linear in self.linears]  # views: stay current
        self.optimizer = optimizer
        self.pos_weight = criterion.pos_weight
        self.pos_weight_value = None if self.pos_weight is None else float(self.pos_weight)
        for param in model.parameters():
            param.grad = torch.zeros_like(param)
        self.functional_adam = _functional_adam_applies(optimizer)
        self._adam_args: dict | None = None  # filled after the first step() creates the state

    @staticmethod
    def supports(model: nn.Module, criterion: nn.Module) -> bool:
        """A :class:`MLP` without BatchNorm, trainable, on CPU in float32, trained with a mean
        BCE-with-logits loss (optionally one ``pos_weight``, no per-element ``weight``)."""
        return (
            isinstance(model, MLP)
            and _hidden_layers(model) is not None
            and isinstance(criterion, nn.BCEWithLogitsLoss)
            and criterion.reduction == "mean"
            and criterion.weight is None
            and (criterion.pos_weight is None or criterion.pos_weight.numel() == 1)
            and all(_trainable_cpu_float32(p) for p in model.parameters())
        )

    @torch.no_grad()
    def __call__(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """One step on ``(xb, yb)``; returns the batch's mean loss (a 0-d tensor)."""
        # Forward, keeping each hidden layer's output (after ReLU and dropout) and mask.
        inputs, masks = [xb], []
        hidden_layers = zip(self.linears[:-1], self.weights_t[:-1], self.dropouts, strict=True)
        for linear, weight_t, p in hidden_layers:
            hidden = torch.relu_(torch.addmm(linear.bias, inputs[-1], weight_t))
            mask = None
            if p > 0:  # as nets.Dropout: keep where rand >= p, scale by 1 / (1 - p)
                mask = torch.rand_like(hidden).ge_(p).mul_(1.0 / (1.0 - p))
                hidden.mul_(mask)
            inputs.append(hidden)
            masks.append(mask)
        logits = torch.addmm(self.linears[-1].bias, inputs[-1], self.weights_t[-1])
        loss = functional.binary_cross_entropy_with_logits(logits, yb, pos_weight=self.pos_weight)

        # d(mean loss)/d(logit) = (sigmoid(z) * ((pw - 1) * y + 1) - pw * y) / n
        n, pw = yb.numel(), self.pos_weight_value
        if pw is None:
            grad = torch.sigmoid(logits).sub_(yb).div_(n)
        else:
            scale = torch.mul(yb, (pw - 1) / n).add_(1 / n)
            grad = torch.sigmoid(logits).mul_(scale).sub_(yb, alpha=pw / n)

        # Backward: each Linear's weight and bias gradients, then the gradient of its input
        # through dropout (the same mask) and ReLU (zero where the output was zero).
        for index in range(len(self.linears) - 1, -1, -1):
            linear = self.linears[index]
            torch.mm(grad.t(), inputs[index], out=linear.weight.grad)
            torch.sum(grad, 0, out=linear.bias.grad)
            if index == 0:
                break
            grad = torch.mm(grad, linear.weight)
            mask = masks[index - 1]
            if mask is not None:
                grad.mul_(mask)
            grad = torch.ops.aten.threshold_backward(grad, inputs[index], 0)
        self._update()
        return loss

    def _update(self) -> None:
        optimizer = self.optimizer
        if self._adam_args is None:
            optimizer.step()
            if self.functional_adam:  # the first step() created the state later ones reuse
                self._adam_args = _adam_lists(optimizer)
            return
        group = optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        adam(
            **self._adam_args,
            amsgrad=group["amsgrad"],
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
            foreach=group["foreach"],
            fused=group["fused"],
            decoupled_weight_decay=group["decoupled_weight_decay"],
        )


def _functional_adam_applies(optimizer: torch.optim.Optimizer) -> bool:
    """An Adam/AdamW with one parameter group, neither capturable nor differentiable nor
    scaled; any other optimizer steps through ``optimizer.step()``."""
    if not isinstance(optimizer, torch.optim.Adam) or len(optimizer.param_groups) != 1:
        return False
    group = optimizer.param_groups[0]
    return not (
        group["capturable"] or group["differentiable"] or getattr(optimizer, "grad_scale", None)
    )


def _adam_lists(optimizer: torch.optim.Optimizer) -> dict:
    """The argument lists of ``torch.optim.adam.adam`` over the optimizer's own state (which
    its first ``step()`` created)."""
    group = optimizer.param_groups[0]
    params = group["params"]
    states = [optimizer.state[p] for p in params]
    return {
        "params": params,
        "grads": [p.grad for p in params],
        "exp_avgs": [s["exp_avg"] for s in states],
        "exp_avg_sqs": [s["exp_avg_sq"] for s in states],
        "max_exp_avg_sqs": [s["max_exp_avg_sq"] for s in states] if group["amsgrad"] else [],
        "state_steps": [s["step"] for s in states],
    }


def _trainable_cpu_float32(param: torch.Tensor) -> bool:
    # a frozen parameter would be updated here but not by autograd: leave such models to it
    return param.requires_grad and param.device.type == "cpu" and param.dtype == torch.float32


def _hidden_layers(model: nn.Module) -> list[tuple[nn.Linear, float]] | None:
    """``[(linear, dropout p), ...]`` for Linear → ReLU → [our Dropout] blocks followed by one
    Linear to a single output; ``None`` for any other layout (BatchNorm, other modules)."""
    modules = list(model.children())
    if not modules or not isinstance(modules[-1], nn.Linear) or modules[-1].out_features != 1:
        return None
    layers: list[tuple[nn.Linear, float]] = []
    i = 0
    while i < len(modules) - 1:
        linear = modules[i]
        if not (
            isinstance(linear, nn.Linear)
            and i + 1 < len(modules) - 1
            and isinstance(modules[i + 1], nn.ReLU)
        ):
            return None
        p, step = 0.0, 2
        dropout = modules[i + 2] if i + 2 < len(modules) - 1 else None
        if isinstance(dropout, Dropout):
            p, step = dropout.p, 3
        layers.append((linear, p))
        i += step
    if any(linear.bias is None for linear, _ in layers) or modules[-1].bias is None:
        return None
    return layers
