"""Render a GPU check's results (``scripts/gpu_check.sh``, copied to ``reports/gpu/``) as one
markdown page: the device table through the report's own Devices section, population mode's
rates, the CUDA tests' summary, and the study and protocol timings read from their stores.

    python scripts/gpu_report.py reports/gpu h200 > reports/gpu/h200.md
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import optuna

from harness.report.devices import devices_lines
from harness.report.markdown import md_table


def population_table(path: Path) -> list[str]:
    document = json.loads(path.read_text())
    meta, rows = document["meta"], []
    for r in document["records"]:
        hidden = (
            r["hidden"]
            if isinstance(r["hidden"], int)
            else f"{min(r['hidden'])}-{max(r['hidden'])} (mixed)"
        )
        rows.append(
            [
                str(hidden),
                str(r["batch"]),
                str(r["k"]),
                r["mode"],
                f"{r['model_epochs_per_s']:.1f}",
                f"{r['solo_epochs_per_s']:.1f}",
                f"{r['speedup']:.1f}x",
                r["status"],
            ]
        )
    header = [
        "hidden",
        "batch",
        "K",
        "mode",
        "model-epochs/s",
        "solo epochs/s",
        "speed-up",
        "status",
    ]
    return [
        f"{meta['device']}, torch {meta['torch']}, {meta['epochs']} epochs of "
        f"{meta['rows']:,} rows, {meta['date']}:",
        "",
        md_table(header, rows),
        "",
    ]


def study_lines(path: Path) -> list[str]:
    storage = f"sqlite:///{path}"
    lines = []
    for name in optuna.get_all_study_names(storage=storage):
        trials = optuna.load_study(study_name=name, storage=storage).trials
        seconds = [t.user_attrs.get("seconds", 0.0) for t in trials]
        workers = sorted({t.user_attrs.get("worker", "?") for t in trials})
        devices = sorted({t.user_attrs.get("device", "?") for t in trials})
        lines.append(
            f"- `{name}`: {len(trials)} trials on {', '.join(workers)} "
            f"({', '.join(devices)}); trial seconds summed {sum(seconds):.1f}, "
            f"longest {max(seconds):.1f}"
        )
    return lines


def _pytest_summary(path: Path) -> str:
    """pytest's closing line (``N failed, M passed ... in S s``) and each failed test (its
    section header: ``-q`` prints no FAILED lines)."""
    lines = path.read_text().splitlines()
    failed = [line.strip("_ ") for line in lines if line.startswith("____") and "test" in line]
    closing = [line for line in lines if " passed" in line and " in " in line][-1]
    return closing.strip("= ") + "".join(f"; {line}" for line in failed)


def main() -> None:
    folder, name = Path(sys.argv[1]), sys.argv[2]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = [f"# GPU check on {name}: `scripts/gpu_check.sh`", ""]
    versions = (folder / f"{name}-versions.txt").read_text().strip().splitlines()
    out += [f"Software: {'; '.join(versions)}.", ""]
    tests, first = (
        _pytest_summary(folder / f"{name}-pytest-cuda{suffix}.txt") for suffix in ("", "-first-run")
    )
    out += ["## CUDA tests", "", f"- last run: `{tests}`", f"- first run: `{first}`", ""]
    out += ["## Population mode (K trials in one stacked step) against one trial alone", ""]
    for suffix in ("population", "population-mixed"):
        path = folder / f"{name}-{suffix}.json"
        if path.is_file():
            out += population_table(path)
    out += ["## Studies on the card (Ray GPU workers)", ""]
    for suffix in ("study", "protocol"):
        path = folder / f"{name}-{suffix}.db"
        if path.is_file():
            out += study_lines(path)
        log = folder / f"{name}-{suffix}.txt"
        if log.is_file():
            real = [line for line in log.read_text().splitlines() if line.startswith("real ")]
            if real:
                out.append(f"- wall time of the whole command ({log.name}): {real[-1][5:]} s")
    out.append("")
    with tempfile.TemporaryDirectory() as runs:  # the report's section reads <runs>/devices.json
        shutil.copy(folder / f"{name}-devices.json", Path(runs) / "devices.json")
        out += devices_lines(runs)
    print("\n".join(out))


if __name__ == "__main__":
    main()
