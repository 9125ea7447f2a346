"""Study overhead and scaling: the same enqueued trials through each executor.

Prints, for the same N enqueued configurations on the full training split:
- wall time of the trial loop (first trial start to last trial end, from the storage) for
  `--executor local`, Ray with 1 CPU worker, and Ray with 2 CPU workers;
- Ray's overhead per trial against local (target: under 5% of trial time);
- the speed-up of 2 CPU workers over 1 (target: >= 1.7x on 2 cores).
Start-up (Ray and the workers loading the data) is shown apart: it is paid once per run.

Usage: python scripts/bench_study.py [--trials 8] [--epochs 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import optuna
import torch
from optuna.trial import TrialState
from rich.console import Console
from rich.table import Table

from harness.search.config import StudyConfig
from harness.search.driver import open_study
from harness.search.study import run_study

SPACE = """
[params.hidden_size]
type = "int"
low = 64
high = 256
[params.lr]
type = "float"
low = 1e-4
high = 1e-2
log = true
[params]
batch_size = 128
dropout = 0.2
weight_decay = 1e-5
[fixed]
max_epochs = {epochs}
patience = {epochs}
"""


def configurations(n: int) -> list[dict]:
    return [
        {"hidden_size": 64 + (i * 37) % 192, "lr": 10 ** (-4 + 2 * i / max(1, n - 1))}
        for i in range(n)
    ]


def measure(folder: Path, label: str, executor: str, workers: int, n: int) -> dict:
    storage = f"sqlite:///{folder / 'bench.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = StudyConfig(
        name=label,
        sampler="random",
        trials=n,
        space_path=folder / "space.toml",
        storage=storage,
        executor=executor,
        cpu_workers=workers,
        show_progress=False,
    )
    # The harness creates the study (with the attributes a resume checks), then the same
    # configurations are enqueued, so every executor trains exactly these trials.
    driver = open_study(config)
    driver.release()  # run_study below opens it again as its driver
    study = driver.study
    for params in configurations(n):
        study.enqueue_trial(params)
    started = time.perf_counter()
    study = run_study(config)
    total = time.perf_counter() - started
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    first = min(t.datetime_start for t in trials)
    last = max(t.datetime_complete for t in trials)
    loop = (last - first).total_seconds()
    return {
        "label": label,
        "total": total,
        "loop": loop,
        "startup": total - loop,
        "train": sum(t.user_attrs["seconds"] for t in trials),
        "n": len(trials),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)  # local trials get one thread, as each Ray CPU worker does
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "space.toml").write_text(SPACE.format(epochs=args.epochs))
        rows = [
            measure(folder, "local", "local", 1, args.trials),
            measure(folder, "ray-1", "ray", 1, args.trials),
            measure(folder, "ray-2", "ray", 2, args.trials),
        ]
    by = {r["label"]: r for r in rows}
    table = Table(title=f"{args.trials} enqueued trials, {args.epochs} epochs each, full data")
    for column in ("executor", "start-up s", "trial loop s", "training s (sum)", "s / trial"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            r["label"],
            f"{r['startup']:.1f}",
            f"{r['loop']:.1f}",
            f"{r['train']:.1f}",
            f"{r['loop'] / r['n']:.2f}",
        )
    console = Console()
    console.print(table)
    per_trial_local = by["local"]["loop"] / args.trials
    overhead = (by["ray-1"]["loop"] - by["local"]["loop"]) / args.trials
    speedup = by["ray-1"]["loop"] / by["ray-2"]["loop"]
    console.print(
        f"Ray overhead per trial vs local: {overhead:+.3f} s = "
        f"{100 * overhead / per_trial_local:+.1f}% of a trial (target < 5%)"
    )
    console.print(f"speed-up of 2 CPU workers over 1: {speedup:.2f}x (target >= 1.7x)")


if __name__ == "__main__":
    main()
