"""``harness bench models`` and ``harness bench devices``: the lab's fixed models against its
printed numbers, and seconds per epoch on each device."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.bench.config import DEFAULT_JSON, DEFAULT_SHAPES, DeviceBenchConfig
from harness.choices import BENCH_DEVICES
from harness.cli.command import Command, console, err_console
from harness.cli.lab import load_splits
from harness.cli.options import count, data_options, device_options, positive_int, shape
from harness.files import write_atomically
from harness.paths import writable_file

BENCH_HELP = "benchmarks: 'models' (the lab's models), 'devices' (CPU and GPU timings)"
RECIPES_HELP = "recipe file (default: models/lab.toml of this project)"


def _pct(value: float | None, lab: float | None = None) -> str:
    if value is None:
        return "-"
    text = f"{100 * value:.2f}"
    return f"{text} ({100 * lab:.2f})" if lab is not None else text


class BenchModels(Command):
    help = "train the lab's fixed models and compare with its printed numbers"
    description = (
        "Train each recipe of the recipe file, score it on test at the threshold chosen on "
        "validation, and print it beside the lab's numbers."
    )
    parents = (device_options, data_options)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--recipe",
            action="append",
            metavar="NAME",
            help="a recipe to run (repeatable; default: all recipes in the file)",
        )
        parser.add_argument("--recipes", metavar="FILE", default=None, help=RECIPES_HELP)
        parser.add_argument(
            "--seeds",
            type=positive_int,
            default=1,
            metavar="K",
            help="train each recipe with seeds 0..K-1 (default: 1)",
        )
        parser.add_argument("--json", metavar="PATH", help="also write the records as JSON here")

    def run(self, args: argparse.Namespace) -> None:
        from harness.bench.models import bench_models
        from harness.engine.train import resolve_device
        from harness.lab.recipes import DEFAULT_RECIPES, load_recipes, select
        from harness.numbers import json_safe

        device = str(resolve_device(args.device))
        recipes = select(load_recipes(args.recipes or DEFAULT_RECIPES), args.recipe)
        off: dict[str, Any] = {
            name: False for name in ("cuda_graph", "hand_backward") if not getattr(args, name)
        }
        recipes = [replace(r, settings=replace(r.settings, **off)) for r in recipes]
        json_path = writable_file(args.json) if args.json else None
        splits = load_splits(args)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("epochs"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        task = progress.add_task("starting", total=1)

        def on_start(recipe: Any, seed: int, total_epochs: int) -> None:
            progress.update(
                task, description=f"{recipe.name} seed {seed}", completed=0, total=total_epochs
            )

        def on_epoch(epoch: int, record: dict[str, float]) -> None:
            progress.update(task, completed=epoch)

        with progress:
            records = bench_models(
                recipes, splits, list(range(args.seeds)), device, on_start, on_epoch
            )
            progress.update(task, description="done", completed=progress.tasks[0].total)
        _print_models(records, device)
        if json_path is not None:
            write_atomically(json_path, json.dumps(json_safe(records), indent=2) + "\n")
            console.print(f"records written to {json_path}")


def _print_models(records: list[dict[str, Any]], device: str) -> None:
    table = Table(
        title=f"Lab models on test (threshold from validation); device {device}; "
        "lab's printed numbers in brackets"
    )
    for column in (
        "recipe",
        "seed",
        "AUROC %",
        "F1 %",
        "precision %",
        "recall %",
        "threshold",
        "epochs",
        "seconds",
        "s/epoch",
    ):
        table.add_column(column, justify="left" if column == "recipe" else "right")
    for r in records:
        lab = r["lab"]
        if r["recipe"] == "linear_regression":
            metric = f"MSE {r['mse']:.5f} / {r['mse_pytorch']:.5f} ({lab.get('mse', 0):.5f})"
            cells = [metric, "-", "-", "-", "-"]
        elif r["status"] != "ok":
            cells = [r["status"], "-", "-", "-", "-"]
        else:
            cells = [_pct(r[m], lab.get(m)) for m in ("auroc", "f1", "precision", "recall")]
            cells.append(f"{r['threshold']:.3f}")
        table.add_row(
            r["recipe"],
            str(r["seed"]),
            *cells,
            str(r["epochs"]),
            f"{r['seconds']:.1f}",
            f"{r['seconds_per_epoch']:.4f}",
        )
    console.print(table)
    total = sum(r["seconds"] for r in records)
    console.print(f"total training time: {total:.1f} s")


class BenchDevices(Command):
    help = "seconds per epoch on CPU and each GPU, floor fraction, trials/minute"
    description = (
        "Time the lab's recipes and the search task's MLP at a few shapes on CPU (1 thread and "
        "all cores) and on each visible GPU (CUDA graph, eager, and for normalizing_mlp the "
        "lab's DataLoader path): seconds per epoch (median after a warm-up epoch), samples per "
        "second, the GPU/CPU ratio and the fraction of the floor (6 x parameters x rows at the "
        "device's measured matmul rate); then study throughput, trials per minute of N workers "
        "sharing a device. Takes minutes; progress is shown."
    )
    parents = (data_options,)  # its --device chooses a set of devices: not device_options

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _workload_arguments(parser)
        _throughput_arguments(parser)
        parser.add_argument(
            "--json",
            metavar="PATH",
            default=DEFAULT_JSON,
            help=f"where the records go (default: {DEFAULT_JSON}, which 'harness report' reads)",
        )

    def run(self, args: argparse.Namespace) -> None:
        from harness.bench.devices import run_devices_bench
        from harness.bench.devices import select_recipes as select_network_recipes
        from harness.bench.hardware import list_devices
        from harness.lab.recipes import DEFAULT_RECIPES, load_recipes
        from harness.numbers import json_safe

        recipes = (
            []
            if args.no_recipes
            else select_network_recipes(load_recipes(args.recipes or DEFAULT_RECIPES), args.recipe)
        )
        shapes = () if args.no_search else tuple(args.shapes or DEFAULT_SHAPES)
        config = DeviceBenchConfig(
            recipes=tuple(recipes),
            shapes=shapes,
            device=args.device,
            epochs=args.epochs,
            rows=args.rows,
            throughput=not args.no_throughput,
            workers_per_gpu=tuple(dict.fromkeys(args.workers_per_gpu)),
            trials_per_worker=args.trials_per_worker,
            trial_epochs=args.trial_epochs,
            data=args.data,
            variant=args.variant,
        )
        list_devices(config.device)  # no CUDA for --device cuda: say so before anything runs
        json_path = writable_file(args.json)
        splits = load_splits(args)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        task = progress.add_task("starting", total=1)

        def on_progress(done: int, total: int, description: str) -> None:
            progress.update(task, description=description, completed=done, total=total)

        with progress:
            document = run_devices_bench(config, splits, on_progress)
        _print_devices(document)
        write_atomically(json_path, json.dumps(json_safe(document), indent=2) + "\n")
        console.print(f"records written to {json_path}")


def _workload_arguments(parser: argparse.ArgumentParser) -> None:
    """What is timed: the recipes, the search MLP's shapes, the devices, epochs and rows."""
    defaults = DeviceBenchConfig  # the dataclass's field defaults
    shapes = " ".join(f"{h}x{b}" for h, b in DEFAULT_SHAPES)
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--recipe",
        action="append",
        metavar="NAME",
        help="a recipe to time (repeatable; default: every network recipe)",
    )
    what.add_argument("--no-recipes", action="store_true", help="time no recipe")
    parser.add_argument("--recipes", metavar="FILE", default=None, help=RECIPES_HELP)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--shapes",
        nargs="+",
        type=shape,
        metavar="HxB",
        help=f"search MLP shapes, hidden x batch (default: {shapes})",
    )
    group.add_argument("--no-search", action="store_true", help="time no search MLP shape")
    parser.add_argument(
        "--device",
        choices=BENCH_DEVICES,
        default=defaults.device,
        help="'cpu': cpu-1t and cpu; 'cuda': every visible GPU; 'all': both (default: all)",
    )
    parser.add_argument(
        "--epochs",
        type=count(2),
        default=defaults.epochs,
        help=f"epochs per workload, the first one warm-up (default: {defaults.epochs})",
    )
    parser.add_argument(
        "--rows",
        type=positive_int,
        default=None,
        metavar="N",
        help="train on the first N training rows (default: all 20,838)",
    )


def _throughput_arguments(parser: argparse.ArgumentParser) -> None:
    """Study throughput: workers sharing a GPU, their trials and epochs."""
    defaults = DeviceBenchConfig  # the dataclass's field defaults
    parser.add_argument(
        "--workers-per-gpu",
        nargs="+",
        type=positive_int,
        default=list(defaults.workers_per_gpu),
        metavar="N",
        help="study throughput with N workers sharing the first GPU (default: "
        f"{' '.join(map(str, defaults.workers_per_gpu))}; CPU: 1 and one per core)",
    )
    parser.add_argument(
        "--trials-per-worker",
        type=positive_int,
        default=defaults.trials_per_worker,
        metavar="K",
        help=f"trials each throughput worker runs (default: {defaults.trials_per_worker})",
    )
    parser.add_argument(
        "--trial-epochs",
        type=positive_int,
        default=defaults.trial_epochs,
        metavar="E",
        help=f"epochs of each throughput trial (default: {defaults.trial_epochs})",
    )
    parser.add_argument(
        "--no-throughput", action="store_true", help="skip the trials-per-minute measurement"
    )


def _print_devices(document: dict[str, Any]) -> None:
    from harness.report import devices as tables

    def show(title: str, table: tuple[list[str], list[list[str]]]) -> None:
        header, rows = table
        if not rows:
            return
        shown = Table(title=title)
        for index, column in enumerate(header):
            shown.add_column(column, justify="left" if index < 2 else "right")
        for row in rows:
            shown.add_row(*row)
        console.print(shown)

    for line in [tables.environment_line(document), *tables.device_lines(document)]:
        console.print(line, markup=False, highlight=False)
    rows = document["records"][0]["train_rows"] if document["records"] else 0
    show(
        f"Seconds per epoch ({rows:,} training rows; median after a warm-up epoch; floor % = "
        "6 x parameters x rows at the matmul rate, over s/epoch)",
        tables.epoch_rows(document),
    )
    show(
        "CUDA-graph fast path against eager and the lab's DataLoader path (same run)",
        tables.fast_path_rows(document),
    )
    for line in tables.lab_path_lines(document):
        console.print(line, markup=False, highlight=False)
    show(
        "Study throughput: trials per minute of N workers sharing a device",
        tables.throughput_rows(document),
    )
    for line in tables.problem_lines(document):
        console.print(f"problem: {line}", markup=False, highlight=False)
