"""Population training: K search-task trials of one batch size trained together, in one step.

A small MLP leaves a GPU mostly idle: each of a step's few dozen kernels does microseconds of
work and waits on Python to launch the next. Stacking K trials' weights and running each
layer as one batched matrix product (``torch.baddbmm`` over a leading member dimension) makes
every launch do K trials' work. On CPU the same holds for the per-operation overhead.

Layout. Member k's parameters are row k of one flat ``(K, P)`` buffer, viewed per layer as a
weight ``(K, in, out)`` and a bias ``(K, 1, out)``. Members may differ in hidden size: each is
**padded** to the population's largest (first and second hidden layer apart) with zeros.
Padded units stay exactly zero: their incoming and outgoing weights and bias are zero, so
their activations and every gradient that touches them are zero, and Adam, AdamW and SGD
(weight decay included: zero decays to zero) leave them at zero. A member therefore computes
what it would alone, plus products with zeros. Group similar sizes to waste little.

Per-member settings: learning rate, weight decay and dropout are ``(K, 1)`` tensors; the
optimizer (Adam, AdamW or plain SGD, torch's formulas written out for the flat buffer), the
batch size, the epoch budget and the patience are shared. Per-member early stopping: a member
that stops (patience, divergence, or pruned by ``on_epoch``) is **removed** from the buffers at
the end of its epoch (its rows dropped), so it stops costing compute; its best weights are
kept aside.

Random streams. Member k shuffles with ``torch.Generator().manual_seed(seed_k)``, as
``train()`` does. Dropout masks come from one of two streams:
- ``exact`` (CPU default): each member draws from its own CPU generator that continues where
  its model's initialisation left the global one: the masks ``MLPStep`` draws for it alone,
  so each member's weights equal a solo ``train()`` run's up to float rounding. One draw per
  member and layer, so its cost grows with K.
- ``hashed`` (CUDA default): a counter-based hash of (member seed, step, layer, row, unit) in
  a few batched integer kernels: one launch sequence for all K, capturable in a CUDA graph,
  and a member's masks do not depend on which members share its population nor on its
  position there (tested). Same distribution as the solo path's masks, another stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional

from harness.engine.nets import search_mlp
from harness.engine.settings import PopulationSettings
from harness.errors import HarnessError

# on_epoch(member index, epoch, record) -> True to stop (prune) that member
PopulationHook = Callable[[int, int, dict[str, float]], bool]
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, which train() uses
_MASK32 = 0xFFFFFFFF
_UNIT_BITS = 20  # a mask element's key is row << 20 | unit: hidden sizes up to about a million


@dataclass(frozen=True)
class Member:
    """One trial of the search task's MLP: N, then N // 2 hidden units."""

    hidden_size: int
    lr: float
    weight_decay: float
    dropout: float
    seed: int

    @property
    def hidden(self) -> tuple[int, int]:
        return self.hidden_size, max(1, self.hidden_size // 2)


def _hash32(x: torch.Tensor) -> torch.Tensor:
    """Chris Wellons' lowbias32 integer hash on int64 tensors holding 32-bit values. Products
    may wrap past 2**63; the low 32 bits, all that is kept, are exact either way."""
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & _MASK32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & _MASK32
    return x ^ (x >> 16)


class _Stack:
    """The members' parameters, gradients and optimizer state as flat ``(K, P)`` buffers."""

    def __init__(self, widths: Sequence[int], k: int, device: torch.device, adam: bool) -> None:
        self.widths = list(widths)
        self.size = sum(a * b + b for a, b in zip(self.widths, self.widths[1:], strict=False))
        self.params = torch.zeros(k, self.size, device=device)
        self.grads = torch.zeros_like(self.params)
        self.exp_avg = torch.zeros_like(self.params) if adam else None
        self.exp_avg_sq = torch.zeros_like(self.params) if adam else None
        self.refresh()

    def _layers(self, flat: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        views, offset, k = [], 0, flat.shape[0]
        for fan_in, fan_out in zip(self.widths, self.widths[1:], strict=False):
            weight = flat[:, offset : offset + fan_in * fan_out].view(k, fan_in, fan_out)
            offset += fan_in * fan_out
            views.append((weight, flat[:, offset : offset + fan_out].view(k, 1, fan_out)))
            offset += fan_out
        return views

    def refresh(self) -> None:
        """(Re)build the per-layer views of the flat buffers."""
        self.layers = self._layers(self.params)
        self.grad_layers = self._layers(self.grads)

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only the members at ``rows`` (the others stopped)."""
        for name in ("params", "grads", "exp_avg", "exp_avg_sq"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.index_select(0, rows))
        self.refresh()


class Population:
    """K members trained in lockstep; see the module's docstring."""

    def __init__(
        self,
        members: Sequence[Member],
        n_features: int,
        settings: PopulationSettings,
        device: torch.device,
    ) -> None:
        if not members:
            raise HarnessError("a population needs at least one member, but got none")
        self.settings, self.device = settings, device
        self.stream = settings.dropout_stream or ("hashed" if device.type == "cuda" else "exact")
        if self.stream == "exact" and device.type != "cpu":
            raise HarnessError(
                "the exact dropout stream continues CPU generators: it needs "
                f"device 'cpu', but got {device.type!r}; use 'hashed'"
            )
        widths = [
            n_features,
            max(m.hidden[0] for m in members),
            max(m.hidden[1] for m in members),
            1,
        ]
        self.stack = _Stack(widths, len(members), device, settings.optimizer != "sgd")
        self.step_count = torch.zeros((), dtype=torch.int64, device=device)
        self.members = list(members)
        self.mask_generators: list[torch.Generator | None] = []
        for k, member in enumerate(members):
            # Each member starts from its solo run's initial weights: the same seed, the same
            # model built on CPU and moved, as train() does.
            torch.manual_seed(member.seed)
            model = search_mlp(n_features, member.hidden_size, member.dropout)
            linears = [m for m in model if isinstance(m, nn.Linear)]
            with torch.no_grad():
                for (weight, bias), linear in zip(self.stack.layers, linears, strict=True):
                    weight[k, : linear.in_features, : linear.out_features] = linear.weight.t()
                    bias[k, 0, : linear.out_features] = linear.bias
            generator = None
            if self.stream == "exact" and member.dropout > 0:
                generator = torch.Generator()  # continues the CPU stream MLPStep would use
                generator.set_state(torch.get_rng_state())
            self.mask_generators.append(generator)
        self._set_member_tensors()

    def _set_member_tensors(self) -> None:
        def column(values: list[float], dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.tensor(values, dtype=dtype, device=self.device).view(-1, 1)

        members = self.members
        self.lr = column([m.lr for m in members])
        self.weight_decay = column([m.weight_decay for m in members])
        self.drop_p = column([m.dropout for m in members]).unsqueeze(-1)  # (K, 1, 1)
        self.drop_scale = 1.0 / (1.0 - self.drop_p)
        self.any_dropout = any(m.dropout > 0 for m in members)
        seeds = [_hash32(torch.tensor(m.seed & _MASK32)).item() for m in members]
        self.seed_keys = column(seeds, torch.int64).view(-1)

    def keep(self, indices: list[int]) -> None:
        """Keep only the members at ``indices`` (positions in the current population)."""
        rows = torch.tensor(indices, dtype=torch.long, device=self.device)
        self.stack.keep(rows)
        self.members = [self.members[i] for i in indices]
        self.mask_generators = [self.mask_generators[i] for i in indices]
        self._set_member_tensors()

    # ------------------------------------------------------------------ the step

    def _mask(self, layer: int, hidden: torch.Tensor) -> torch.Tensor | None:
        """Inverted-dropout masks ``(K, b, H)`` for one hidden layer, or None without dropout."""
        if not self.any_dropout:
            return None
        k, rows, units = hidden.shape
        if self.stream == "exact":
            mask = torch.ones_like(hidden)
            for i, (member, generator) in enumerate(
                zip(self.members, self.mask_generators, strict=True)
            ):
                if generator is None:
                    continue
                width = member.hidden[layer]  # drawn at the member's own shape, as alone
                draw = torch.rand((rows, width), generator=generator, device=hidden.device)
                mask[i, :, :width] = draw.ge_(member.dropout).mul_(1.0 / (1.0 - member.dropout))
            return mask
        # Key per (member, step, layer), then per (row, unit): independent of K and position.
        key = _hash32(self.seed_keys ^ (self.step_count & _MASK32))
        key = _hash32(key ^ (0x9E3779B9 * (layer + 1) & _MASK32))
        element = (
            torch.arange(rows, device=hidden.device).view(-1, 1) << _UNIT_BITS
        ) + torch.arange(units, device=hidden.device)
        bits = _hash32(key.view(k, 1, 1) ^ element)
        uniform = (bits >> 8).to(hidden.dtype) * (1.0 / (1 << 24))  # 24 bits: exact in float32
        return (uniform >= self.drop_p).to(hidden.dtype).mul_(self.drop_scale)

    def step(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """Forward, hand-derived backward (as ``MLPStep``) and update of every member on its
        batch ``(K, b, F)``; returns each member's mean loss ``(K,)``."""
        with torch.no_grad():
            self.step_count += 1
            layers = self.stack.layers
            inputs, masks = [xb], []
            for index, (weight, bias) in enumerate(layers[:-1]):
                hidden = torch.baddbmm(bias, inputs[-1], weight).relu_()
                mask = self._mask(index, hidden)
                if mask is not None:
                    hidden.mul_(mask)
                inputs.append(hidden)
                masks.append(mask)
            weight, bias = layers[-1]
            logits = torch.baddbmm(bias, inputs[-1], weight)
            losses = functional.binary_cross_entropy_with_logits(logits, yb, reduction="none").mean(
                dim=(1, 2)
            )
            grad = torch.sigmoid(logits).sub_(yb).div_(yb.shape[1])
            for index in range(len(layers) - 1, -1, -1):
                grad_weight, grad_bias = self.stack.grad_layers[index]
                grad_weight.copy_(torch.bmm(inputs[index].transpose(1, 2), grad))
                grad_bias.copy_(grad.sum(dim=1, keepdim=True))
                if index == 0:
                    break
                grad = torch.bmm(grad, layers[index][0].transpose(1, 2))
                mask = masks[index - 1]
                if mask is not None:
                    grad.mul_(mask)
                grad = torch.ops.aten.threshold_backward(grad, inputs[index], 0)
            self._update()
        return losses

    def _update(self) -> None:
        """torch.optim's Adam / AdamW / SGD (no momentum) formulas on the flat buffers, with a
        learning rate and a weight decay per member."""
        params, grads, name = self.stack.params, self.stack.grads, self.settings.optimizer
        if name == "sgd":
            grads.addcmul_(params, self.weight_decay)
            params.sub_(grads * self.lr)
            return
        if name == "adamw":
            params.mul_(1 - self.lr * self.weight_decay)
        else:
            grads.addcmul_(params, self.weight_decay)
        exp_avg, exp_avg_sq = self.stack.exp_avg, self.stack.exp_avg_sq
        assert exp_avg is not None and exp_avg_sq is not None, "an Adam stack keeps moments"
        beta1, beta2 = ADAM_BETAS
        step = self.step_count.double()  # bias corrections in double, as torch.optim's
        bias1, bias2 = 1 - beta1**step, 1 - beta2**step
        exp_avg.lerp_(grads, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grads, grads, value=1 - beta2)
        denom = (exp_avg_sq.sqrt() / bias2.sqrt()).add_(ADAM_EPS)
        params.sub_(exp_avg / denom * (self.lr / bias1))

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluation-mode logits ``(K, n, 1)`` of every member on the same rows ``(n, F)``."""
        hidden = x.expand(len(self.members), -1, -1)
        layers = self.stack.layers
        for weight, bias in layers[:-1]:
            hidden = torch.baddbmm(bias, hidden, weight).relu_()
        weight, bias = layers[-1]
        return torch.baddbmm(bias, hidden, weight)

    def member_model(self, row: torch.Tensor, member: Member, n_features: int) -> nn.Module:
        """A solo model of ``member`` holding the (unpadded) weights of flat ``row``."""
        model = search_mlp(n_features, member.hidden_size, member.dropout)
        linears = [m for m in model if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for (weight, bias), linear in zip(
                self.stack._layers(row.view(1, -1)), linears, strict=True
            ):
                linear.weight.copy_(weight[0, : linear.in_features, : linear.out_features].t())
                linear.bias.copy_(bias[0, 0, : linear.out_features])
        return model.to(self.device)


class CapturedPopulationStep:
    """The population's step for full batches captured once as a CUDA graph (as
    ``steps.CapturedStep`` does for one model); recaptured when members leave."""

    WARMUP_STEPS = 3

    def __init__(self, population: Population, xb: torch.Tensor, yb: torch.Tensor) -> None:
        self.population = population
        self.x, self.y = xb.clone(), yb.clone()
        self.loss_sum = torch.zeros(xb.shape[0], device=xb.device)
        stack = population.stack
        saved = [
            t.clone()
            for t in (stack.params, stack.exp_avg, stack.exp_avg_sq, population.step_count)
            if t is not None
        ]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.WARMUP_STEPS):
                population.step(self.x, self.y)
        torch.cuda.current_stream().wait_stream(side)
        live = [
            t
            for t in (stack.params, stack.exp_avg, stack.exp_avg_sq, population.step_count)
            if t is not None
        ]
        for target, value in zip(live, saved, strict=True):
            target.copy_(value)  # the warm-up is undone: training starts where eager would
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, capture_error_mode="thread_local"):
            losses = population.step(self.x, self.y)
            self.loss_sum.add_(losses * self.x.shape[1])

    def __call__(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        self.x.copy_(xb)
        self.y.copy_(yb)
        self.graph.replay()
