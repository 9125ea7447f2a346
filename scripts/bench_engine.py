"""Two CPU comparisons of the training engine, each one epoch, interleaved, medians compared.

1. The lab's RegularizedMLP: the harness engine versus the lab's DataLoader loop.

Same data (the full 20,838-row training split), same initial weights, same optimizer (SGD
lr 1e-3, weight decay 1e-4), unshuffled batches of 128, one shared training step:

- engine: the ``regularized_mlp`` recipe of ``models/lab.toml`` (its network and settings),
  the split as one resident tensor, each batch a slice (``harness.engine.train._batches``);
- lab: the network as the lab wrote it (``nn.Sequential`` of Linear, ReLU, ``nn.Dropout(0.5)``)
  fed by ``TensorDataset`` + ``DataLoader(batch_size=128, shuffle=False)``: one
  ``__getitem__`` per row and the default collate stacking 128 rows per batch.

2. The search task's MLP (Adam, dropout 0.3, pos_weight, shuffled) at a few (hidden, batch)
   shapes: the hand-written backward of ``harness.engine.mlp_step`` versus autograd +
   ``optimizer.step()``, from the same weights over the same batches.

Runs are interleaved (engine, lab, engine, lab, ...) so drift on a shared machine hits both
sides alike, and the medians are compared. Timings on a machine that is busy with other work
are meaningless (torch's CPU threads then wait on each other). Usage::

    python scripts/bench_engine.py [--repeats 5] [--threads N]

``tests/benchmarks/test_engine_speed.py`` and ``test_hand_backward.py`` import these
functions, so the tests and these tables measure the same thing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from harness.engine.mlp_step import MLPStep
from harness.engine.nets import search_mlp
from harness.engine.steps import make_optimizer
from harness.engine.train import _batches, train_epoch
from harness.lab.data import Splits, load_splits
from harness.lab.recipes import Recipe, load_recipes

RECIPE = "regularized_mlp"
BATCH_SIZE = 128  # the lab's minibatch size for RegularizedMLP
LR, WEIGHT_DECAY = 1e-3, 1e-4
SEARCH_SHAPES = ((32, 32), (256, 64), (1024, 256))  # (hidden, batch) of the search MLP


def recipe() -> Recipe:
    return load_recipes()[RECIPE]


def engine_model(n_features: int, seed: int = 0) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The harness's RegularizedMLP recipe: its network and optimizer, initialised from seed."""
    lab_recipe = recipe()
    settings = lab_recipe.settings
    torch.manual_seed(seed)
    model = lab_recipe.make_model(n_features)
    optimizer = make_optimizer(
        settings.optimizer,
        model.parameters(),
        settings.lr,
        settings.weight_decay,
        torch.device("cpu"),
    )
    return model, optimizer


def lab_model(n_features: int, seed: int = 0) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The lab's RegularizedMLP as the lab wrote it, and its SGD optimizer."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(n_features, 256),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, 1),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    return model, optimizer


def run_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
) -> float:
    """The training step both sides share (the engine's own); the epoch's mean loss."""
    return train_epoch(model, optimizer, nn.BCEWithLogitsLoss(), batches)


def train_tensors(splits: Splits) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(splits.x_train), torch.from_numpy(splits.y_train)


def engine_epoch(x: torch.Tensor, y: torch.Tensor) -> float:
    """One epoch of the recipe with the harness engine's batches: slices of resident tensors."""
    model, optimizer = engine_model(x.shape[1])
    batch_size = recipe().settings.batch_size
    return run_epoch(model, optimizer, _batches(x, y, batch_size, None))


def dataloader_epoch(x: torch.Tensor, y: torch.Tensor) -> float:
    """One epoch as the lab wrote it: TensorDataset + DataLoader, per-row getitem + collate."""
    model, optimizer = lab_model(x.shape[1])
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH_SIZE, shuffle=False)
    return run_epoch(model, optimizer, loader)


def search_epoch(x: torch.Tensor, y: torch.Tensor, hidden: int, batch: int, hand: bool) -> float:
    """One shuffled epoch of the search MLP (Adam lr 1e-3, weight decay 1e-4, dropout 0.3,
    pos_weight 3) with the hand-written backward or with autograd; the mean loss."""
    torch.manual_seed(0)
    model = search_mlp(x.shape[1], hidden, 0.3)
    optimizer = make_optimizer("adam", model.parameters(), LR, WEIGHT_DECAY, torch.device("cpu"))
    criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0]))
    step = MLPStep(model, optimizer, criterion) if hand else None
    batches = _batches(x, y, batch, torch.Generator().manual_seed(0))
    return train_epoch(model, optimizer, criterion, batches, step)


def interleaved_medians(sides: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each side, run in turn ``repeats`` times (after one warm-up each)."""
    for run in sides.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, run in sides.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def measure(splits: Splits, repeats: int) -> dict[str, float]:
    x, y = train_tensors(splits)
    medians = interleaved_medians(
        {"engine": lambda: engine_epoch(x, y), "dataloader": lambda: dataloader_epoch(x, y)},
        repeats,
    )
    return {**medians, "ratio": medians["dataloader"] / medians["engine"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per side")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's own)"
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    splits = load_splits()
    result = measure(splits, args.repeats)
    rows = splits.x_train.shape[0]
    print(
        f"RegularizedMLP, one epoch of {rows:,} rows in batches of {BATCH_SIZE} "
        f"(torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"median of {args.repeats} interleaved runs)"
    )
    print(f"{'loop':<28}{'s/epoch':>10}")
    print(f"{'harness engine (slices)':<28}{result['engine']:>10.4f}")
    print(f"{'lab DataLoader':<28}{result['dataloader']:>10.4f}")
    print(f"{'ratio (DataLoader/engine)':<28}{result['ratio']:>9.2f}x")
    print()
    print(f"Search MLP, one shuffled epoch of {rows:,} rows: hand-written backward vs autograd")
    print(f"{'hidden':>6}{'batch':>7}{'hand s':>10}{'autograd s':>12}{'ratio':>8}")
    x, y = train_tensors(splits)
    for hidden, batch in SEARCH_SHAPES:
        medians = interleaved_medians(
            {
                side: lambda h=hidden, b=batch, hand=(side == "hand"): search_epoch(
                    x, y, h, b, hand
                )
                for side in ("hand", "autograd")
            },
            args.repeats,
        )
        print(
            f"{hidden:>6}{batch:>7}{medians['hand']:>10.4f}{medians['autograd']:>12.4f}"
            f"{medians['autograd'] / medians['hand']:>7.2f}x"
        )


if __name__ == "__main__":
    main()
