"""The training engine: determinism, early stopping, divergence, batching, devices, pos_weight."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial
from itertools import chain

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from harness.engine.nets import MLP, LogisticRegression
from harness.engine.settings import TrainSettings
from harness.engine.steps import eager_step, make_optimizer, restore_start
from harness.engine.train import (
    _batches,
    balanced_pos_weight,
    denormals_flushed,
    resolve_device,
    train,
    train_epoch,
)
from harness.errors import HarnessError
from harness.lab.data import Splits

SMALL_MLP = partial(MLP, hidden=(32, 16), dropout=0.3)
CUDA = torch.cuda.is_available()


def _valid_loss(model: nn.Module, splits: Splits, pos_weight: float | None = None) -> float:
    criterion = nn.BCEWithLogitsLoss(
        pos_weight=None if pos_weight is None else torch.tensor([pos_weight])
    )
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(splits.x_valid))
    return float(criterion(logits, torch.from_numpy(splits.y_valid)))


def _numbered_splits(n_train: int, n_features: int = 4) -> Splits:
    """Synthetic splits whose training row i carries i in column 0 (to read batch order)."""
    generator = np.random.default_rng(0)
    x_train = generator.normal(size=(n_train, n_features)).astype(np.float32)
    x_train[:, 0] = np.arange(n_train)
    y_train = (np.arange(n_train) % 3 == 0).astype(np.float32).reshape(-1, 1)
    x_other = generator.normal(size=(40, n_features)).astype(np.float32)
    y_other = (np.arange(40) % 2).astype(np.float32).reshape(-1, 1)
    names = [f"f{i}" for i in range(n_features)]
    return Splits(x_train, y_train, x_other, y_other, x_other, y_other, names)


class BatchLog(nn.Module):
    """A logistic model that records the row numbers of every training batch it sees."""

    def __init__(self, n_features: int, log: list[list[int]]) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, 1)
        self.log = log

    def forward(self, x):
        if self.training:
            self.log.append(x[:, 0].long().tolist())
        return self.linear(x)


def _batch_orders(splits: Splits, settings: TrainSettings, seed: int) -> list[list[int]]:
    """Per epoch, the row numbers in the order training saw them."""
    log: list[list[int]] = []
    train(lambda n: BatchLog(n, log), splits, settings, seed=seed, device="cpu")
    per_epoch = len(log) // settings.max_epochs
    return [list(chain(*log[i : i + per_epoch])) for i in range(0, len(log), per_epoch)]


# --- determinism ------------------------------------------------------------------------


def _weights(result) -> dict[str, torch.Tensor]:
    return result.model.state_dict()


def test_same_seed_same_history_and_weights(tiny_splits):
    """One path twice in one process: the same kernels, so equal bit for bit on any CPU."""
    settings = TrainSettings(
        optimizer="adam", batch_size=64, shuffle=True, max_epochs=3, patience=None
    )
    first = train(SMALL_MLP, tiny_splits, settings, seed=7, device="cpu")
    second = train(SMALL_MLP, tiny_splits, settings, seed=7, device="cpu")
    assert first.history == second.history
    for key, value in _weights(first).items():
        assert torch.equal(value, _weights(second)[key]), key
    assert first.valid == second.valid
    assert first.test == second.test


def test_different_seed_different_history_and_weights(tiny_splits):
    settings = TrainSettings(
        optimizer="adam", batch_size=64, shuffle=True, max_epochs=2, patience=None
    )
    first = train(SMALL_MLP, tiny_splits, settings, seed=0, device="cpu")
    other = train(SMALL_MLP, tiny_splits, settings, seed=1, device="cpu")
    assert first.history != other.history
    assert not torch.equal(_weights(first)["0.weight"], _weights(other)["0.weight"])


def test_history_records_every_epoch(tiny_splits):
    seen: list[tuple[int, dict]] = []
    settings = TrainSettings(optimizer="adam", batch_size=128, max_epochs=3, patience=None)
    result = train(
        SMALL_MLP,
        tiny_splits,
        settings,
        device="cpu",
        on_epoch=lambda epoch, record: seen.append((epoch, record)),
    )
    assert result.status == "ok"
    assert result.epochs == len(result.history) == 3
    assert [epoch for epoch, _ in seen] == [1, 2, 3]
    assert [record for _, record in seen] == result.history
    for record in result.history:
        assert set(record) == {"epoch", "train_loss", "val_loss", "val_auroc"}
        assert all(math.isfinite(v) for v in record.values())
    assert result.device == "cpu"
    assert result.seconds > 0
    assert result.seconds_per_epoch == pytest.approx(result.seconds / 3)


def test_an_exception_in_on_epoch_stops_training(tiny_splits):
    class Pruned(Exception):
        pass

    def prune(epoch, record):
        if epoch == 2:
            raise Pruned

    with pytest.raises(Pruned):
        train(
            SMALL_MLP,
            tiny_splits,
            TrainSettings(batch_size=128, max_epochs=5, patience=None),
            device="cpu",
            on_epoch=prune,
        )


# --- early stopping ---------------------------------------------------------------------


def test_early_stopping_restores_the_best_weights(splits):
    # 200 rows, a wide MLP and a large Adam step: it overfits at once, validation loss rises.
    overfit = splits.subset(200)
    settings = TrainSettings(optimizer="adam", lr=1e-2, batch_size=32, max_epochs=60, patience=3)
    result = train(partial(MLP, hidden=(256, 128)), overfit, settings, seed=0, device="cpu")
    losses = [h["val_loss"] for h in result.history]
    assert result.status == "ok"
    assert result.best_epoch < result.epochs < settings.max_epochs  # stopped early
    assert result.epochs == result.best_epoch + settings.patience
    assert losses[result.best_epoch - 1] == min(losses)
    assert losses[-1] > min(losses)  # the last weights are worse: restoring matters
    restored = _valid_loss(result.model, overfit)
    assert restored == pytest.approx(losses[result.best_epoch - 1], rel=1e-6)
    assert result.valid.loss == pytest.approx(restored, rel=1e-6)
    # the threshold is the best model's, chosen on validation and applied to test as-is
    assert result.test.threshold == result.valid.threshold


def test_without_patience_all_epochs_are_trained_and_the_last_weights_kept(tiny_splits):
    settings = TrainSettings(optimizer="sgd", lr=1e-3, batch_size=256, max_epochs=4, patience=None)
    result = train(SMALL_MLP, tiny_splits, settings, device="cpu")
    assert result.epochs == result.best_epoch == 4
    assert _valid_loss(result.model, tiny_splits) == pytest.approx(
        result.history[-1]["val_loss"], rel=1e-6
    )


# --- divergence -------------------------------------------------------------------------


def _nan_logistic(n_features: int) -> nn.Module:
    model = LogisticRegression(n_features)
    with torch.no_grad():
        model.linear.weight.fill_(float("nan"))
    return model


class Poisonable(nn.Module):
    """A logistic model that starts returning NaN once ``poisoned`` is set."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, 1)
        self.poisoned = False

    def forward(self, x):
        out = self.linear(x)
        return out * float("nan") if self.poisoned else out


@pytest.mark.parametrize(
    ("make_model", "settings"),
    [
        (_nan_logistic, TrainSettings(optimizer="sgd", batch_size=128, max_epochs=5, patience=2)),
        (
            SMALL_MLP,
            TrainSettings(optimizer="sgd", lr=1e6, batch_size=128, max_epochs=5, patience=None),
        ),
    ],
    ids=["nan weights", "lr 1e6"],
)
def test_a_non_finite_loss_gives_diverged_without_an_exception(tiny_splits, make_model, settings):
    result = train(make_model, tiny_splits, settings, device="cpu")
    assert result.status == "diverged"
    assert result.epochs == len(result.history) < settings.max_epochs
    last = result.history[-1]
    assert not (math.isfinite(last["train_loss"]) and math.isfinite(last["val_loss"]))
    assert result.valid is None
    assert result.test is None
    assert result.model is None


def test_divergence_after_good_epochs(tiny_splits):
    models: list[Poisonable] = []

    def make(n_features):
        models.append(Poisonable(n_features))
        return models[-1]

    def poison_after_two(epoch, record):
        if epoch == 2:
            models[0].poisoned = True

    settings = TrainSettings(optimizer="adam", batch_size=128, max_epochs=10, patience=5)
    result = train(make, tiny_splits, settings, device="cpu", on_epoch=poison_after_two)
    assert result.status == "diverged"
    assert result.epochs == 3
    assert all(math.isfinite(h["val_loss"]) for h in result.history[:2])


# --- batches ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "batch_size", "sizes"),
    [
        (300, 64, [64, 64, 64, 64, 44]),
        (257, 64, [64, 64, 64, 64]),  # the lone ragged row is skipped
        (129, 128, [128]),
        (300, None, [300]),  # full batch
        (1, None, [1]),
        (1, 128, [1]),  # one row is one batch, not skipped
        (5, 1, [1, 1, 1, 1, 1]),  # batch_size 1: every batch is one row, none skipped
    ],
)
def test_batch_sizes(rows, batch_size, sizes):
    x = torch.arange(rows, dtype=torch.float32).reshape(-1, 1)
    batches = list(_batches(x, x.clone(), batch_size, None))
    assert [len(xb) for xb, _ in batches] == sizes
    seen = torch.cat([xb for xb, _ in batches]).ravel().tolist()
    assert seen == list(range(sum(sizes)))  # in order, rows and labels together
    assert all(torch.equal(xb, yb) for xb, yb in batches)


def test_unshuffled_batches_follow_the_row_order():
    data = _numbered_splits(300)
    orders = _batch_orders(data, TrainSettings(batch_size=64, max_epochs=2, patience=None), seed=0)
    assert orders == [list(range(300))] * 2


def test_shuffle_permutes_each_epoch_reproducibly():
    data = _numbered_splits(300)
    settings = TrainSettings(batch_size=64, shuffle=True, max_epochs=2, patience=None)
    orders = _batch_orders(data, settings, seed=0)
    for order in orders:
        assert sorted(order) == list(range(300))  # every row once
        assert order != list(range(300))
    assert orders[0] != orders[1]  # a new permutation each epoch
    assert _batch_orders(data, settings, seed=0) == orders  # reproducible with the seed
    assert _batch_orders(data, settings, seed=1) != orders


def test_full_batch_mode_is_one_step_per_epoch():
    data = _numbered_splits(300)
    log: list[list[int]] = []
    settings = TrainSettings(batch_size=None, max_epochs=3, patience=None)
    train(lambda n: BatchLog(n, log), data, settings, device="cpu")
    assert log == [list(range(300))] * 3


def test_ragged_last_batch_of_one_row_with_batchnorm(splits):
    ragged = splits.subset(2001)  # batches of 100: twenty full ones and one row left over
    settings = TrainSettings(optimizer="adamw", batch_size=100, max_epochs=1, patience=None)
    model = partial(MLP, hidden=(32, 16), dropout=0.5, batchnorm=True)
    result = train(model, ragged, settings, device="cpu")
    assert result.status == "ok"
    assert math.isfinite(result.history[0]["train_loss"])


def test_batch_size_one_trains():
    """Regression: every one-row batch was skipped as 'ragged', then 0 rows -> ZeroDivision."""
    data = _numbered_splits(6)
    result = train(
        LogisticRegression,
        data,
        TrainSettings(batch_size=1, max_epochs=2, patience=None),
        device="cpu",
    )
    assert result.status == "ok"
    assert math.isfinite(result.history[-1]["train_loss"])
    assert _batch_orders(data, TrainSettings(batch_size=1, max_epochs=1, patience=None), 0) == [
        list(range(6))
    ]


# --- devices ----------------------------------------------------------------------------


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_harness_error(tiny_splits):
    with pytest.raises(HarnessError, match="no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(HarnessError, match="no CUDA device"):
        train(SMALL_MLP, tiny_splits, TrainSettings(max_epochs=1, patience=None), device="cuda")


def test_device_names():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if CUDA else "cpu")
    with pytest.raises(HarnessError, match=r"device must be one of \['auto', 'cpu', 'cuda'\]"):
        resolve_device("tpu")


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_trains_on_cuda(tiny_splits):
    result = train(
        SMALL_MLP,
        tiny_splits,
        TrainSettings(batch_size=128, max_epochs=2, patience=None),
        device="cuda",
    )
    assert result.status == "ok"
    assert result.device.startswith("cuda")


# --- the CUDA-graph fast path ----------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_warm_up_steps_are_undone_exactly(tiny_splits, optimizer):
    """What CapturedStep does around its warm-up (steps on a copy of one batch, then
    restore_start) leaves training where a fresh model and optimizer would be. Checked on CPU,
    bit for bit: the part of the fast path that does not need a GPU to be tested."""
    x = torch.from_numpy(tiny_splits.x_train)
    y = torch.from_numpy(tiny_splits.y_train)
    device = torch.device("cpu")

    def fresh():
        torch.manual_seed(0)
        model = MLP(x.shape[1], (16, 8), batchnorm=True)  # buffers too; no dropout: no RNG use
        return model, make_optimizer(optimizer, model.parameters(), 1e-2, 1e-3, device)

    criterion = nn.BCEWithLogitsLoss()
    plain, plain_opt = fresh()
    warmed, warmed_opt = fresh()
    start = {k: v.clone() for k, v in warmed.state_dict().items()}
    for _ in range(3):
        eager_step(warmed.train(), warmed_opt, criterion, x[:64], y[:64])
    assert not torch.equal(warmed[0].weight, start["0.weight"])
    restore_start(warmed, warmed_opt, start)
    for model, opt in ((plain, plain_opt), (warmed, warmed_opt)):
        for _ in range(2):
            train_epoch(model, opt, criterion, _batches(x, y, 50, None))
    for (key, a), b in zip(plain.state_dict().items(), warmed.state_dict().values(), strict=True):
        assert torch.equal(a, b), key


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
@pytest.mark.parametrize(
    ("make_model", "settings"),
    [
        (
            partial(MLP, hidden=(64, 32)),
            TrainSettings(
                optimizer="adam", lr=1e-3, batch_size=96, shuffle=True, max_epochs=4, patience=None
            ),
        ),
        (
            partial(MLP, hidden=(64, 32), batchnorm=True),
            TrainSettings(
                optimizer="sgd",
                lr=1e-2,
                weight_decay=1e-4,
                batch_size=128,
                max_epochs=4,
                pos_weight=True,
                patience=None,
            ),
        ),
        (
            partial(MLP, hidden=(32,)),
            TrainSettings(optimizer="adamw", lr=1e-3, max_epochs=4, patience=None),
        ),
    ],
)
def test_cuda_graph_matches_eager(splits, make_model, settings):
    """Same seed, same batches (ragged last batch included: 20,838 rows are not a multiple of
    96 or 128): the graph replay and eager PyTorch give the same losses within float
    tolerance (no dropout, whose random stream differs between the two). Four epochs of
    hundreds of steps: a longer run, compared by a tolerance (1e-3) measured on an H200.

    Weights are compared after a few steps only (the next test): over hundreds of Adam steps
    the capturable and the foreach Adam's last-bit differences grow in coordinates with tiny
    second moments (seen on an H200: first-layer weights 0.02 apart after 868 steps, with the
    losses still within 1e-3), which says nothing about the graph."""
    from dataclasses import replace

    graph = train(make_model, splits, settings, device="cuda")
    eager = train(make_model, splits, replace(settings, cuda_graph=False), device="cuda")
    assert len(graph.history) == len(eager.history) == settings.max_epochs
    for g, e in zip(graph.history, eager.history, strict=True):
        for key in ("train_loss", "val_loss", "val_auroc"):
            assert g[key] == pytest.approx(e[key], rel=1e-3, abs=1e-4), (g["epoch"], key)


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_cuda_graph_weights_match_eager_after_a_few_steps(splits, optimizer):
    """Ten replayed steps (960 rows, batches of 96, plus the warm-up that capture undoes)
    leave the same weights as ten eager steps: the first steps, compared tightly."""
    from dataclasses import replace

    few = splits.subset(960)
    settings = TrainSettings(
        optimizer=optimizer,
        lr=1e-3,
        weight_decay=1e-4,
        batch_size=96,
        shuffle=True,
        max_epochs=1,
        patience=None,
    )
    make_model = partial(MLP, hidden=(64, 32))
    graph = train(make_model, few, settings, device="cuda")
    eager = train(make_model, few, replace(settings, cuda_graph=False), device="cuda")
    for (key, a), b in zip(
        graph.model.state_dict().items(), eager.model.state_dict().values(), strict=True
    ):
        assert torch.allclose(a.float(), b.float(), rtol=1e-4, atol=1e-5), key


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_cuda_graph_with_dropout_learns(splits):
    settings = TrainSettings(
        optimizer="adam", lr=1e-3, batch_size=128, shuffle=True, max_epochs=3, patience=None
    )
    result = train(partial(MLP, hidden=(64, 32), dropout=0.5), splits, settings, device="cuda")
    assert result.status == "ok"
    assert result.history[-1]["val_auroc"] > 0.85


# --- class weights ----------------------------------------------------------------------


def test_pos_weight_is_w1_over_w0(splits):
    y = splits.y_train
    w0, w1 = compute_class_weight("balanced", classes=np.array([0.0, 1.0]), y=y.ravel())
    assert balanced_pos_weight(y) == pytest.approx(w1 / w0, rel=1e-12)
    negatives, positives = float((y == 0).sum()), float((y == 1).sum())
    assert balanced_pos_weight(y) == pytest.approx(negatives / positives, rel=1e-12)
    assert 3.0 < balanced_pos_weight(y) < 3.3  # 75.9% negatives / 24.1% positives


def test_pos_weight_of_one_class_is_a_harness_error():
    with pytest.raises(HarnessError, match="needs both classes"):
        balanced_pos_weight(np.zeros((5, 1), dtype=np.float32))


def test_pos_weight_setting_weights_the_loss(tiny_splits):
    settings = TrainSettings(
        optimizer="sgd", batch_size=256, max_epochs=1, pos_weight=True, patience=None
    )
    result = train(LogisticRegression, tiny_splits, settings, device="cpu")
    weight = balanced_pos_weight(tiny_splits.y_train)
    weighted = _valid_loss(result.model, tiny_splits, pos_weight=weight)
    assert result.history[-1]["val_loss"] == pytest.approx(weighted, rel=1e-6)
    assert weighted != pytest.approx(_valid_loss(result.model, tiny_splits), rel=1e-3)


# --- denormals ----------------------------------------------------------------------------


def _denormal_survives() -> bool:
    tiny = torch.tensor([1e-39])  # below float32's smallest normal (1.2e-38)
    return bool((tiny * 1.0).item() != 0.0)


def test_denormals_are_flushed_only_inside_the_block_and_only_when_asked():
    assert _denormal_survives(), "torch's default keeps denormals"
    with denormals_flushed(False):
        assert _denormal_survives()
    with denormals_flushed(True):
        if torch.set_flush_denormal(True):  # a CPU without FTZ/DAZ has nothing to flush
            assert not _denormal_survives()
    assert _denormal_survives(), "the thread is back to torch's default after the block"


def test_flush_denormal_trains_the_same_model_and_leaves_the_default(tiny_splits):
    """Opt-in (it may change a trial's late digits); on these few epochs nothing is denormal
    yet, so the training is the same."""
    settings = TrainSettings(max_epochs=3, batch_size=64, lr=1e-2, shuffle=True)
    plain = train(SMALL_MLP, tiny_splits, settings, seed=3, device="cpu")
    flushed = train(
        SMALL_MLP, tiny_splits, replace(settings, flush_denormal=True), seed=3, device="cpu"
    )
    assert [h["val_loss"] for h in flushed.history] == [h["val_loss"] for h in plain.history]
    assert _denormal_survives()
