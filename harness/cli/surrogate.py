"""``harness surrogate fit`` and ``show``: a cheap model of a task's objective from the trials
a storage already holds (harness/surrogate/)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.command import Command, console
from harness.cli.options import positive_float, runs_dir_option, storage_options

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

SURROGATE_HELP = "surrogates: 'fit' one from a run's trials, 'show' what one is and how good"


class SurrogateFit(Command):
    help = "fit a surrogate of a task's objective from a run's (or a study's) trials"
    description = (
        "Fit a regression model of the objective from every COMPLETE trial of the run's "
        "studies RUN/<sampler>/r<repeat> (or of one study), which must share one search space "
        "and objective: a random forest and gradient boosting (scikit-learn) compete by 5-fold "
        "cross-validation, the lower held-out RMSE wins; its held-out Spearman rho and RMSE are "
        "printed and stored. Also fitted: a model of each trial's training seconds, and the "
        "seed-to-seed noise, pooled from the run's retraining records (runs/RUN/retrain.json: "
        "one configuration, several seeds). Saved in DIR/surrogates/NAME/."
    )
    parents = (storage_options, runs_dir_option)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--name", required=True, metavar="S", help="the surrogate's name")
        parser.add_argument(
            "--from",
            dest="source",
            required=True,
            metavar="RUN_OR_STUDY",
            help="a run (all its studies) or one study's name",
        )
        parser.add_argument(
            "--noise-sd",
            type=positive_float,
            default=None,
            metavar="SD",
            help="the objective's seed-to-seed sd, where the run has no retraining records",
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="seed of the folds and the models (default: 0)"
        )

    def run(self, args: argparse.Namespace) -> None:
        from threadpoolctl import threadpool_limits

        from harness.experiment.surrogate_source import surrogate_source
        from harness.search.storage import storage_errors, storage_url
        from harness.surrogate.encoding import encoding_of
        from harness.surrogate.model import check_enough, fit
        from harness.surrogate.store import save, surrogate_dir

        folder = surrogate_dir(args.name, args.runs_dir)  # the name checked before any work
        url = storage_url(args.storage)
        with storage_errors(url):
            found = surrogate_source(url, args.source, args.runs_dir, args.noise_sd)
        trials = found.trials
        check_enough(len(trials))  # every refusal before the first line of progress
        encoding = encoding_of([t.distributions for t in trials])
        studies = len(found.studies)
        print(
            f"fitting on {len(trials)} trials of {studies} stud{'y' if studies == 1 else 'ies'}",
            file=sys.stderr,
        )
        # One thread: OpenMP's spinning workers slow small fits 20x on a busy 2-core machine.
        with threadpool_limits(1):
            surrogate = fit(
                encoding,
                [t.params for t in trials],
                [float(t.value) for t in trials],  # type: ignore[arg-type]
                [_seconds(t) for t in trials],
                objective=found.objective,
                direction=found.direction,
                noise=found.noise,
                seed=args.seed,
            )
        from harness.report.load import shown_storage

        # where its trials came from (password hidden, a file relative to here): a report of a
        # comparison on the surrogate compares it with the real run there
        sources = {**found.describe(), "storage": shown_storage(url)}
        save(surrogate, folder, sources, args.seed)
        show(surrogate_dir(args.name, args.runs_dir))


def _seconds(trial: FrozenTrial) -> float:
    """The trial's training seconds as the worker measured them, else its storage duration."""
    seconds = trial.user_attrs.get("seconds")
    if seconds is None and trial.duration is not None:
        seconds = trial.duration.total_seconds()
    return float(seconds or 0.0)


class SurrogateShow(Command):
    help = "what a surrogate is: its trials, its held-out accuracy, its noise"
    parents = (runs_dir_option,)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--name", required=True, metavar="S", help="the surrogate's name")

    def run(self, args: argparse.Namespace) -> None:
        from harness.surrogate.store import surrogate_dir

        show(surrogate_dir(args.name, args.runs_dir))


def show(folder: Path) -> None:
    from rich.table import Table

    from harness.surrogate.store import read_meta

    meta = read_meta(folder)
    table = Table(title=f"surrogate {folder.name}: {meta['objective']} ({meta['direction']})")
    for column in ("model", "held-out Spearman rho", "held-out RMSE", ""):
        table.add_column(column)
    for score in meta["scores"]:
        chosen = "chosen" if score["model"] == meta["chosen"] else ""
        table.add_row(score["model"], f"{score['rho']:.3f}", f"{score['rmse']:.3g}", chosen)
    seconds = meta["seconds_score"]
    table.add_row("seconds (log)", f"{seconds['rho']:.3f}", f"{seconds['rmse']:.3g}", "")
    console.print(table)
    noise, sources = meta["noise"], meta["sources"]
    print(
        f"{meta['trials']} trials of {len(sources['studies'])} studies "
        f"({'run ' + sources['run'] if sources['run'] else 'one study'}); noise sd "
        f"{noise['sd']:.3g} from {noise['configurations']} configurations x seeds "
        f"({noise['runs']} trainings; {noise['source']}); saved in {folder}"
    )
