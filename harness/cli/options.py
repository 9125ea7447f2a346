"""Options shared by several commands, as argparse parent parsers (one definition, one help
text each), the argument types that state their rule in the error, and the settings the
shared options give (``study_settings``, ``design_settings``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from harness.choices import DEVICES, EXECUTORS, OBJECTIVES, PRUNERS, SAMPLERS, VARIANTS
from harness.errors import HarnessError
from harness.search.config import (
    DEFAULT_STORAGE,
    POPULATION_CPU,
    POPULATION_GPU,
    STORAGE_ENV,
    StudyConfig,
)
from harness.search.samplers import SPEC_HELP

if TYPE_CHECKING:
    from harness.experiment.verdict import Plan


# Checked where the config is built (HarnessError: one line, exit 2), not as argparse choices:
# a user's sampler is any importable class, and importing it is no business of --help.
SAMPLER_HELP = (
    f"a built-in sampler ({', '.join(SAMPLERS)}) or your own Optuna sampler as {SPEC_HELP}, "
    "e.g. 'mypkg.samplers:MySampler:{\"alpha\": 0.5}' (the module must be importable; a "
    "'seed' keyword is passed when the class takes one)"
)

SPACE_HELP = (
    "search space file (default: the task's: search_spaces/lab_mlp.toml for adult, "
    "tabular_mlp.toml for the other built-in tasks)"
)
TASK_HELP = (
    "what the study searches: a built-in task (harness tasks: adult, breast-cancer, wine, "
    "digits, diabetes, iris) or a task's TOML file with a [data] table (docs/tasks.md) "
    "(default: the space file's [data] source, else adult)"
)


def count(minimum: int) -> Callable[[str], int]:
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


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0, with the rule in the error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, but got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, but got {text!r}")
    return value


positive_float.__name__ = "number > 0"


def shape(text: str) -> tuple[int, int]:
    """An argparse type: HIDDENxBATCH of the search MLP, e.g. 256x128."""
    hidden, _, batch = text.lower().partition("x")
    if not (hidden.isdigit() and batch.isdigit() and int(hidden) >= 2 and int(batch) >= 1):
        raise argparse.ArgumentTypeError(
            f"must be HIDDENxBATCH with hidden >= 2 and batch >= 1, e.g. 256x128, but got {text!r}"
        )
    return int(hidden), int(batch)


def _parent(*parents: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False, parents=list(parents))


def data_options() -> argparse.ArgumentParser:
    parser = _parent()
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="your own adult.data (plain or .gz; 15 columns, labels ' <=50K'/' >50K') "
        "instead of the packaged, checksum-verified copy",
    )
    parser.add_argument(
        "--variant",
        choices=VARIANTS,
        default=VARIANTS[0],
        help="'lab' reproduces the lab's 108 features (default); 'grouped' applies the "
        "category merges the lab intended",
    )
    return parser


def device_option() -> argparse.ArgumentParser:
    """Where this process trains (``trial``, ``bench models``, and in ``compare`` and ``run``
    the fixed models, retraining and the local executor's trials)."""
    parser = _parent()
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default=StudyConfig.device,
        help="where this process trains (Ray workers train on their own kind of device): "
        f"'auto' uses CUDA when present (default: {StudyConfig.device})",
    )
    return parser


def device_options() -> argparse.ArgumentParser:
    """Where one training run goes, and its two fast paths."""
    parser = _parent(device_option())
    parser.add_argument(
        "--no-cuda-graph",
        dest="cuda_graph",
        action="store_false",
        help="on CUDA, run each training step eagerly instead of replaying it as a CUDA graph "
        "(the fast path; same losses within float tolerance)",
    )
    parser.add_argument(
        "--autograd",
        dest="hand_backward",
        action="store_false",
        help="on CPU, train plain MLPs with autograd and optimizer.step() instead of the "
        "hand-written backward (the fast path: about 2x per step for small models; same "
        "gradients and dropout masks)",
    )
    return parser


def storage_options() -> argparse.ArgumentParser:
    parser = _parent()
    parser.add_argument(
        "--storage",
        metavar="URL",
        default=None,
        help="Optuna storage URL: sqlite:///file.db, postgresql://user@host/db (libpq then "
        "takes the password from PGPASSWORD or ~/.pgpass), mysql://..., or "
        f"journal:///path/file.log (default: ${STORAGE_ENV} if set, else "
        f"{DEFAULT_STORAGE}); a URL with a password is best given in ${STORAGE_ENV}, out "
        "of the command line",
    )
    return parser


def worker_options() -> argparse.ArgumentParser:
    parser = _parent()
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
        choices=EXECUTORS,
        default=StudyConfig.executor,
        help="'local' runs trials one by one in this process (default: ray)",
    )
    parser.add_argument(
        "--population",
        type=positive_int,
        default=StudyConfig.population,
        metavar="K",
        help="a worker trains up to K compatible trials (same task and batch size; hidden "
        "sizes padded to the largest) together in one stacked step, each still its own trial "
        "with its own epochs, pruning and faults; each trial's parameters and values are "
        "those it gets alone up to float rounding (which long trials may amplify). 1 trains "
        "each trial alone (default: "
        f"{POPULATION_CPU} on CPU workers, where no setting won on the lab's studies, "
        f"{POPULATION_GPU} on GPU workers; docs/performance.md)",
    )
    parser.add_argument(
        "--trial-timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="stop a trial running longer than this: FAIL 'timeout after N s', not retried. On "
        "Ray its worker is killed and replaced; --executor local stops it at its next "
        "epoch's end (default: none)",
    )
    return parser


def task_option() -> argparse.ArgumentParser:
    parser = _parent()
    parser.add_argument("--task", metavar="TASK", default=StudyConfig.task, help=TASK_HELP)
    return parser


def search_options() -> argparse.ArgumentParser:
    parser = _parent()
    parser.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default=StudyConfig.objective,
        help="what the sampler optimises: the task's metric on validation (val_auroc for "
        "binary tasks, maximised; val_log_loss for multiclass and val_rmse for regression, "
        "minimised), or val_loss, minimised (default: the task's metric)",
    )
    parser.add_argument(
        "--pruner",
        choices=PRUNERS,
        default=StudyConfig.pruner,
        help="stop unpromising trials early (default: none)",
    )
    return parser


def comparison_options() -> argparse.ArgumentParser:
    """What ``compare`` and ``run`` share beyond a study's options."""
    from harness.experiment.config import STUDY_TEMPLATE
    from harness.experiment.verdict import LOOKS, MARGIN

    parser = _parent()
    design = parser.add_argument_group(
        "the verdict's design (declared in runs/RUN/plan.json before the first pair)"
    )
    design.add_argument(
        "--looks",
        nargs="+",
        type=positive_int,
        metavar="N",
        default=None,
        help="pair counts after which the verdict is judged, stopping at the "
        "first decided look (error rate kept by alpha spending; default: "
        f"{' '.join(map(str, LOOKS))})",
    )
    design.add_argument(
        "--max-pairs",
        type=positive_int,
        metavar="N",
        default=None,
        help=f"the most pairs the design adds (default: {LOOKS[-1]})",
    )
    design.add_argument(
        "--margin",
        type=positive_float,
        default=MARGIN,
        metavar="AUROC",
        help=f"equivalence margin: a difference inside ±margin counts as none (default: {MARGIN})",
    )
    design.add_argument(
        "--time-budget",
        type=positive_float,
        metavar="MIN",
        default=None,
        help="minutes of pairs: no pair is started that would not end within "
        "it, and the pairs in hand then get a last look (default: none)",
    )
    parser.add_argument(
        "--per-study",
        dest="concurrency",
        type=positive_int,
        default=STUDY_TEMPLATE.concurrency,
        metavar="N",
        help="trials of one study in flight at once; every study runs at once on the pool. "
        f"{STUDY_TEMPLATE.concurrency} (default): a study's trials run in order (TPE sees "
        "every earlier trial), so the results do not depend on the number of workers",
    )
    return parser


# StudyConfig fields that shared options set; a command passes on those it has
STUDY_OPTIONS = (
    "task",
    "storage",
    "objective",
    "pruner",
    "executor",
    "cpu_workers",
    "gpu_workers",
    "address",
    "device",
    "concurrency",
    "trial_timeout",
    "population",
)


def study_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ``StudyConfig`` fields given by this command's shared options."""
    return {key: getattr(args, key) for key in STUDY_OPTIONS if hasattr(args, key)}


def design_settings(args: argparse.Namespace, default: Plan) -> dict[str, Any]:
    """CompareConfig's design fields: ``--repeats`` (fixed; 1: one pair, no design to judge it)
    or ``--looks``/``--max-pairs`` (sequential), else ``default``; ``--margin`` applies to both."""
    from harness.experiment.verdict import Plan

    sequential = args.looks is not None or args.max_pairs is not None
    if args.repeats is not None:
        if sequential:
            raise HarnessError(
                "--repeats (a fixed number of pairs, one look) and --looks/"
                "--max-pairs (a sequential design) exclude each other, but both "
                "were given"
            )
        one = args.repeats == 1  # one pair: run it (a check, a timing); no design can judge it
        return {"repeats": 1} if one else {"plan": Plan.fixed(args.repeats, args.margin)}
    if not sequential:
        return {"plan": replace(default, margin=args.margin)}
    looks = tuple(args.looks) if args.looks is not None else default.looks
    max_pairs = args.max_pairs or (max(args.looks) if args.looks else default.max_pairs)
    return {"plan": Plan(looks, max_pairs, margin=args.margin)}


def time_budget_s(args: argparse.Namespace, minutes: float | None = None) -> float | None:
    """CompareConfig's ``time_budget_s``: ``--time-budget`` (minutes), else ``minutes``."""
    minutes = args.time_budget if args.time_budget is not None else minutes
    return None if minutes is None else 60.0 * minutes
