"""The ``harness`` command: subcommands, argument parsing, exit codes.

Exit codes: 0 success, 2 bad input or unusable environment (one line on stderr), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.cli.options import (
    add_search_options,
    add_storage_option,
    add_worker_options,
    count,
    positive_int,
)
from harness.errors import HarnessError


def _console(stderr: bool = False) -> Console:
    # Piped output would be cut to 80 columns, truncating table cells: use a wide page then.
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=160)


console = _console()
err_console = _console(stderr=True)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", metavar="PATH",
        help="your own adult.data (plain or .gz; 15 columns, labels ' <=50K'/' >50K') "
             "instead of the packaged, checksum-verified copy",
    )  # fmt: skip
    parser.add_argument(
        "--variant", choices=["lab", "grouped"], default="lab",
        help="'lab' reproduces the lab's 108 features (default); 'grouped' applies the "
             "category merges the lab intended",
    )  # fmt: skip


def _add_device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto",
        help="where to train: 'auto' uses CUDA when present (default: auto)",
    )  # fmt: skip
    parser.add_argument(
        "--no-cuda-graph", dest="cuda_graph", action="store_false",
        help="on CUDA, run each training step eagerly instead of replaying it as a CUDA graph "
             "(the fast path; same losses within float tolerance)",
    )  # fmt: skip
    parser.add_argument(
        "--autograd", dest="hand_backward", action="store_false",
        help="on CPU, train plain MLPs with autograd and optimizer.step() instead of the "
             "hand-written backward (the fast path: about 2x per step for small models; same "
             "gradients and dropout masks)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Benchmark and hyperparameter-search harness for PyTorch MLPs on UCI Adult.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser(
        "data", help="show the splits: shapes, feature count, positive rate",
        description="Load, verify and preprocess Adult exactly as the lab, and describe the "
                    "splits.",
    )  # fmt: skip
    _add_data_options(data)
    data.add_argument("--json", action="store_true", help="print JSON instead of a table")

    bench = commands.add_parser(
        "bench", help="benchmarks: 'models' (the lab's models), 'devices' (CPU and GPU timings)"
    )
    bench_kinds = bench.add_subparsers(dest="bench_kind", required=True, metavar="KIND")
    models = bench_kinds.add_parser(
        "models", help="train the lab's fixed models and compare with its printed numbers",
        description="Train each recipe of the recipe file, score it on test at the threshold "
                    "chosen on validation, and print it beside the lab's numbers.",
    )  # fmt: skip
    models.add_argument(
        "--recipe", action="append", metavar="NAME",
        help="a recipe to run (repeatable; default: all recipes in the file)",
    )  # fmt: skip
    models.add_argument(
        "--recipes", metavar="FILE", default=None,
        help="recipe file (default: models/lab.toml of this project)",
    )  # fmt: skip
    models.add_argument(
        "--seeds",
        type=positive_int,
        default=1,
        metavar="K",
        help="train each recipe with seeds 0..K-1 (default: 1)",
    )
    models.add_argument("--json", metavar="PATH", help="also write the records as JSON here")
    _add_device_option(models)
    _add_data_options(models)
    _add_bench_devices_parser(bench_kinds)

    trial = commands.add_parser(
        "trial", help="one training run of the search task's MLP",
        description="Train the search task's MLP (N and N // 2 hidden units, Adam, shuffled "
                    "minibatches, early stopping) with the given hyperparameters.",
    )  # fmt: skip
    trial.add_argument(
        "--params", required=True, metavar="JSON",
        help='hyperparameters, e.g. \'{"hidden_size": 202, "lr": 0.00294, "batch_size": 32, '
             '"weight_decay": 1.74e-6, "dropout": 0.4}\'',
    )  # fmt: skip
    trial.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of model init, dropout and batch order (default: 0)",
    )
    trial.add_argument("--max-epochs", type=positive_int, default=300, help="(default: 300)")
    trial.add_argument("--patience", type=positive_int, default=10, help="(default: 10)")
    trial.add_argument("--json", action="store_true", help="print the record as JSON")
    _add_device_option(trial)
    _add_data_options(trial)
    _add_study_parser(commands)
    for module in _command_modules().values():
        module.add_parser(commands)
    return parser


def _shape(text: str) -> tuple[int, int]:
    """An argparse type: HIDDENxBATCH of the search MLP, e.g. 256x128."""
    hidden, _, batch = text.lower().partition("x")
    if not (hidden.isdigit() and batch.isdigit() and int(hidden) >= 2 and int(batch) >= 1):
        raise argparse.ArgumentTypeError(
            f"must be HIDDENxBATCH with hidden >= 2 and batch >= 1, e.g. 256x128, but got {text!r}"
        )
    return int(hidden), int(batch)


def _add_bench_devices_parser(bench_kinds) -> None:
    from harness.bench.devices import DEFAULT_JSON, DEFAULT_SHAPES, DEVICE_CHOICES

    shapes = " ".join(f"{h}x{b}" for h, b in DEFAULT_SHAPES)
    devices = bench_kinds.add_parser(
        "devices", help="seconds per epoch on CPU and each GPU, floor fraction, trials/minute",
        description="Time the lab's recipes and the search task's MLP at a few shapes on CPU "
                    "(1 thread and all cores) and on each visible GPU (CUDA graph, eager, and "
                    "for normalizing_mlp the lab's DataLoader path): seconds per epoch "
                    "(median after a warm-up epoch), samples per second, the GPU/CPU ratio and "
                    "the fraction of the floor (6 x parameters x rows at the device's measured "
                    "matmul rate); then study throughput, trials per minute of N workers "
                    "sharing a device. Takes minutes; progress is shown.",
    )  # fmt: skip
    what = devices.add_mutually_exclusive_group()
    what.add_argument(
        "--recipe",
        action="append",
        metavar="NAME",
        help="a recipe to time (repeatable; default: every network recipe)",
    )
    what.add_argument("--no-recipes", action="store_true", help="time no recipe")
    devices.add_argument(
        "--recipes",
        metavar="FILE",
        default=None,
        help="recipe file (default: models/lab.toml of this project)",
    )
    shape = devices.add_mutually_exclusive_group()
    shape.add_argument(
        "--shapes",
        nargs="+",
        type=_shape,
        metavar="HxB",
        help=f"search MLP shapes, hidden x batch (default: {shapes})",
    )
    shape.add_argument("--no-search", action="store_true", help="time no search MLP shape")
    devices.add_argument(
        "--device",
        choices=DEVICE_CHOICES,
        default="all",
        help="'cpu': cpu-1t and cpu; 'cuda': every visible GPU; 'all': both (default: all)",
    )
    devices.add_argument(
        "--epochs",
        type=count(2),
        default=3,
        help="epochs per workload, the first one warm-up (default: 3)",
    )
    devices.add_argument(
        "--rows",
        type=positive_int,
        default=None,
        metavar="N",
        help="train on the first N training rows (default: all 20,838)",
    )
    devices.add_argument(
        "--workers-per-gpu",
        nargs="+",
        type=positive_int,
        default=[1, 2, 4, 8],
        metavar="N",
        help="study throughput with N workers sharing the first "
        "GPU (default: 1 2 4 8; CPU: 1 and one per core)",
    )
    devices.add_argument(
        "--trials-per-worker",
        type=positive_int,
        default=3,
        metavar="K",
        help="trials each throughput worker runs (default: 3)",
    )
    devices.add_argument(
        "--trial-epochs",
        type=positive_int,
        default=5,
        metavar="E",
        help="epochs of each throughput trial (default: 5)",
    )
    devices.add_argument(
        "--no-throughput", action="store_true", help="skip the trials-per-minute measurement"
    )
    devices.add_argument(
        "--json",
        metavar="PATH",
        default=DEFAULT_JSON,
        help=f"where the records go (default: {DEFAULT_JSON}, which 'harness report' reads)",
    )
    _add_data_options(devices)


def _command_modules() -> dict[str, Any]:
    # Commands that live in their own modules: each has add_parser(subparsers) and main(args).
    from harness.cli import dashboard
    from harness.experiment import compare, lab_run
    from harness.report import write as report

    return {"compare": compare, "report": report, "dashboard": dashboard, "run": lab_run}


def _add_study_parser(commands) -> None:
    study = commands.add_parser(
        "study", help="run (or resume) an Optuna study of the search task",
        description="Run the lab's search task as an Optuna study: the driver asks and tells, "
                    "workers (Ray actors, or this process with --executor local) train. "
                    "Re-running the same command resumes until --trials trials have finished "
                    "(COMPLETE, or PRUNED with --pruner).",
    )  # fmt: skip
    study.add_argument("--name", required=True, help="study name in the storage")
    study.add_argument("--sampler", required=True, choices=["tpe", "random"])
    study.add_argument(
        "--trials",
        type=positive_int,
        default=30,
        help="finished trials to reach: COMPLETE, or PRUNED with a pruner (default: 30)",
    )
    study.add_argument(
        "--space",
        metavar="FILE",
        default=None,
        help="search space file (default: search_spaces/lab_mlp.toml)",
    )
    add_storage_option(study)
    study.add_argument(
        "--seed",
        type=int,
        default=0,
        help="sampler seed; trial training seeds derive from it (default: 0)",
    )
    add_search_options(study)
    add_worker_options(study)


def _splits(args: argparse.Namespace):
    from harness.lab.data import load_splits

    return load_splits(args.data, args.variant)


def cmd_data(args: argparse.Namespace) -> None:
    summary = _splits(args).summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    table = Table(title=f"Adult, variant {summary['variant']} ({summary['source']})")
    for column in ("split", "rows", "features", "positive rate"):
        table.add_column(column, justify="right" if column != "split" else "left")
    for name in ("train", "valid", "test"):
        rows, features = summary[name]
        rate = summary["positive_rate_by_split"][name]
        table.add_row(name, f"{rows:,}", str(features), f"{rate:.4f}")
    console.print(table)
    console.print(f"positive rate overall: {summary['positive_rate']:.4f}")


def _pct(value: float | None, lab: float | None = None) -> str:
    if value is None:
        return "-"
    text = f"{100 * value:.2f}"
    return f"{text} ({100 * lab:.2f})" if lab is not None else text


def cmd_bench_models(args: argparse.Namespace) -> None:
    from harness.bench.models import bench_models
    from harness.engine.train import resolve_device
    from harness.lab.recipes import DEFAULT_RECIPES, load_recipes, select
    from harness.numbers import json_safe

    device = str(resolve_device(args.device))
    recipes = select(load_recipes(args.recipes or DEFAULT_RECIPES), args.recipe)
    off = {name: False for name in ("cuda_graph", "hand_backward") if not getattr(args, name)}
    recipes = [replace(r, settings=replace(r.settings, **off)) for r in recipes]
    json_path = _writable(args.json) if args.json else None
    splits = _splits(args)
    seeds = list(range(args.seeds))
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("epochs"), TimeElapsedColumn(), console=err_console, transient=False,
    )  # fmt: skip
    task = progress.add_task("starting", total=1)

    def on_start(recipe, seed, total_epochs):
        progress.update(task, description=f"{recipe.name} seed {seed}", completed=0,
                        total=total_epochs)  # fmt: skip

    def on_epoch(epoch, record):
        progress.update(task, completed=epoch)

    with progress:
        records = bench_models(recipes, splits, seeds, device, on_start, on_epoch)
        progress.update(task, description="done", completed=progress.tasks[0].total)

    table = Table(title=f"Lab models on test (threshold from validation); device {device}; "
                        "lab's printed numbers in brackets")  # fmt: skip
    for column in ("recipe", "seed", "AUROC %", "F1 %", "precision %", "recall %",
                   "threshold", "epochs", "seconds", "s/epoch"):  # fmt: skip
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
        table.add_row(r["recipe"], str(r["seed"]), *cells, str(r["epochs"]),
                      f"{r['seconds']:.1f}", f"{r['seconds_per_epoch']:.4f}")  # fmt: skip
    console.print(table)
    total = sum(r["seconds"] for r in records)
    console.print(f"total training time: {total:.1f} s")
    if json_path is not None:
        json_path.write_text(json.dumps(json_safe(records), indent=2) + "\n")
        console.print(f"records written to {json_path}")


def cmd_bench_devices(args: argparse.Namespace) -> None:
    from harness.bench.devices import (
        DEFAULT_SHAPES,
        DeviceBenchConfig,
        list_devices,
        run_devices_bench,
    )
    from harness.bench.devices import select_recipes as select_network_recipes
    from harness.lab.recipes import DEFAULT_RECIPES, load_recipes
    from harness.numbers import json_safe

    recipes = [] if args.no_recipes else select_network_recipes(
        load_recipes(args.recipes or DEFAULT_RECIPES), args.recipe)  # fmt: skip
    shapes = () if args.no_search else tuple(args.shapes or DEFAULT_SHAPES)
    config = DeviceBenchConfig(
        recipes=tuple(recipes), shapes=shapes,
        device=args.device, epochs=args.epochs, rows=args.rows, throughput=not args.no_throughput,
        workers_per_gpu=tuple(dict.fromkeys(args.workers_per_gpu)),
        trials_per_worker=args.trials_per_worker, trial_epochs=args.trial_epochs,
        data=args.data, variant=args.variant,
    )  # fmt: skip
    list_devices(config.device)  # no CUDA for --device cuda: say so before anything runs
    json_path = _writable(args.json)
    splits = _splits(args)
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err_console, transient=False,
    )  # fmt: skip
    task = progress.add_task("starting", total=1)

    def on_progress(done: int, total: int, description: str) -> None:
        progress.update(task, description=description, completed=done, total=total)

    with progress:
        document = run_devices_bench(config, splits, on_progress)
    _print_devices(document)
    json_path.write_text(json.dumps(json_safe(document), indent=2) + "\n")
    console.print(f"records written to {json_path}")


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
    show("CUDA-graph fast path against eager and the lab's DataLoader path (same run)",
         tables.fast_path_rows(document))  # fmt: skip
    for line in tables.lab_path_lines(document):
        console.print(line, markup=False, highlight=False)
    show("Study throughput: trials per minute of N workers sharing a device",
         tables.throughput_rows(document))  # fmt: skip
    for line in tables.problem_lines(document):
        console.print(f"problem: {line}", markup=False, highlight=False)


def cmd_trial(args: argparse.Namespace) -> None:
    from harness.engine.train import resolve_device
    from harness.numbers import json_safe
    from harness.search.task import FixedSettings, run_trial, validate_params

    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as err:
        raise HarnessError(f"--params must be a JSON object, but it is not JSON ({err})") from None
    params = validate_params(params)
    device = str(resolve_device(args.device))
    fixed = FixedSettings(max_epochs=args.max_epochs, patience=args.patience,
                          cuda_graph=args.cuda_graph,
                          hand_backward=args.hand_backward)  # fmt: skip
    splits = _splits(args)
    with err_console.status("training…") as status:

        def on_epoch(epoch: int, record: dict[str, float]) -> None:
            status.update(f"epoch {epoch}/{fixed.max_epochs}: val loss {record['val_loss']:.4f}, "
                          f"val AUROC {record['val_auroc']:.4f}")  # fmt: skip

        record = run_trial(params, splits, seed=args.seed, device=device, fixed=fixed,
                           on_epoch=on_epoch)  # fmt: skip
    if args.json:
        print(json.dumps(json_safe(record), indent=2))
        return
    keys = (
        "status",
        "val_auroc",
        "val_loss",
        "test_auroc",
        "test_f1",
        "test_precision",
        "test_recall",
        "threshold",
        "epochs",
        "best_epoch",
        "seconds",
        "seconds_per_epoch",
    )
    table = Table(title=f"trial {json.dumps(params)} seed {args.seed} on {record['device']}")
    table.add_column("key")
    table.add_column("value", justify="right")
    for key in keys:
        value = record[key]
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)


def cmd_study(args: argparse.Namespace) -> None:
    from harness.search.spaces import DEFAULT_SPACE, load_space
    from harness.search.storage import DEFAULT_STORAGE, redact_url
    from harness.search.study import StudyConfig, run_study

    config = StudyConfig(
        name=args.name, sampler=args.sampler, trials=args.trials,
        space_path=args.space or DEFAULT_SPACE, storage=args.storage, seed=args.seed,
        objective=args.objective, pruner=args.pruner, executor=args.executor,
        cpu_workers=args.cpu_workers, gpu_workers=args.gpu_workers, address=args.address,
    )  # fmt: skip
    load_space(config.space_path)  # refuse a bad space before printing or creating anything
    url = redact_url(args.storage or DEFAULT_STORAGE)
    err_console.print(f"storage: {url}", markup=False, highlight=False)
    err_console.print(f"watch it live: harness dashboard --storage '{url}'", markup=False,
                      highlight=False)  # fmt: skip
    try:
        study = run_study(config)
    except KeyboardInterrupt:
        err_console.print(
            "interrupted: trials in flight were marked FAIL and will be retried; to resume, run "
            "the same command again", markup=False,
        )  # fmt: skip
        raise
    summarize_study(study)


def summarize_study(study) -> None:
    from optuna.trial import TrialState

    counts = {state.name: len(study.get_trials(deepcopy=False, states=(state,)))
              for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}  # fmt: skip
    best = study.best_trial
    console.print(
        f"study {study.study_name!r}: {counts['COMPLETE']} COMPLETE, {counts['PRUNED']} PRUNED, "
        f"{counts['FAIL']} FAIL; best {study.user_attrs.get('objective', 'value')} "
        f"{best.value:.4f} (trial #{best.number}, test AUROC "
        f"{best.user_attrs.get('test_auroc', float('nan')):.4f})",
        markup=False, highlight=False,
    )  # fmt: skip
    console.print(f"best params: {json.dumps(best.params)}", markup=False, highlight=False)


def _writable(path_text: str) -> Path:
    """Fail before any work when an output file cannot be written."""
    path = Path(path_text)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HarnessError(f"cannot write {path}: {err.strerror}") from None
    target = path if path.exists() else path.parent
    if path.is_dir() or not os.access(target, os.W_OK):
        raise HarnessError(f"cannot write {path}: not a writable file location")
    return path


def run(argv: list[str] | None = None) -> int:
    """Parse and dispatch; return the exit code (for tests and ``main``)."""
    args = build_parser().parse_args(argv)
    handlers: dict[Any, Any] = {
        "data": cmd_data,
        "trial": cmd_trial,
        "study": cmd_study,
        ("bench", "models"): cmd_bench_models,
        ("bench", "devices"): cmd_bench_devices,
    }
    handlers.update({name: module.main for name, module in _command_modules().items()})
    key = args.command if args.command != "bench" else ("bench", args.bench_kind)
    try:
        handlers[key](args)
    except HarnessError as err:
        err_console.print(f"harness: error: {err}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err_console.print("harness: interrupted", markup=False)
        return 130
    return 0


def main() -> None:
    sys.exit(run())
