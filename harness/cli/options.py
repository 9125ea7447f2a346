"""Command-line options shared by several subcommands (one definition, one help text)."""

from __future__ import annotations

import argparse


def count(minimum: int):
    """An argparse type: an integer >= ``minimum``, with the rule in the error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, but got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, but got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


positive_int = count(1)
non_negative_int = count(0)


def add_storage_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage", metavar="URL", default=None,
        help="Optuna storage URL: sqlite:///file.db (default: sqlite:///runs/harness.db), "
             "postgresql://user:pass@host/db, mysql://..., or journal:///path/file.log",
    )  # fmt: skip


def add_worker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cpu-workers",
        type=non_negative_int,
        default=None,
        metavar="K",
        help="CPU workers (default: one per core when there is no GPU, else 0)",
    )
    parser.add_argument(
        "--gpu-workers",
        type=non_negative_int,
        default=None,
        metavar="K",
        help="GPU workers sharing the GPUs (default: 4 per GPU)",
    )
    parser.add_argument(
        "--address", default=None, help="join an existing Ray cluster (default: start a local Ray)"
    )
    parser.add_argument(
        "--executor",
        choices=["ray", "local"],
        default="ray",
        help="'local' runs trials one by one in this process (default: ray)",
    )


def add_search_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--objective", choices=["val_auroc", "val_loss"], default="val_auroc",
                        help="what the sampler optimises: val_auroc is maximised, val_loss "
                             "minimised (default: val_auroc)")  # fmt: skip
    parser.add_argument(
        "--pruner",
        choices=["none", "median", "hyperband"],
        default="none",
        help="stop unpromising trials early (default: none)",
    )
