"""The ``harness`` command: one subcommand per concern, one ``main()`` for exit codes."""

from harness.cli.app import main, run

__all__ = ["main", "run"]
