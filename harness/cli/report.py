"""``harness report``: the markdown report of a run, with its figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.command import Command
from harness.cli.options import runs_dir_option, storage_options


class Report(Command):
    help = "markdown report of a run, with PNG figures"
    description = (
        "Write a GitHub-renderable markdown report of a run (the studies RUN/<sampler>/r<repeat> "
        "and runs/RUN/): the verdict with a Wilcoxon signed-rank test, best-so-far curves, "
        "honest test numbers, importances, the lab's models, timings (with the newest benchmark "
        "JSON in the --runs-dir's benchmarks/ folder) and the environment."
    )
    parents = (storage_options, runs_dir_option)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--name", required=True, metavar="RUN", help="name of the run")
        parser.add_argument(
            "--out",
            metavar="FILE",
            default=None,
            help="markdown file (default: reports/RUN.md); figures go to "
            "FILE's folder, in <stem>_figures/",
        )

    def run(self, args: argparse.Namespace) -> None:
        from harness.experiment.runs import check_run_name
        from harness.report.write import write_report
        from harness.search.storage import storage_url

        check_run_name(args.name)  # before a 300-character name becomes a file name
        out = Path(args.out) if args.out else Path("reports") / f"{args.name}.md"
        report = write_report(args.name, storage_url(args.storage), out, args.runs_dir)
        print(f"report written to {report.path}", file=sys.stderr)
