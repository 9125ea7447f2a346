"""``harness data`` and ``harness trial``: the lab's data, and one run of its search task."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from harness.cli.command import Command, console, err_console
from harness.cli.options import data_options, device_options, positive_int
from harness.errors import HarnessError
from harness.search.config import FixedSettings, check_seed

# what 'harness trial' shows of a record, in this order
TRIAL_KEYS = (
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


def load_splits(args: argparse.Namespace) -> Any:
    """The splits that ``--data`` and ``--variant`` ask for."""
    from harness.lab.data import load_splits

    return load_splits(args.data, args.variant)


class Data(Command):
    help = "show the splits: shapes, feature count, positive rate"
    description = "Load, verify and preprocess Adult exactly as the lab, and describe the splits."
    parents = (data_options,)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def run(self, args: argparse.Namespace) -> None:
        summary = load_splits(args).summary()
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


class Trial(Command):
    help = "one training run of the search task's MLP"
    description = (
        "Train the search task's MLP (N and N // 2 hidden units, Adam, shuffled minibatches, "
        "early stopping) with the given hyperparameters."
    )
    parents = (device_options, data_options)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--params",
            required=True,
            metavar="JSON",
            help='hyperparameters, e.g. \'{"hidden_size": 202, "lr": 0.00294, "batch_size": 32, '
            '"weight_decay": 1.74e-6, "dropout": 0.4}\'',
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=0,
            help="seed of model init, dropout and batch order (default: 0)",
        )
        parser.add_argument(
            "--max-epochs",
            type=positive_int,
            default=FixedSettings.max_epochs,
            help=f"(default: {FixedSettings.max_epochs})",
        )
        parser.add_argument(
            "--patience",
            type=positive_int,
            default=FixedSettings.patience,
            help=f"(default: {FixedSettings.patience})",
        )
        parser.add_argument("--json", action="store_true", help="print the record as JSON")

    def run(self, args: argparse.Namespace) -> None:
        from harness.engine.train import resolve_device
        from harness.numbers import json_safe
        from harness.search.task import run_trial, validate_params

        check_seed(args.seed)
        try:
            params = json.loads(args.params)
        except json.JSONDecodeError as err:
            raise HarnessError(
                f"--params must be a JSON object, but it is not JSON ({err})"
            ) from None
        except RecursionError:  # '[[[[...': Python's parser recurses once per level
            raise HarnessError(
                "--params must be a JSON object of five numbers, but it nests deeper than "
                f"the JSON parser can follow ({len(args.params)} characters)"
            ) from None
        params = validate_params(params)
        device = str(resolve_device(args.device))
        fixed = FixedSettings(
            max_epochs=args.max_epochs,
            patience=args.patience,
            cuda_graph=args.cuda_graph,
            hand_backward=args.hand_backward,
        )
        splits = load_splits(args)
        rows = len(splits.x_train)
        if params["batch_size"] > rows:  # it would silently be the whole training set
            raise HarnessError(
                f"params: batch_size <= the training rows ({rows}) must hold, but "
                f"got {params['batch_size']}"
            )
        with err_console.status("training…") as status:

            def on_epoch(epoch: int, record: dict[str, float]) -> None:
                status.update(
                    f"epoch {epoch}/{fixed.max_epochs}: val loss "
                    f"{record['val_loss']:.4f}, val AUROC "
                    f"{record['val_auroc']:.4f}"
                )

            record = run_trial(
                params, splits, seed=args.seed, device=device, fixed=fixed, on_epoch=on_epoch
            )
        if args.json:
            print(json.dumps(json_safe(record), indent=2))
            return
        table = Table(title=f"trial {json.dumps(params)} seed {args.seed} on {record['device']}")
        table.add_column("key")
        table.add_column("value", justify="right")
        for key in TRIAL_KEYS:
            value = record[key]
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
        console.print(table)
