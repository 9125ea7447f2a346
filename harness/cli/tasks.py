"""``harness tasks``: the built-in tasks a study can search (``--task NAME``)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from rich.table import Table

from harness.cli.command import Command, console


class Tasks(Command):
    help = "list the built-in tasks: rows, features, kind, objective, direction"
    description = (
        "The tasks 'harness study/compare/run --task NAME' search: the lab's Adult and "
        "scikit-learn's bundled data sets (nothing is downloaded). Features are counted after "
        "encoding (one-hot categoricals). A task of your own is a TOML file with a [data] "
        "table (docs/tasks.md), given as --task FILE.toml."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def run(self, args: argparse.Namespace) -> None:
        from harness.tasks.registry import BUILTIN_TASKS, builtin_task, summarize

        rows = [summarize(builtin_task(name)) for name in BUILTIN_TASKS]
        if args.json:
            print(json.dumps([asdict(row) for row in rows], indent=2))
            return
        table = Table(title="built-in tasks")
        for column in ("task", "rows", "features", "kind", "objective", "direction"):
            table.add_column(column, justify="right" if column in ("rows", "features") else "left")
        for row in rows:
            table.add_row(
                row.name, f"{row.rows:,}", str(row.features), row.kind, row.objective, row.direction
            )
        console.print(table)
