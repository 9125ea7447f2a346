"""Fixed-model benchmarks: train the lab's recipes, score them on test, time them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.engine.train import train
from harness.lab.data import Splits
from harness.lab.linreg import fit_numpy, fit_pytorch
from harness.lab.recipes import Recipe

METRICS = ("auroc", "f1", "precision", "recall")

# on_start(recipe, seed, total_epochs) / on_epoch(epoch): hooks for a progress display.
StartHook = Callable[[Recipe, int, int], None]
EpochHook = Callable[[int, dict[str, float]], None]


def bench_recipe(
    recipe: Recipe,
    splits: Splits,
    seed: int,
    device: str,
    on_epoch: EpochHook | None = None,
) -> dict[str, Any]:
    """One JSON record: the recipe trained once with ``seed`` and scored on test."""
    record: dict[str, Any] = {"recipe": recipe.name, "title": recipe.title, "seed": seed}
    if recipe.model == "linear_regression":
        steps, lr = recipe.settings.max_epochs, recipe.settings.lr
        numpy_fit = fit_numpy(seed, lr, steps)
        torch_fit = fit_pytorch(seed, lr, steps)
        record.update(
            device="cpu",
            mse=numpy_fit.mse,
            mse_pytorch=torch_fit.mse,
            epochs=steps,
            seconds=numpy_fit.seconds + torch_fit.seconds,
            seconds_numpy=numpy_fit.seconds,
            seconds_pytorch=torch_fit.seconds,
            status="ok",
            **dict.fromkeys((*METRICS, "threshold")),
        )
    else:
        result = train(
            recipe.make_model, splits, recipe.settings, seed=seed, device=device, on_epoch=on_epoch
        )
        test = result.test
        record.update(
            device=result.device,
            status=result.status,
            epochs=result.epochs,
            best_epoch=result.best_epoch,
            seconds=result.seconds,
            **{m: getattr(test, m) if test else None for m in METRICS},
            threshold=test.threshold if test else None,
            val_auroc=result.valid.auroc if result.valid else None,
        )
    record["seconds_per_epoch"] = record["seconds"] / record["epochs"]
    record["lab"] = dict(recipe.lab)
    return record


def bench_models(
    recipes: list[Recipe],
    splits: Splits,
    seeds: list[int],
    device: str,
    on_start: StartHook | None = None,
    on_epoch: EpochHook | None = None,
) -> list[dict[str, Any]]:
    """Every recipe with every seed, in that order; each record tagged with both."""
    records = []
    for recipe in recipes:
        for seed in seeds:
            if on_start is not None:
                on_start(recipe, seed, recipe.settings.max_epochs)
            records.append(bench_recipe(recipe, splits, seed, device, on_epoch))
    return records
