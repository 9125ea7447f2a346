"""``harness run``: the whole lab in one command, resumable.

The lab's fixed models, the lab's search protocol as a paired comparison (30 TPE + 30 random
trials per repeat), the honest test numbers, and the report. Everything is cached in the
storage and under ``runs/<name>/``, so re-running continues where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.cli.options import (
    add_storage_option,
    add_worker_options,
    non_negative_int,
    positive_int,
)
from harness.paths import SPACES_DIR


@dataclass(frozen=True)
class Preset:
    """A named set of defaults; each can still be overridden on the command line."""

    name: str
    space: Path
    trials: int
    repeats: int
    retrain_seeds: int
    bench_seeds: int
    reference_seeds: int


PRESETS = {
    # The lab's protocol: 30 TPE + 30 random trials, 3 paired repeats on 2 cores in about an
    # hour; more repeats give the Wilcoxon test power (6 pairs are needed for p < 0.05).
    "lab": Preset("lab", SPACES_DIR / "lab_mlp.toml", 30, 3, 5, 1, 3),
    # A first look in about a minute: a data subset, a few epochs, no fixed models.
    "smoke": Preset("smoke", SPACES_DIR / "smoke.toml", 16, 2, 2, 0, 1),
}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run", help="the whole lab: fixed models, TPE vs random, report (resumable)",
        description="Train the lab's fixed models, compare TPE with random search in paired "
                    "repeats of the lab's protocol, retrain each best configuration with "
                    "several seeds, and write the markdown report. Re-running continues where "
                    "it stopped.",
    )  # fmt: skip
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="lab",
        help="'lab' (default): the lab's protocol; 'smoke': about a minute",
    )
    parser.add_argument("--name", default=None, help="run name (default: the preset's name)")
    parser.add_argument(
        "--trials", type=positive_int, default=None, help="trials per study (default: 30; smoke 16)"
    )
    parser.add_argument(
        "--repeats", type=positive_int, default=None, help="paired repeats (default: 3; smoke 2)"
    )
    parser.add_argument(
        "--space", metavar="FILE", default=None, help="search space file (default: the preset's)"
    )
    parser.add_argument("--bench-seeds", type=non_negative_int, default=None, metavar="K",
                        help="seeds of the lab's fixed models, 0 skips them (default: 1; "
                             "smoke 0)")  # fmt: skip
    parser.add_argument(
        "--out", metavar="FILE", default=None, help="report file (default: reports/NAME.md)"
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="device of the fixed models and retraining (default: auto)",
    )
    add_storage_option(parser)
    add_worker_options(parser)
    return parser


def main(args: argparse.Namespace) -> None:
    from harness.experiment.compare import CompareConfig, run_compare
    from harness.report.write import write_report
    from harness.search.storage import DEFAULT_STORAGE, redact_url

    preset = PRESETS[args.preset]
    name = args.name or preset.name
    url = args.storage or DEFAULT_STORAGE
    out = Path(args.out) if args.out else Path("reports") / f"{name}.md"
    _check_writable(out)
    config = CompareConfig(
        run=name, trials=args.trials or preset.trials, repeats=args.repeats or preset.repeats,
        space_path=args.space or preset.space, storage=args.storage,
        executor=args.executor, cpu_workers=args.cpu_workers, gpu_workers=args.gpu_workers,
        address=args.address, device=args.device, retrain_seeds=preset.retrain_seeds,
        bench_seeds=preset.bench_seeds if args.bench_seeds is None else args.bench_seeds,
        reference_seeds=preset.reference_seeds,
    )  # fmt: skip

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    log(f"run {name!r} ({preset.name} preset): {config.repeats} paired repeats of "
        f"{config.trials} trials per sampler; storage {redact_url(url)}")  # fmt: skip
    log(f"watch it live: harness dashboard --storage '{redact_url(url)}'")
    try:
        run_compare(config, log=log)
    except KeyboardInterrupt:
        log(f"interrupted; run the same command again to continue run {name!r}")
        raise
    path = write_report(name, url, out)
    print(f"report: {path}")
    print(f"dashboard: harness dashboard --storage '{redact_url(url)}'")


def _check_writable(out: Path) -> None:
    """Refuse an unusable report path before an hour of training, not after."""
    from harness.errors import HarnessError

    if out.suffix != ".md":
        raise HarnessError(f"--out must be a .md file, but got {str(out)!r}")
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise HarnessError(f"cannot write {out}: {parent} is not a folder")
