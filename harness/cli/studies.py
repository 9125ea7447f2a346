"""``harness study``, ``harness compare`` and ``harness run``: studies of the search task,
paired comparisons of samplers, and the whole lab in one resumable command."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from harness.choices import DEFAULT_SAMPLERS
from harness.cli.command import Command, err_console
from harness.cli.options import (
    SAMPLER_HELP,
    SPACE_HELP,
    comparison_options,
    device_option,
    non_negative_int,
    pool_options,
    positive_int,
    runs_dir_option,
    search_options,
    storage_options,
    surrogate_trust_option,
    task_option,
    worker_options,
)
from harness.cli.settings import (
    check_surrogate_trust,
    design_settings,
    study_settings,
    time_budget_s,
)
from harness.cli.study_summary import summarize_study
from harness.errors import HarnessError
from harness.experiment.config import PRESETS, STUDY_TEMPLATE, CompareConfig
from harness.experiment.verdict import Plan
from harness.search.config import StudyConfig
from harness.search.interrupts import Terminated

if TYPE_CHECKING:
    from harness.experiment.lab_run import WrittenReport

RESUME_HINT = (
    "trials in flight were marked FAIL and will be retried; to resume, run the same command again"
)


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def report_and_verdict(name: str, url: str, out: Path) -> WrittenReport:
    """The report of run ``name`` and its verdict's first sentence (write_report gives both)."""
    from harness.experiment.lab_run import WrittenReport
    from harness.report.write import write_report as write

    report = write(name, url, out)
    return WrittenReport(report.path, report.verdict)


class Study(Command):
    help = "run (or resume) an Optuna study of the search task"
    description = (
        "Run the lab's search task as an Optuna study: the driver asks and tells, workers (Ray "
        "actors, or this process with --executor local) train. Re-running the same command "
        "resumes until --trials trials have finished (COMPLETE, or PRUNED with --pruner)."
    )
    parents = (task_option, storage_options, search_options, pool_options, runs_dir_option)
    stops_on_sigterm = True
    resume_hint = RESUME_HINT

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--name", required=True, help="study name in the storage")
        parser.add_argument("--sampler", required=True, metavar="SAMPLER", help=SAMPLER_HELP)
        parser.add_argument(
            "--trials",
            type=positive_int,
            default=StudyConfig.trials,
            help="finished trials to reach: COMPLETE, or PRUNED with a pruner "
            f"(default: {StudyConfig.trials})",
        )
        parser.add_argument("--space", metavar="FILE", default=None, help=SPACE_HELP)
        parser.add_argument(
            "--seed",
            type=int,
            default=StudyConfig.seed,
            help=f"sampler seed; trial training seeds derive from it (default: {StudyConfig.seed})",
        )

    def run(self, args: argparse.Namespace) -> None:
        config = StudyConfig(
            name=args.name,
            sampler=args.sampler,
            trials=args.trials,
            space_path=args.space,
            seed=args.seed,
            **study_settings(args),
        )
        from harness.search.ray_setup import check_ray

        check_ray(config)  # in seconds, before importing torch or opening any storage
        from harness.search.storage import redact_url, storage_errors, storage_url
        from harness.search.study import run_study
        from harness.search.task_space import load_task_space, resolve_objective

        # a bad space or task (its data checked) is refused before anything is printed or made
        resolve_objective(config, load_task_space(config.task, config.space_path, config.runs_root))
        url = storage_url(config.storage)
        shown = redact_url(url)
        err_console.print(f"storage: {shown}", markup=False, highlight=False)
        err_console.print(
            f"watch it live: harness dashboard --storage '{shown}'", markup=False, highlight=False
        )
        with storage_errors(url):
            try:
                study = run_study(config)
            except KeyboardInterrupt as err:
                if not isinstance(err, Terminated):  # SIGTERM: main() prints the one line
                    err_console.print(f"interrupted: {self.resume_hint}", markup=False)
                raise
            summarize_study(study)


class Compare(Command):
    help = "paired repeats of samplers until the pre-declared verdict is decided"
    description = (
        "Run paired repeats (repeat r seeds every sampler with r) as studies RUN/<sampler>/r<r> "
        "and retrain each study's best configuration with K seeds; the primary outcome is the "
        "paired difference in their test AUROC. Pairs are added until a look of the design "
        "decides the verdict (better, or equivalent within --margin), the design ends, or "
        "--time-budget runs out; --repeats R runs R pairs and looks once. Resumable. The "
        "lab's fixed models and a gradient-boosting reference are trained too, all cached "
        "under runs/RUN/ for 'harness report'."
    )
    parents = (
        task_option,
        storage_options,
        search_options,
        pool_options,
        comparison_options,
        device_option,
        runs_dir_option,
        surrogate_trust_option,
    )
    stops_on_sigterm = True
    resume_hint = RESUME_HINT

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        defaults = CompareConfig  # the dataclass's field defaults
        parser.add_argument("--name", required=True, metavar="RUN", help="name of the run")
        parser.add_argument(
            "--trials",
            type=positive_int,
            default=StudyConfig.trials,
            help=f"finished (COMPLETE or PRUNED) trials per study (default: {StudyConfig.trials})",
        )
        parser.add_argument(
            "--repeats",
            type=positive_int,
            default=None,
            help="a fixed design: this many pairs, judged once (default: the "
            "sequential design of --looks)",
        )
        parser.add_argument(
            "--samplers",
            nargs="+",
            metavar="SAMPLER",
            default=list(defaults.samplers),
            help="one or more samplers to compare, each "
            + SAMPLER_HELP
            + "; with three or more the report ranks them (default: "
            f"{' '.join(DEFAULT_SAMPLERS)})",
        )
        parser.add_argument("--space", metavar="FILE", default=None, help=SPACE_HELP)
        parser.add_argument(
            "--tasks",
            nargs="+",
            metavar="TASK",
            default=None,
            help="several tasks in one run, each as --task: every (task, sampler, repeat) "
            "study, named RUN/<task>/<sampler>/r<repeat>, on one pool; needs --repeats (one task "
            "given here is the same as --task)",
        )
        parser.add_argument(
            "--retrain-seeds",
            type=positive_int,
            default=defaults.retrain_seeds,
            metavar="K",
            help=f"training seeds for each best configuration (default: {defaults.retrain_seeds})",
        )
        parser.add_argument(
            "--bench-seeds",
            type=non_negative_int,
            default=defaults.bench_seeds,
            metavar="K",
            help=f"seeds of the lab's fixed models; 0 skips them (default: {defaults.bench_seeds})",
        )
        parser.add_argument(
            "--reference-seeds",
            type=non_negative_int,
            default=defaults.reference_seeds,
            metavar="K",
            help="seeds of the gradient-boosting reference; 0 skips it "
            f"(default: {defaults.reference_seeds})",
        )

    def run(self, args: argparse.Namespace) -> None:
        if args.tasks and len(args.tasks) == 1 and args.task is None:
            args.task, args.tasks = args.tasks[0], None  # one task: a run of one task, --task
        study = replace(
            STUDY_TEMPLATE,
            trials=args.trials,
            space_path=args.space,
            **study_settings(args),
        )
        config = CompareConfig(
            run=args.name,
            study=study,
            **design_settings(args, Plan()),
            time_budget_s=time_budget_s(args),
            samplers=tuple(args.samplers),
            retrain_seeds=args.retrain_seeds,
            bench_seeds=args.bench_seeds,
            reference_seeds=args.reference_seeds,
            runs_root=args.runs_dir,
            tasks=tuple(args.tasks or ()),
        )
        from harness.search.ray_setup import check_ray

        check_ray(study)  # in seconds, before importing torch or opening any storage
        from harness.experiment.compare import run_compare
        from harness.experiment.run_files import locked_run
        from harness.experiment.runs import run_dir
        from harness.search.storage import open_storage, redact_url, storage_errors
        from harness.search.task_space import load_task_space, resolve_objective

        for task in config.tasks or (study.task,):  # each refused before the run folder is made
            space = load_task_space(task, study.space_path, config.runs_root)
            resolve_objective(replace(study, task=task), space)
            check_surrogate_trust(space, args.force_surrogate)
        open_storage(study.storage)
        locked = locked_run(
            run_dir(config.run, config.runs_root), f"harness compare --name {config.run}"
        )
        with locked, storage_errors(study.storage):
            directory = run_compare(config, log=lambda text: print(text, file=sys.stderr))
        storage = ""
        given = study.storage  # --storage, or a surrogate run's journal file
        if given:  # never the password on the screen (or in a terminal's scrollback)
            shown = redact_url(given)
            storage = f" --storage '{shown}'" + (" (password not shown)" if shown != given else "")
        print(
            f"run {config.run!r} done; results in {directory}; next: harness report --name "
            f"{config.run}{storage}"
        )


class Run(Command):
    help = "the whole lab: fixed models, TPE vs random, report (resumable)"
    description = (
        "Train the lab's fixed models, compare TPE with random search in paired repeats of the "
        "lab's protocol until the pre-declared verdict is decided (or the preset's time budget "
        "ends), retrain each best configuration with several seeds, and write the markdown "
        "report. Re-running continues where it stopped."
    )
    parents = (task_option, storage_options, worker_options, comparison_options, device_option)
    stops_on_sigterm = True
    resume_hint = (
        "trials in flight were marked FAIL and will be retried; run the same command "
        "again to continue the run"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        lab, smoke = PRESETS["lab"], PRESETS["smoke"]
        parser.add_argument(
            "--preset",
            choices=list(PRESETS),
            default="lab",
            help="'lab' (default): the lab's protocol until decided, at most "
            f"{lab.time_budget_min:g} min of pairs (about an hour on 2 "
            "cores); 'quick': 3 pairs, a hint; 'smoke': about a "
            "minute",
        )
        parser.add_argument("--name", default=None, help="run name (default: the preset's name)")
        parser.add_argument(
            "--trials",
            type=positive_int,
            default=None,
            help=f"trials per study (default: {lab.trials}; smoke {smoke.trials})",
        )
        parser.add_argument(
            "--repeats",
            type=positive_int,
            default=None,
            help="a fixed design: this many pairs, judged once (default: the preset's design)",
        )
        parser.add_argument(
            "--space",
            metavar="FILE",
            default=None,
            help="search space file (default: the preset's)",
        )
        parser.add_argument(
            "--bench-seeds",
            type=non_negative_int,
            default=None,
            metavar="K",
            help="seeds of the lab's fixed models, 0 skips them (default: "
            f"{lab.bench_seeds}; smoke {smoke.bench_seeds})",
        )
        parser.add_argument(
            "--out", metavar="FILE", default=None, help="report file (default: reports/NAME.md)"
        )

    def run(self, args: argparse.Namespace) -> None:
        from harness.experiment.runs import check_run_name

        preset = PRESETS[args.preset]
        # an empty --name is refused, not replaced by the preset's (another run's) name
        name = check_run_name(preset.name if args.name is None else args.name)
        out = Path(args.out) if args.out else Path("reports") / f"{name}.md"
        if out.suffix != ".md":  # refuse an unusable report path before an hour of training
            raise HarnessError(f"--out must be a .md file, but got {str(out)!r}")
        study = replace(
            STUDY_TEMPLATE,
            trials=args.trials or preset.trials,
            # the preset's space is the lab's (Adult); another task searches its own
            space_path=args.space or (preset.space if args.task in (None, "adult") else None),
            **study_settings(args),
        )
        config = CompareConfig(
            run=name,
            study=study,
            **design_settings(args, preset.plan),
            time_budget_s=time_budget_s(args, preset.time_budget_min),
            samplers=preset.samplers,
            retrain_seeds=preset.retrain_seeds,
            bench_seeds=preset.bench_seeds if args.bench_seeds is None else args.bench_seeds,
            reference_seeds=preset.reference_seeds,
        )
        from harness.experiment.lab_run import run_lab

        for line in run_lab(config, preset, out, report_and_verdict, log=_log):
            print(line)
