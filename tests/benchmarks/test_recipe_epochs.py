"""One training epoch of each lab recipe (``models/lab.toml``) with the harness engine.

Each network recipe trains one epoch on the first 4,000 training rows: its own network,
optimizer (``make_optimizer``, fused on CPU), loss (with ``pos_weight`` where the recipe asks)
and batches (``_batches``: slices of resident tensors), through ``train_epoch``, the step
``harness.engine.train.train`` runs. A fresh model and optimizer per round are built in the
untimed set-up, so a round is the epoch alone. One torch thread, as a Ray CPU worker trains.

The linear-regression recipe has no epoch of the Adult data: its whole fit (1,000 full-batch
steps on 100 synthetic points, NumPy and autograd) is timed instead.

Benchmark groups are per model kind (``logistic``, ``mlp``, ``linear_regression``). Nothing
here asserts a time: these are the numbers the report shows.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from harness.engine.train import (
    ResidentSplits,
    _batches,
    balanced_pos_weight,
    make_optimizer,
    train_epoch,
)
from harness.lab.data import Splits
from harness.lab.linreg import fit_numpy, fit_pytorch
from harness.lab.recipes import Recipe, load_recipes

TRAIN_ROWS = 4000  # enough batches of 128 (32) to time the loop, brief enough for CI
ROUNDS = 7  # few: CI stays brief; the median and IQR still mean something
RECIPES = load_recipes()
NETWORKS = [r for r in RECIPES.values() if r.model != "linear_regression"]
FITS = {"numpy": fit_numpy, "pytorch": fit_pytorch}


@pytest.fixture(scope="module")
def subset(splits: Splits) -> Splits:
    return splits.subset(TRAIN_ROWS)


@pytest.fixture(scope="module")
def resident(subset: Splits) -> ResidentSplits:
    return ResidentSplits(subset, torch.device("cpu"))


def epoch_setup(recipe: Recipe, subset: Splits, resident: ResidentSplits, seed: int = 0):
    """Arguments of ``train_epoch`` for one round, built as ``engine.train.train`` builds them."""
    settings = recipe.settings
    torch.manual_seed(seed)
    model = recipe.make_model(subset.n_features)
    optimizer = make_optimizer(
        settings.optimizer,
        model.parameters(),
        settings.lr,
        settings.weight_decay,
        torch.device("cpu"),
    )
    pos_weight = None
    if settings.pos_weight:
        pos_weight = torch.tensor([balanced_pos_weight(subset.y_train)])
    criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    generator = torch.Generator().manual_seed(seed) if settings.shuffle else None
    batches = _batches(resident.x_train, resident.y_train, settings.batch_size, generator)
    return (model, optimizer, criterion, batches), {}


@pytest.mark.parametrize("recipe", NETWORKS, ids=[r.name for r in NETWORKS])
def test_recipe_epoch(benchmark, recipe: Recipe, subset, resident, one_thread):
    settings = recipe.settings
    batches = sum(
        1 for _ in _batches(resident.x_train, resident.y_train, settings.batch_size, None)
    )
    benchmark.group = f"recipe epoch: {recipe.model}"
    benchmark.extra_info.update(
        {
            "recipe": recipe.name,
            "rows": len(subset.x_train),
            "batches": batches,
            "batch_size": settings.batch_size or "full",
            "optimizer": settings.optimizer,
            "threads": torch.get_num_threads(),
        }
    )
    loss = benchmark.pedantic(
        train_epoch,
        setup=lambda: epoch_setup(recipe, subset, resident),
        rounds=ROUNDS,
        warmup_rounds=1,
    )
    assert math.isfinite(loss)


@pytest.mark.parametrize("implementation", list(FITS))
def test_linear_regression_fit(benchmark, implementation: str, one_thread):
    recipe = RECIPES["linear_regression"]
    steps = recipe.settings.max_epochs
    benchmark.group = f"recipe fit: {recipe.model}"
    benchmark.extra_info.update(
        {"recipe": recipe.name, "implementation": implementation, "rows": 100, "steps": steps}
    )
    # The first autograd fit in a process pays torch's one-off imports: a warm-up round.
    fit = benchmark.pedantic(
        FITS[implementation], args=(0, recipe.settings.lr, steps), rounds=ROUNDS, warmup_rounds=1
    )
    assert fit.mse == pytest.approx(recipe.lab["mse"], abs=1e-5)
