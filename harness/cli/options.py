"""Options shared by several commands, as argparse parent parsers (one definition, one help
text each), and the argument types that state their rule in the error; the settings they give
are ``harness.cli.settings``'s."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.choices import DEVICES, EXECUTORS, OBJECTIVES, PRUNERS, SAMPLERS, VARIANTS
from harness.search.config import (
    DEFAULT_STORAGE,
    POPULATION_CPU,
    POPULATION_GPU,
    STORAGE_ENV,
    StudyConfig,
)
from harness.search.samplers import SPEC_HELP

if TYPE_CHECKING:
    pass


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
    "digits, diabetes, iris), a task's TOML file with a [data] table (docs/tasks.md), your "
    "own problem as module:Class (a class with search_space, directions and evaluate(params"
    "[, seed]), as OptunaHub's BaseProblem; its module on PYTHONPATH), or surrogate:NAME "
    "(harness surrogate fit) (default: the space file's [data] source, else adult)"
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


def runs_dir_option() -> argparse.ArgumentParser:
    """``--runs-dir``: where runs' files and fitted surrogates are kept (one place for every
    command that reads or writes them)."""
    from harness.paths import DEFAULT_RUNS_ROOT

    parser = _parent()
    parser.add_argument(
        "--runs-dir",
        default=str(DEFAULT_RUNS_ROOT),
        metavar="DIR",
        help=f"where runs' results are kept, and fitted surrogates in DIR/surrogates/ "
        f"(--task surrogate:NAME) (default: {DEFAULT_RUNS_ROOT})",
    )
    return parser


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
        default=None,
        help="'local' runs trials one by one in this process (default: ray; local when every "
        "task is a surrogate, whose trials take microseconds and would wait on Ray's start)",
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


def simulate_option() -> argparse.ArgumentParser:
    """``--simulate-workers``: a surrogate task's studies on a simulated clock."""
    parser = _parent()
    parser.add_argument(
        "--simulate-workers",
        type=int,  # K < 1 is refused by StudyConfig, in one line
        default=None,
        metavar="K",
        help="run each study as if K workers trained its trials at once, on a simulated "
        "clock: a trial takes the seconds the surrogate's runtime model predicts, and nothing "
        "waits for them (a surrogate task only, --task surrogate:NAME; in this process, K "
        "trials of each study in flight, in place of --per-study; each trial stores sim_start "
        "and sim_end; docs/surrogates.md) (default: real workers)",
    )
    return parser


def pool_options() -> argparse.ArgumentParser:
    """The workers of ``study`` and ``compare``: real ones, or simulated ones."""
    return _parent(worker_options(), simulate_option())


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
        "minimised), or val_loss, minimised; a problem task's is its evaluate() value, in its "
        "own direction (default: the task's metric)",
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


def surrogate_trust_option() -> argparse.ArgumentParser:
    parser = _parent()
    parser.add_argument(
        "--force-surrogate",
        action="store_true",
        help="compare on a surrogate task even when its held-out Spearman rho is below 0.8 "
        "(refused otherwise; the report marks such a verdict)",
    )
    return parser
