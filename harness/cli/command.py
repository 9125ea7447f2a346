"""What every subcommand is: ``add_arguments`` declares its options, ``run`` does the work.

A command imports torch, pandas, Ray or Optuna inside ``run`` only, so that building the parser
(``harness --help``, a typo in an option) stays instant.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import ClassVar

from rich.console import Console


def _console(stderr: bool = False) -> Console:
    # Piped output would be cut to 80 columns, truncating table cells: use a wide page then.
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=160)


console = _console()  # results: tables, the report's path
err_console = _console(stderr=True)  # progress and messages, so that stdout stays parseable


class Command:
    """One subcommand of ``harness``; registered by name in ``harness.cli.app.COMMANDS``."""

    help: ClassVar[str]  # one line in ``harness --help``
    description: ClassVar[str | None] = None  # the paragraph of ``harness NAME --help``
    # shared options, as parent parsers (harness.cli.options); they are listed first
    parents: ClassVar[tuple[Callable[[], argparse.ArgumentParser], ...]] = ()
    # SIGTERM taken like Ctrl-C (clean-up, then exit 143), with this line's hint on stderr;
    # False: SIGTERM keeps its usual behaviour
    stops_on_sigterm: ClassVar[bool] = False
    resume_hint: ClassVar[str] = ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare this command's own options."""

    def run(self, args: argparse.Namespace) -> None:
        """Do the work; raise HarnessError for bad input or an unusable environment."""
        raise NotImplementedError
