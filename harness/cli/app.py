"""The ``harness`` command: one registry of subcommands, one parser, one place for exit codes.

Exit codes: 0 success, 2 bad input or unusable environment (one line on stderr), 130 Ctrl-C,
143 SIGTERM (taken like Ctrl-C by the commands that run studies: trials in flight are marked
FAIL, Ray is shut down).
To add a command, write a ``Command`` (harness/cli/command.py) and register it in COMMANDS.
"""

from __future__ import annotations

import argparse
import sys

from harness.cli.bench import BENCH_HELP, BenchDevices, BenchModels
from harness.cli.command import Command, err_console
from harness.cli.dashboard import Dashboard
from harness.cli.lab import Data, Trial
from harness.cli.report import Report
from harness.cli.studies import Compare, Run, Study
from harness.cli.surrogate import SURROGATE_HELP, SurrogateFit, SurrogateShow
from harness.cli.tasks import Tasks
from harness.errors import HarnessError
from harness.redaction import redact_text
from harness.search.interrupts import Terminated, sigterm_as_interrupt

# name -> command, in the order of `harness --help`; "GROUP NAME" is a nested command
COMMANDS: dict[str, type[Command]] = {
    "data": Data,
    "bench models": BenchModels,
    "bench devices": BenchDevices,
    "trial": Trial,
    "tasks": Tasks,
    "study": Study,
    "compare": Compare,
    "report": Report,
    "dashboard": Dashboard,
    "surrogate fit": SurrogateFit,
    "surrogate show": SurrogateShow,
    "run": Run,
}
# help of each group of nested commands
GROUPS = {"bench": BENCH_HELP, "surrogate": SURROGATE_HELP}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Benchmark and hyperparameter-search harness for PyTorch MLPs on UCI Adult.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for key, command_type in COMMANDS.items():
        group, _, name = key.rpartition(" ")
        target = commands
        if group:
            if group not in groups:
                group_parser = commands.add_parser(group, help=GROUPS[group])
                groups[group] = group_parser.add_subparsers(
                    dest=f"{group}_kind", required=True, metavar="KIND"
                )
            target = groups[group]
        command = command_type()
        subparser = target.add_parser(
            name,
            help=command.help,
            description=command.description,
            parents=[make() for make in command.parents],
        )
        command.add_arguments(subparser)
        subparser.set_defaults(handler=command.run)
    return parser


def run(argv: list[str] | None = None) -> int:
    """Parse and dispatch; return the exit code (for tests and ``main``)."""
    args = build_parser().parse_args(argv)
    command = args.handler.__self__
    try:
        with sigterm_as_interrupt(enabled=command.stops_on_sigterm):
            args.handler(args)
    except HarnessError as err:
        # every message is built with the storage password masked; this catches a URL that
        # reached one unmasked (from a library's text)
        message = redact_text(str(err))
        err_console.print(
            f"harness: error: {message}", markup=False, highlight=False, soft_wrap=True
        )
        return 2
    except Terminated:
        err_console.print(
            f"harness: terminated by SIGTERM; {command.resume_hint}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 143
    except KeyboardInterrupt:
        err_console.print("harness: interrupted", markup=False)
        return 130
    return 0


def main() -> None:
    sys.exit(run())
