"""``harness bench devices``: seconds per epoch of the lab's recipes and the search task's MLP
on CPU (one thread and all cores) and on each visible GPU, against the device's floor.

Each workload is trained for a few epochs with ``harness.engine.train.train`` (no early stopping);
the first epoch is warm-up (allocations, and on CUDA the graph capture) and is reported
apart, and seconds per epoch is the median of the others. An epoch's time includes the
per-epoch validation loss and AUROC, as in a real run.

The floor of an epoch is ``6 x trainable parameters x training rows`` floating-point
operations (forward 2, backward 4 per parameter and row) at the device's fp32
matrix-multiply rate, measured here at start. The fraction of the floor reached says how
much of an epoch is arithmetic and how much is overhead (Python, kernel launches, data).

On CUDA every workload runs twice: the training step replayed as a CUDA graph (the
harness's default) and eager on the same resident data; NormalizingMLP also runs the lab's
own GPU path (model 6: ``DataLoader(TensorDataset)`` batches moved with ``.to("cuda")``
each step), so the fast path's speed-up is measured in the same run on the same card.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from harness.bench.config import DeviceBenchConfig
from harness.bench.hardware import (
    Device,
    environment,
    list_devices,
    load_average,
    matmul_rate,
    on_device,
)
from harness.engine.metrics import epoch_auroc
from harness.engine.nets import search_mlp
from harness.engine.settings import TrainSettings
from harness.engine.steps import make_optimizer
from harness.engine.train import ResidentSplits, make_criterion, train, train_epoch
from harness.errors import HarnessError
from harness.lab.data import Splits
from harness.lab.recipes import Recipe

SEARCH_DROPOUT = 0.2  # any value in the search range; the arithmetic does not depend on it
SEARCH_LR = 1e-3
LAB_PATH_RECIPES = ("normalizing_mlp",)  # the lab's model 6 is model 5 moved to the GPU
FLOPS_PER_PARAM_ROW = 6  # forward 2 (multiply-add) + backward 4 (gradients of input and weight)

# hook(done, total, description): called before each measurement, and once at the end.
ProgressHook = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Workload:
    """A network and its training settings, timed on every device."""

    name: str
    family: str  # "recipe" or "search"
    make_model: Callable[[int], nn.Module]
    settings: TrainSettings
    recipe: Recipe | None = None
    hidden: tuple[int, ...] = ()

    @property
    def lab_path(self) -> bool:
        return self.recipe is not None and self.recipe.name in LAB_PATH_RECIPES


def network_recipes(recipes: dict[str, Recipe]) -> dict[str, Recipe]:
    """The recipes that train a network on Adult (linear regression is 100 NumPy points)."""
    return {name: r for name, r in recipes.items() if r.model != "linear_regression"}


def select_recipes(recipes: dict[str, Recipe], names: list[str] | None) -> list[Recipe]:
    """The named network recipes (all when ``names`` is empty), with the valid names listed
    when a name is unknown or not a network."""
    valid = network_recipes(recipes)
    if not names:
        return list(valid.values())
    for name in names:
        if name not in valid:
            why = (
                "is not a network (nothing to time on a device)"
                if name in recipes
                else "is unknown"
            )
            raise HarnessError(f"--recipe {name!r} {why}; valid recipes: {', '.join(valid)}")
    return [valid[name] for name in dict.fromkeys(names)]


def recipe_workload(recipe: Recipe) -> Workload:
    return Workload(
        recipe.name, "recipe", recipe.make_model, recipe.settings, recipe, recipe.hidden
    )


def search_workload(hidden_size: int, batch_size: int) -> Workload:
    """The search task's MLP (N, N // 2 hidden units) with Adam on shuffled minibatches."""
    # the engine's loop defaults are the search task's (Adam); epochs and patience are set per run
    settings = TrainSettings(lr=SEARCH_LR, batch_size=batch_size, shuffle=True)
    make = partial(search_mlp, hidden_size=hidden_size, dropout=SEARCH_DROPOUT)
    return Workload(
        f"search h{hidden_size} b{batch_size}",
        "search",
        make,
        settings,
        hidden=(hidden_size, max(1, hidden_size // 2)),
    )


def trainable_parameters(workload: Workload, n_features: int) -> int:
    model = workload.make_model(n_features)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def floor_seconds(parameters: int, rows: int, flops: float) -> float:
    """An epoch's arithmetic at the device's matrix-multiply rate: 6 x parameters x rows."""
    return FLOPS_PER_PARAM_ROW * parameters * rows / flops


def modes(workload: Workload, device: Device) -> list[str]:
    """CPU: the harness engine ("eager": its default CPU path, the hand-written MLP backward
    where it applies). CUDA: the graph fast path, eager, and the lab's path."""
    if device.kind == "cpu":
        return ["eager"]
    return ["graph", "eager", *(["lab"] if workload.lab_path else [])]


# ---------------------------------------------------------------- timing


def harness_epoch_seconds(
    workload: Workload,
    splits: Splits,
    resident: ResidentSplits,
    device: Device,
    epochs: int,
    cuda_graph: bool,
) -> tuple[list[float], str]:
    """Per-epoch seconds of ``train`` (no early stopping) and its status."""
    settings = dataclasses.replace(
        workload.settings, max_epochs=epochs, patience=None, cuda_graph=cuda_graph
    )
    result = train(
        workload.make_model, splits, settings, seed=0, device=device.train_device, resident=resident
    )
    return result.epoch_seconds, result.status


def lab_epoch_seconds(
    recipe: Recipe, splits: Splits, epochs: int, device: str = "cuda"
) -> list[float]:
    """The lab's GPU path (model 6): the recipe's network and optimizer on the current card,
    batches from ``DataLoader(TensorDataset)`` on CPU (per-row ``__getitem__`` + collate)
    moved with ``.to("cuda")`` each step, eager. Each epoch ends with the same validation
    loss and AUROC as ``train``'s, and reads the training loss once per epoch (a loop that
    prints it per block of steps, as the lab's did, syncs more often): if anything this
    favours the lab's path. (``device="cpu"`` runs the same loop on CPU, for tests.)"""
    cuda = torch.device(device)
    settings = recipe.settings
    torch.manual_seed(0)
    model = recipe.make_model(splits.n_features).to(cuda)
    optimizer = make_optimizer(
        settings.optimizer, model.parameters(), settings.lr, settings.weight_decay, cuda
    )
    criterion = make_criterion(settings.pos_weight, splits.y_train, cuda)
    dataset = TensorDataset(torch.from_numpy(splits.x_train), torch.from_numpy(splits.y_train))
    loader = DataLoader(dataset, batch_size=settings.batch_size or len(dataset), shuffle=False)
    x_valid = torch.from_numpy(splits.x_valid).to(cuda)
    y_valid = torch.from_numpy(splits.y_valid).to(cuda)
    y_valid_int = y_valid.long()  # moved once, as train() holds them resident
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        moved = ((xb.to(cuda), yb.to(cuda)) for xb, yb in loader)
        train_epoch(model, optimizer, criterion, moved)
        with torch.no_grad():
            logits = model.eval()(x_valid)
            float(criterion(logits, y_valid))
            epoch_auroc(y_valid_int, torch.sigmoid(logits))
        seconds.append(time.perf_counter() - started)
    return seconds


def summarize(epoch_seconds: list[float], rows: int, floor: float) -> dict[str, Any]:
    """First epoch apart; s/epoch the median of the rest; samples/s and floor fraction."""
    timed = epoch_seconds[1:] or epoch_seconds
    per_epoch = statistics.median(timed) if timed else float("nan")
    return {
        "epoch_seconds": epoch_seconds,
        "first_epoch_s": epoch_seconds[0] if epoch_seconds else None,
        "seconds_per_epoch": per_epoch,
        "samples_per_second": rows / per_epoch,
        "floor_seconds": floor,
        "floor_fraction": floor / per_epoch,
    }


def time_workload(
    workload: Workload,
    mode: str,
    splits: Splits,
    resident: ResidentSplits,
    device: Device,
    epochs: int,
    flops: float,
) -> dict[str, Any]:
    """One JSON record: a workload in one mode on one device (call inside ``on_device``)."""
    rows = splits.x_train.shape[0]
    parameters = trainable_parameters(workload, splits.n_features)
    record: dict[str, Any] = {
        "workload": workload.name,
        "family": workload.family,
        "device": device.name,
        "mode": mode,
        "hidden": list(workload.hidden),
        "batch_size": workload.settings.batch_size,
        "optimizer": workload.settings.optimizer,
        "parameters": parameters,
        "train_rows": rows,
        "epochs": epochs,
    }
    try:
        if mode == "lab":
            assert workload.recipe is not None
            seconds, status = lab_epoch_seconds(workload.recipe, splits, epochs), "ok"
        else:
            seconds, status = harness_epoch_seconds(
                workload, splits, resident, device, epochs, cuda_graph=mode == "graph"
            )
    except (RuntimeError, torch.cuda.OutOfMemoryError) as err:
        # One failing path (an unsupported graph capture, a card out of memory) must not lose
        # the minutes of measurements around it: record it and go on.
        lines = str(err).strip().splitlines()
        record.update(status=f"error: {lines[0][:200] if lines else type(err).__name__}")
        return record
    record.update(status=status, **summarize(seconds, rows, floor_seconds(parameters, rows, flops)))
    return record


def add_cpu_ratios(records: list[dict[str, Any]]) -> None:
    """``cpu_ratio``: the CPU's (all cores) s/epoch over this row's, for the same workload."""
    cpu = {
        r["workload"]: r.get("seconds_per_epoch")
        for r in records
        if r["device"] == "cpu" and r["mode"] == "eager"
    }
    for record in records:
        baseline, own = cpu.get(record["workload"]), record.get("seconds_per_epoch")
        record["cpu_ratio"] = baseline / own if baseline and own else None


# ---------------------------------------------------------------- the whole bench


def workloads_of(config: DeviceBenchConfig) -> list[Workload]:
    return [
        *map(recipe_workload, config.recipes),
        *(search_workload(h, b) for h, b in config.shapes),
    ]


def time_all(
    timings: list[tuple[Workload, Device, str]],
    splits: Splits,
    epochs: int,
    rates: dict[str, dict[str, float]],
    step: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Every (workload, device, mode) in order, each device's data moved there once."""
    residents = {}
    for device in dict.fromkeys(d for _, d, _ in timings):
        with on_device(device):
            residents[device.name] = ResidentSplits(splits, torch.device(device.train_device))
    records = []
    for workload, device, mode in timings:
        step(f"{device.name}: {workload.name} ({mode})")
        with on_device(device):
            records.append(
                time_workload(
                    workload,
                    mode,
                    splits,
                    residents[device.name],
                    device,
                    epochs,
                    rates[device.name]["flops"],
                )
            )
    add_cpu_ratios(records)
    return records


def run_devices_bench(
    config: DeviceBenchConfig, splits: Splits, on_progress: ProgressHook | None = None
) -> dict[str, Any]:
    """Measure everything ``config`` asks for; the JSON document ``harness bench devices``
    writes (environment, settings, devices with their matmul rates, records, throughput)."""
    from harness.bench.throughput import throughput_plan, throughput_runs

    if config.rows is not None:
        splits = splits.subset(config.rows)
    devices = list_devices(config.device)
    env = environment(devices)
    # Workload by workload (every device, then the next workload), so that drift on a shared
    # machine hits the devices compared in one row of the table alike.
    timings = [(w, d, m) for w in workloads_of(config) for d in devices for m in modes(w, d)]
    runs = throughput_plan(config, devices) if config.throughput else []
    total, done = len(devices) + len(timings) + len(runs), 0

    def step(description: str) -> None:
        nonlocal done
        if on_progress is not None:
            on_progress(done, total, description)
        done += 1

    rates = {}
    for device in devices:
        step(f"{device.name}: matrix-multiply rate")
        with on_device(device):
            rates[device.name] = matmul_rate(device)
    records = time_all(timings, splits, config.epochs, rates, step)
    throughput = throughput_runs(config, runs, step)
    if on_progress is not None:
        on_progress(total, total, "done")
    return {
        "kind": "harness bench devices",
        "environment": {**env, "load_average_at_end": load_average()},
        "settings": config.settings(),
        "devices": [{**dataclasses.asdict(d), "matmul": rates[d.name]} for d in devices],
        "records": records,
        "throughput": throughput,
    }
