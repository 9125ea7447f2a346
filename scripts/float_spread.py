"""How far two float paths of the engine drift apart, under each CPU kernel set.

The tests compare paths that do the same arithmetic in another order: the hand-written
backward against autograd (``engine/mlp_step.py``), a population member against its solo run
(``engine/population.py``). Their first steps agree to float rounding; over epochs of
shuffled, dropout training a last-bit difference grows (a ReLU flips, Adam divides by a tiny
second moment), and how far depends on the kernels the CPU runs. This script measures that
spread, so that the tolerances of longer comparisons are derived from numbers, not guessed:

- within one kernel set: hand against autograd, population member against solo, per epoch;
- across kernel sets: the same path under another ``ATEN_CPU_CAPABILITY`` (ATen's vectorised
  kernels: avx512, avx2, default) or another ``MKL_ENABLE_INSTRUCTIONS`` (MKL's matrix
  products), which is what another x86-64 CPU changes.

Each kernel set runs in a subprocess (the variables are read when torch loads). Usage::

    python scripts/float_spread.py [--seeds 10]

It prints, per comparison and epoch, the largest relative difference of the validation loss
and the largest absolute difference of the validation AUROC over the seeds, and whether the
early-stop epoch and the kept epoch agreed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import replace
from functools import partial
from typing import Any

# (name, environment): the kernel sets another x86-64 CPU could select
KERNEL_SETS: dict[str, dict[str, str]] = {
    "native": {},
    "aten-avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},
    "mkl-avx2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "default+mkl-sse4": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
}
TINY_ROWS, POPULATION_ROWS = 2000, 600  # tests/conftest.py and tests/test_population.py


def _history(result: Any) -> dict[str, Any]:
    return {
        "val_loss": [h["val_loss"] for h in result.history],
        "val_auroc": [h["val_auroc"] for h in result.history],
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "test_auroc": result.test.auroc if result.test is not None else None,
        "threshold": result.valid.threshold if result.valid is not None else None,
        "val_f1": result.valid.f1 if result.valid is not None else None,
    }


def measure(seeds: int) -> dict[str, Any]:
    """Every path's histories under this process's kernel set."""
    import torch

    from harness.engine.nets import search_mlp
    from harness.engine.population import Member, PopulationSettings
    from harness.engine.population_training import train_population
    from harness.engine.train import TrainSettings, train
    from harness.lab.data import load_splits

    torch.set_num_threads(1)
    splits = load_splits()
    tiny, small = splits.subset(TINY_ROWS), splits.subset(POPULATION_ROWS)
    # tests/test_mlp_step.py::test_train_follows_the_autograd_path
    settings = TrainSettings(
        optimizer="adam",
        lr=3e-3,
        weight_decay=1e-4,
        batch_size=96,
        shuffle=True,
        max_epochs=8,
        patience=3,
        pos_weight=True,
    )
    make = partial(search_mlp, hidden_size=40, dropout=0.3)
    out: dict[str, Any] = {"cpu": torch.backends.cpu.get_cpu_capability()}
    for hand in (True, False):
        path = "hand" if hand else "autograd"
        run = replace(settings, hand_backward=hand)
        out[path] = [
            _history(train(make, tiny, run, seed=seed, device="cpu")) for seed in range(seeds)
        ]
    # tests/test_population.py: MIXED members, early stops at batch 32, patience 1
    members = [
        Member(32, 1e-3, 0.0, 0.0, 1),
        Member(64, 3e-3, 1e-4, 0.3, 2),
        Member(16, 1e-2, 1e-5, 0.5, 3),
        Member(17, 3e-4, 1e-3, 0.1, 4),
    ]
    population = PopulationSettings(batch_size=32, max_epochs=12, patience=1)
    out["population"] = [
        _history(r) for r in train_population(members, small, population, device="cpu")
    ]
    solo = []
    for member in members:
        run = TrainSettings(
            optimizer="adam",
            lr=member.lr,
            weight_decay=member.weight_decay,
            batch_size=32,
            shuffle=True,
            max_epochs=12,
            patience=1,
        )
        make_member = partial(search_mlp, hidden_size=member.hidden_size, dropout=member.dropout)
        solo.append(_history(train(make_member, small, run, seed=member.seed, device="cpu")))
    out["solo"] = solo
    return out


def _spread(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[str]:
    """Per epoch, the largest relative validation-loss and absolute AUROC difference."""
    lines, epochs = [], max(len(r["val_loss"]) for r in a + b)
    for epoch in range(epochs):
        rel, auroc = 0.0, 0.0
        for x, y in zip(a, b, strict=True):
            if epoch < min(len(x["val_loss"]), len(y["val_loss"])):
                lx, ly = x["val_loss"][epoch], y["val_loss"][epoch]
                rel = max(rel, abs(lx - ly) / abs(ly))
                auroc = max(auroc, abs(x["val_auroc"][epoch] - y["val_auroc"][epoch]))
        lines.append(f"    epoch {epoch + 1:2d}: val_loss rel {rel:.1e}, val_auroc abs {auroc:.1e}")
    same_stop = sum(
        (x["epochs"], x["best_epoch"]) == (y["epochs"], y["best_epoch"])
        for x, y in zip(a, b, strict=True)
    )
    scored = [(x, y) for x, y in zip(a, b, strict=True) if x["test_auroc"] and y["test_auroc"]]
    tests = [abs(x["test_auroc"] - y["test_auroc"]) for x, y in scored]
    thresholds = [abs(x["threshold"] - y["threshold"]) for x, y in scored]
    f1s = [abs(x["val_f1"] - y["val_f1"]) for x, y in scored]
    lines.append(
        f"    same stop and kept epoch: {same_stop}/{len(a)}; at the kept epoch, test AUROC "
        f"abs at most {max(tests, default=0.0):.1e}, F1-optimal threshold "
        f"{max(thresholds, default=0.0):.1e}, validation F1 there {max(f1s, default=0.0):.1e}"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="training seeds per path")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        json.dump(measure(args.seeds), sys.stdout)
        return
    runs = {}
    for name, env in KERNEL_SETS.items():
        command = [sys.executable, __file__, "--measure", "--seeds", str(args.seeds)]
        child = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY",)}
        done = subprocess.run(
            command, env={**child, **env}, check=True, capture_output=True, text=True
        )
        runs[name] = json.loads(done.stdout)
        print(f"{name}: torch reports {runs[name]['cpu']}", flush=True)
    for name, run in runs.items():
        print(f"{name}: hand-written backward against autograd")
        print("\n".join(_spread(run["hand"], run["autograd"])))
        print(f"{name}: population members against their solo runs")
        print("\n".join(_spread(run["population"], run["solo"])))
    native = runs["native"]
    for name, run in runs.items():
        if name != "native":
            print(f"hand-written backward, {name} against native")
            print("\n".join(_spread(run["hand"], native["hand"])))


if __name__ == "__main__":
    main()
