"""A batch of lab pairs with and without population training, on this machine's cores.

Runs the lab preset's comparison (TPE and random studies of the lab's search space, each best
retrained with fresh seeds) once per setting, each in a fresh storage, on Ray CPU workers (one
per core), and prints per setting: wall time, training-seconds (the workers' busy seconds,
submit to outcome, a population counted once), pool utilization (training-seconds over
workers x wall), the populations trained, and whether every trial's parameters and value
equal the ``--population 1`` run's (values within the float tolerance of
``tests/float_paths.py``). The budget is reduced so that the whole table takes minutes, not
hours: fewer trials and epochs (``--trials``, ``--max-epochs``, ``--patience``); the trials are
the lab's own otherwise (its space, all 20,838 training rows).

    python scripts/bench_population_studies.py --pairs 5 --populations 1 8 --json runs/pop.json
    python scripts/bench_population_studies.py --flush-denormal   # [fixed] flush_denormal
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna

from harness.experiment.compare import run_compare
from harness.experiment.config import STUDY_TEMPLATE, CompareConfig
from harness.paths import SPACES_DIR

AUROC_ABS = 1e-3  # tests/float_paths.py: no finding of a search depends on less


def lab_space(folder: Path, max_epochs: int, patience: int, flush: bool) -> Path:
    """The lab's search space with a smaller epoch budget (and flush_denormal, if asked)."""
    text = (SPACES_DIR / "lab_mlp.toml").read_text()
    text = text.replace("max_epochs = 300", f"max_epochs = {max_epochs}")
    text = text.replace("patience = 10", f"patience = {patience}")
    if flush:
        text = text.replace("# flush_denormal = true", "flush_denormal = true")
    path = folder / "space.toml"
    path.write_text(text)
    return path


def run_setting(args: argparse.Namespace, population: int, folder: Path) -> dict[str, Any]:
    """One comparison with ``population``: its timings, usage and every trial."""
    folder.mkdir(parents=True)
    url = f"sqlite:///{folder / 'bench.db'}"
    study = replace(
        STUDY_TEMPLATE,
        trials=args.trials,
        space_path=lab_space(folder, args.max_epochs, args.patience, args.flush_denormal),
        storage=url,
        executor="ray",
        cpu_workers=args.workers,
        show_progress=False,
        population=population,
    )
    config = CompareConfig(
        run="bench",
        study=study,
        repeats=args.pairs,
        retrain_seeds=args.retrain_seeds,
        bench_seeds=0,
        reference_seeds=0,
        runs_root=folder / "runs",
    )
    started = time.perf_counter()
    directory = run_compare(config, log=lambda text: None)
    wall = time.perf_counter() - started
    usage = json.loads((directory / "pool.json").read_text())[-1]
    storage = optuna.storages.RDBStorage(url)
    trials = {}
    for summary in storage.get_all_studies():
        for trial in optuna.load_study(study_name=summary.study_name, storage=storage).trials:
            trials[f"{summary.study_name}#{trial.number}"] = (trial.params, trial.value)
    return {"population": population, "wall_s": wall, "usage": usage, "trials": trials}


def same_trials(run: dict[str, Any], reference: dict[str, Any]) -> str:
    """'yes', or what differs from the reference run's trials."""
    if run["trials"].keys() != reference["trials"].keys():
        return "other trials"
    for key, (params, value) in reference["trials"].items():
        other_params, other_value = run["trials"][key]
        if other_params != params:
            return f"params of {key}"
        if (value is None) != (other_value is None) or (
            value is not None and abs(other_value - value) > AUROC_ABS
        ):
            return f"value of {key}: {other_value} vs {value}"
    return "yes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5, help="paired repeats (lab preset: 5)")
    parser.add_argument("--trials", type=int, default=12, help="per study (lab: 30)")
    parser.add_argument("--max-epochs", type=int, default=40, help="(lab: 300)")
    parser.add_argument("--patience", type=int, default=5, help="(lab: 10)")
    parser.add_argument("--retrain-seeds", type=int, default=5, help="(lab: 5)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--populations", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--flush-denormal", action="store_true")
    parser.add_argument("--json", default=None, help="write the rows here")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(
        f"{args.pairs} pairs of TPE and random, {args.trials} trials per study, max_epochs "
        f"{args.max_epochs}, patience {args.patience}, {args.retrain_seeds} retraining seeds, "
        f"{args.workers} Ray CPU workers, flush_denormal {args.flush_denormal}; load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )
    header = f"{'K':>3} {'wall s':>8} {'train-s':>8} {'util':>5} {'pops':>5} {'CPU-s':>7}"
    print(f"{header} {'ratio':>6}  same trials as K = {args.populations[0]}")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as temporary:
        for population in args.populations:
            run = run_setting(args, population, Path(temporary) / f"k{population}")
            usage, first = run["usage"], rows[0] if rows else run
            run["same"] = same_trials(run, first)
            run["ratio"] = first["wall_s"] / run["wall_s"]
            rows.append(run)
            print(
                f"{population:>3} {run['wall_s']:>8.1f} {usage['busy_s']:>8.1f} "
                f"{100 * usage['utilization']:>4.0f}% {usage.get('populations', 0):>5} "
                f"{usage.get('cpu_s', 0):>7.1f} {run['ratio']:>5.2f}x  {run['same']}",
                flush=True,
            )
    if args.json:
        meta = {**vars(args), "date": datetime.now(UTC).isoformat(timespec="seconds")}
        for row in rows:
            row["trials"] = len(row["trials"])
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
