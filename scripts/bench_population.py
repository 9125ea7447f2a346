"""Population mode against one trial per worker: model-epochs per second on one device.

For each (hidden, batch) shape and each population size K, K search-task trials (the same
shape, each its own seed, learning rate and dropout) train together for ``--epochs`` epochs
(patience = epochs: nobody stops early, so every row does the same work) with
``harness.engine.population.train_population``; the baseline is one trial alone through ``train()``
(the harness's fastest solo path: the hand-written backward on CPU, the CUDA-graph step on
CUDA). Both include the per-epoch validation loss and AUROC, and the first epoch (graph
capture, allocations), as a real trial does. ``model-epochs/s`` = K x epochs / wall seconds;
the speed-up is that over the solo rate. ``--mixed`` draws each member's hidden size from the
search space (16-1024, log-uniform) instead, to show what padding to the largest costs; the
solo rate is then that of the first 8 members each trained alone (epochs over summed seconds).
The hidden size in ``--shapes`` is ignored then (write 0).

    python scripts/bench_population.py --device cuda --k 1 8 32 64 --json runs/population.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import time
from datetime import UTC, datetime
from functools import partial

import torch

from harness.engine.nets import search_mlp
from harness.engine.population import Member, PopulationSettings
from harness.engine.population_training import train_population
from harness.engine.train import ResidentSplits, TrainSettings, resolve_device, train
from harness.lab.data import load_splits

LR_RANGE, DROPOUT = (3e-4, 3e-3), 0.2
FLAGS = {"weight_decay": 1e-5, "flush_denormal": False}  # set from the command line
SOLO_SAMPLE = 8  # --mixed: the solo rate is the mean over this many of the members, alone


def members(k: int, hidden: int, mixed: bool, seed0: int = 0) -> list[Member]:
    draw = random.Random(seed0 + k)
    out = []
    for i in range(k):
        size = round(math.exp(draw.uniform(math.log(16), math.log(1024)))) if mixed else hidden
        lr = math.exp(draw.uniform(*map(math.log, LR_RANGE)))
        out.append(Member(size, lr, FLAGS["weight_decay"], DROPOUT, seed0 + i))
    return out


def solo_rate(splits, resident, device: str, hidden: int, batch: int, epochs: int) -> float:
    settings = TrainSettings(
        optimizer="adam",
        lr=1e-3,
        weight_decay=FLAGS["weight_decay"],
        batch_size=batch,
        shuffle=True,
        max_epochs=epochs,
        patience=epochs,
        flush_denormal=FLAGS["flush_denormal"],
    )
    make = partial(search_mlp, hidden_size=hidden, dropout=DROPOUT)
    started = time.perf_counter()
    train(make, splits, settings, seed=0, device=device, resident=resident)
    _sync(device)
    return epochs / (time.perf_counter() - started)


def population_rate(
    splits, resident, device: str, group: list[Member], batch: int, epochs: int, graph: bool
) -> float:
    settings = PopulationSettings(
        batch_size=batch,
        max_epochs=epochs,
        patience=epochs,
        cuda_graph=graph,
        flush_denormal=FLAGS["flush_denormal"],
    )
    started = time.perf_counter()
    results = train_population(group, splits, settings, device=device, resident=resident)
    _sync(device)
    seconds = time.perf_counter() - started
    assert all(r.status == "ok" and r.epochs == epochs for r in results), "a member stopped"
    return len(group) * epochs / seconds


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--k", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument(
        "--shapes", nargs="+", default=["32x32", "256x128"], help="hidden x batch of the search MLP"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=None, help="first N training rows only")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--mixed", action="store_true", help="hidden sizes drawn per member")
    parser.add_argument("--json", default=None, help="write the records here")
    parser.add_argument(
        "--weight-decay", type=float, default=1e-5, help="every trial's (denormals grow with it)"
    )
    parser.add_argument(
        "--flush-denormal", action="store_true", help="[fixed] flush_denormal = true (CPU)"
    )
    args = parser.parse_args()
    FLAGS.update(weight_decay=args.weight_decay, flush_denormal=args.flush_denormal)
    torch.set_num_threads(args.threads)
    device = str(resolve_device(args.device))
    kind = "cuda" if device.startswith("cuda") else "cpu"
    splits = load_splits(train_rows=args.rows or None)
    resident = ResidentSplits(splits, torch.device(kind))
    name = torch.cuda.get_device_name(0) if kind == "cuda" else platform.processor() or "cpu"
    # warm-up: imports, CUDA context, cuBLAS handles (not timed)
    population_rate(splits, resident, kind, members(2, 32, False), 256, 1, graph=False)
    solo_rate(splits, resident, kind, 32, 256, 1)
    records = []
    print(
        f"device {name} ({kind}), torch {torch.__version__}, {args.epochs} epochs, "
        f"{resident.x_train.shape[0]} rows{', mixed hidden sizes' if args.mixed else ''}"
    )
    print(
        f"{'hidden':>6} {'batch':>5} {'K':>4} {'mode':>10} {'model-ep/s':>11} {'solo ep/s':>10}"
        f" {'speed-up':>8}"
    )
    modes = ["graph", "eager"] if kind == "cuda" else ["eager"]
    for shape in args.shapes:
        hidden, batch = (int(v) for v in shape.split("x"))
        if not args.mixed:
            solo = solo_rate(splits, resident, kind, hidden, batch, args.epochs)
        for k in args.k:
            group = members(k, hidden, args.mixed)
            if args.mixed:  # alone, each member trains at its own size: time a few of them
                sample = group[:SOLO_SAMPLE]
                seconds = [
                    1 / solo_rate(splits, resident, kind, m.hidden_size, batch, args.epochs)
                    for m in sample
                ]
                solo = len(seconds) / sum(seconds)
            for mode in modes:
                try:
                    rate = population_rate(
                        splits, resident, kind, group, batch, args.epochs, graph=mode == "graph"
                    )
                    status = "ok"
                except Exception as err:  # a row that fails is recorded, the others still run
                    rate, status = math.nan, f"error: {type(err).__name__}: {err}"[:300]
                sizes = [m.hidden_size for m in group] if args.mixed else hidden
                record = {
                    "hidden": sizes,
                    "batch": batch,
                    "k": k,
                    "mode": mode,
                    "mixed": args.mixed,
                    "model_epochs_per_s": rate,
                    "solo_epochs_per_s": solo,
                    "speedup": rate / solo,
                    "status": status,
                }
                records.append(record)
                print(
                    f"{hidden:>6} {batch:>5} {k:>4} {mode:>10} {rate:>11.2f} {solo:>10.2f} "
                    f"{rate / solo:>7.1f}x {'' if status == 'ok' else status}",
                    flush=True,
                )
    if args.json:
        meta = {
            "device": name,
            "kind": kind,
            "torch": torch.__version__,
            "epochs": args.epochs,
            "rows": int(resident.x_train.shape[0]),
            "threads": args.threads,
            "weight_decay": args.weight_decay,
            "flush_denormal": args.flush_denormal,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with open(args.json, "w") as handle:
            json.dump({"meta": meta, "records": records}, handle, indent=1)


if __name__ == "__main__":
    main()
