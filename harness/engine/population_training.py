"""Training a population (``harness.engine.population``) as ``train()`` trains one model:
seeded shuffles, the same batches, per-member early stopping on validation loss, the best
epoch's weights kept, divergence caught, each member scored alone at the end."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from torch.nn import functional

from harness.engine.metrics import batched_auroc
from harness.engine.population import (
    CapturedPopulationStep,
    Member,
    Population,
    PopulationHook,
)
from harness.engine.settings import PopulationSettings
from harness.engine.splits import Splits
from harness.engine.train import (
    EarlyStopping,
    ResidentSplits,
    TrainResult,
    denormals_flushed,
    evaluate_splits,
    resolve_device,
)


@dataclass
class _Track:
    """One member's history and early stopping (the best epoch's flat weights row)."""

    member: Member
    stopping: EarlyStopping[torch.Tensor]
    history: list[dict[str, float]] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    final_row: torch.Tensor | None = None  # without patience: the last epoch's weights
    status: Literal["running", "ok", "diverged", "pruned"] = "running"
    seconds: float = 0.0

    def observe(
        self, epoch: int, losses: tuple[float, float, float], seconds: float, params: torch.Tensor
    ) -> str | None:
        """Record an epoch (train loss, validation loss, AUROC) as ``train()`` does; why the
        member stops here ("diverged", or "patience": that many epochs without a lower
        validation loss), or None."""
        train_loss, loss, auroc = losses
        if not (math.isfinite(train_loss) and math.isfinite(loss)):
            self.history.append(
                {"epoch": epoch, "train_loss": train_loss, "val_loss": loss, "val_auroc": math.nan}
            )
            self.status = "diverged"
            return "diverged"
        self.history.append(
            {"epoch": epoch, "train_loss": train_loss, "val_loss": loss, "val_auroc": auroc}
        )
        self.epoch_seconds.append(seconds)
        self.stopping.update(epoch, loss, params.clone)
        return "patience" if self.stopping.exhausted else None


def train_population(
    members: Sequence[Member],
    splits: Splits,
    settings: PopulationSettings,
    *,
    device: str = "auto",
    resident: ResidentSplits | None = None,
    on_epoch: PopulationHook | None = None,
    score_test: bool = True,
) -> list[TrainResult]:
    """Train every member as ``train()`` would train it alone (same seeds, batches, early
    stopping and scoring); one ``TrainResult`` per member, in order. ``status`` is ``ok``,
    ``diverged`` or ``pruned``; ``seconds`` is the population's wall time until the member
    stopped (it shared the device with the others all along). ``on_epoch(index, epoch,
    record)`` returning True prunes member ``index``. With ``settings.flush_denormal``, on CPU
    denormal floats are flushed to zero, as ``train()`` does."""
    on_cpu = resolve_device(device).type == "cpu"
    with denormals_flushed(settings.flush_denormal and on_cpu):
        return _train_population(members, splits, settings, device, resident, on_epoch, score_test)


def _train_population(
    members: Sequence[Member],
    splits: Splits,
    settings: PopulationSettings,
    device: str,
    resident: ResidentSplits | None,
    on_epoch: PopulationHook | None,
    score_test: bool,
) -> list[TrainResult]:
    torch_device = resolve_device(device)
    data = resident or ResidentSplits(splits, torch_device)
    population = Population(members, splits.n_features, settings, torch_device)
    tracks = [_Track(m, EarlyStopping(settings.patience)) for m in members]
    active = list(range(len(members)))  # tracks[active[i]] is population row i
    shufflers = [torch.Generator().manual_seed(m.seed) for m in members]
    graph_wanted = settings.cuda_graph and torch_device.type == "cuda"
    captured: CapturedPopulationStep | None = None
    started = epoch_started = time.perf_counter()
    for epoch in range(1, settings.max_epochs + 1):
        order = torch.stack(
            [torch.randperm(data.x_train.shape[0], generator=shufflers[t]) for t in active]
        ).to(torch_device)
        x_epoch, y_epoch = data.x_train[order], data.y_train[order]  # (K, n, F), (K, n, 1)
        if graph_wanted and captured is None and x_epoch.shape[1] >= settings.batch_size:
            size = settings.batch_size
            captured = CapturedPopulationStep(population, x_epoch[:, :size], y_epoch[:, :size])
        train_loss = _train_epoch(population, x_epoch, y_epoch, settings.batch_size, captured)
        numbers = torch.stack([train_loss, *_validate(population, data)]).cpu().tolist()
        now = time.perf_counter()
        timing = (now - epoch_started, now - started)
        leaving = _observe(tracks, active, epoch, numbers, population, timing, on_epoch)
        epoch_started = now
        if leaving:
            staying = [row for row in range(len(active)) if row not in leaving]
            active = [active[row] for row in staying]
            if not active:
                break
            population.keep(staying)
            captured = None  # shapes changed: recapture on the next epoch
    for row, index in enumerate(active):  # trained all epochs
        tracks[index].status = "ok"
        tracks[index].seconds = time.perf_counter() - started
        tracks[index].final_row = population.stack.params[row].clone()
    del captured
    return [
        _result(track, population, data, splits.n_features, str(torch_device), score_test)
        for track in tracks
    ]


def _observe(
    tracks: list[_Track],
    active: list[int],
    epoch: int,
    numbers: list[list[float]],
    population: Population,
    timing: tuple[float, float],
    on_epoch: PopulationHook | None,
) -> list[int]:
    """Record the epoch of every active member (``numbers``: train loss, validation loss and
    AUROC, one row each; ``timing``: the epoch's seconds and the seconds since the start);
    the population rows of the members that stop here (diverged, patience, pruned)."""
    leaving = []
    for row, index in enumerate(active):
        track = tracks[index]
        losses = (numbers[0][row], numbers[1][row], numbers[2][row])
        reason = track.observe(epoch, losses, timing[0], population.stack.params[row])
        # as train(): the hook sees every trained epoch, the last one included, with the
        # epoch's seconds and how many members shared them (a member's share of the clock)
        seen = {**track.history[-1], "seconds": timing[0], "members": float(len(active))}
        if reason != "diverged" and on_epoch is not None and on_epoch(index, epoch, seen):
            track.status, reason = "pruned", "pruned"
        elif reason == "patience":
            track.status = "ok"
        if reason is not None:
            track.seconds = timing[1]
            leaving.append(row)
    return leaving


def _train_epoch(
    population: Population,
    x_epoch: torch.Tensor,
    y_epoch: torch.Tensor,
    size: int,
    captured: CapturedPopulationStep | None,
) -> torch.Tensor:
    """One pass over the members' shuffled rows; each member's mean training loss ``(K,)``,
    on the device (no sync). Full batches replay the captured graph when there is one."""
    n = x_epoch.shape[1]
    loss_sum = torch.zeros(x_epoch.shape[0], device=x_epoch.device)
    if captured is not None:
        captured.loss_sum.zero_()
    rows = 0
    for start in range(0, n, size):
        stop = min(start + size, n)
        if stop - start == 1 and start > 0 and size > 1:
            continue  # as train(): a lone ragged last row is skipped
        xb, yb = x_epoch[:, start:stop], y_epoch[:, start:stop]
        if captured is not None and stop - start == size:
            captured(xb, yb)
        else:
            loss_sum += population.step(xb, yb) * (stop - start)
        rows += stop - start
    if captured is not None:
        loss_sum += captured.loss_sum
    return loss_sum / rows


def _validate(population: Population, data: ResidentSplits) -> tuple[torch.Tensor, torch.Tensor]:
    """Each member's validation loss and AUROC ``(K,)`` (AUROC NaN with one class only)."""
    val_logits = population.logits(data.x_valid)
    val_loss = functional.binary_cross_entropy_with_logits(
        val_logits, data.y_valid.expand_as(val_logits), reduction="none"
    ).mean(dim=(1, 2))
    if data.y_valid_np.min() == data.y_valid_np.max():
        return val_loss, torch.full_like(val_loss, math.nan)
    labels = data.y_valid.long().view(-1)
    return val_loss, batched_auroc(labels, torch.sigmoid(val_logits).squeeze(-1))


def _result(
    track: _Track,
    population: Population,
    data: ResidentSplits,
    n_features: int,
    device: str,
    score_test: bool,
) -> TrainResult:
    assert track.status != "running", "every member has stopped by now"
    result = TrainResult(
        track.status,
        len(track.history),
        track.stopping.best_epoch,
        track.seconds,
        device,
        track.member.seed,
        track.history,
        track.epoch_seconds,
    )
    if track.status != "ok":
        return result
    row = track.stopping.best_state if track.stopping.best_state is not None else track.final_row
    assert row is not None, "a member that trained keeps its best or its last weights"
    model = population.member_model(row, track.member, n_features)
    result.valid, result.test = evaluate_splits(model, data, nn.BCEWithLogitsLoss(), score_test)
    result.model = model
    return result
