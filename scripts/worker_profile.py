"""Where a Ray worker's time goes inside its jobs: per trial, wall time against the training
thread's CPU time, the time it waited for a CPU while runnable (other processes on the cores),
and the rest (blocked: locks, I/O, sleeping); with the set-up before the first epoch, the time
inside the epoch hooks and after the last epoch. Then the CPU seconds of each process of the
run (driver, workers, Ray's own processes) and of everything else on the machine meanwhile.

The studies run as `harness compare` runs them: every study at once on one pool of Ray CPU
workers, one trial per study in flight, the driver writing SQLite. The per-trial figures come
from each record's `profile` (`harness.search.job_clock.JobClock`); the process figures from
/proc (Linux). Run it at normal priority and read the load beside the numbers.

`--flush-denormal` trains with the space's `[fixed]` `flush_denormal = true` (engine/settings.py):
run the script with and without it, one after the other, to compare.

Usage: python scripts/worker_profile.py [--trials 8] [--samplers random tpe] [--workers 2]
       [--flush-denormal] [--no-trials]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna

from harness.paths import DEFAULT_SPACE
from harness.search.config import StudyConfig
from harness.search.driver import open_study
from harness.search.jobs import EpochHook, Outcome, TrialJob
from harness.search.ray_pool import RayPool
from harness.search.study import run_studies

TICK = os.sysconf("SC_CLK_TCK")


class RecordingPool:
    """A pool that passes everything to ``pool`` and keeps every outcome."""

    def __init__(self, pool: RayPool) -> None:
        self.pool, self.slots, self.outcomes = pool, pool.slots, list[Outcome]()
        self.on_gpu = pool.on_gpu

    def free_slots(self) -> int:
        return self.pool.free_slots()

    def running(self) -> dict[str, list[TrialJob]]:
        return self.pool.running()

    def submit(self, job: TrialJob) -> None:
        self.pool.submit(job)

    def submit_population(self, jobs: list[TrialJob]) -> None:
        self.pool.submit_population(jobs)

    def wait(self, timeout: float, on_epoch: EpochHook) -> list[Outcome]:
        outcomes = self.pool.wait(timeout, on_epoch)
        self.outcomes += outcomes
        return outcomes

    def stop_all(self) -> list[TrialJob]:
        return self.pool.stop_all()

    def close(self) -> None:
        self.pool.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError):
        return 0.0


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Ray's GCS, raylet, agents and workers of a local Ray)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def machine_busy() -> float:
    """CPU seconds every core has spent not idle since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICK


def snapshot(workers: dict[str, int]) -> dict[str, float]:
    mine = descendants(os.getpid())
    ray_own = mine - set(workers.values())
    return {
        "driver": cpu_seconds(os.getpid()),
        **{f"worker {name}": cpu_seconds(pid) for name, pid in workers.items()},
        "ray's own processes": sum(cpu_seconds(pid) for pid in ray_own),
        "machine": machine_busy(),
    }


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def configs(args: argparse.Namespace, storage: str) -> list[StudyConfig]:
    return [
        StudyConfig(
            name=f"wp/{sampler}",
            sampler=sampler,
            trials=args.trials,
            space_path=args.space,
            storage=storage,
            seed=args.seed,
            cpu_workers=args.workers,
            show_progress=False,
            concurrency=1,
        )
        for sampler in args.samplers
    ]


def run(args: argparse.Namespace, folder: Path) -> tuple[RecordingPool, dict[str, Any]]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.flush_denormal:
        text = Path(args.space).read_text()
        if "[fixed]\n" not in text:
            sys.exit(f"--flush-denormal: {args.space} has no [fixed] table to add it to")
        args.space = folder / "space.toml"
        args.space.write_text(text.replace("[fixed]\n", "[fixed]\nflush_denormal = true\n", 1))
    studies = configs(args, f"sqlite:///{folder / 'profile.db'}")
    drivers = [open_study(config) for config in studies]
    space = drivers[0].space
    pool = RayPool(space.text, space.source, args.workers, 0)
    recording = RecordingPool(pool)
    workers = {name: pool.describe(name)["pid"] for name in pool.names}
    threads = {name: pool.describe(name).get("torch_threads") for name in pool.names}
    before, load_before, started = snapshot(workers), load(), time.perf_counter()
    try:
        usage = run_studies(studies[0], space, drivers, pool=recording)
        after = snapshot(workers)  # before the pool closes: the workers are still there
    finally:
        recording.close()
    wall = time.perf_counter() - started
    spent = {key: after[key] - before[key] for key in before}
    return recording, {
        "wall": wall,
        "spent": spent,
        "usage": usage,
        "load": (load_before, load()),
        "threads": threads,
    }


def trial_rows(outcomes: list[Outcome]) -> list[list[str]]:
    rows = []
    for outcome in outcomes:
        record = outcome.record or {}
        p = record.get("profile") or {}
        params = outcome.job.params
        rows.append(
            [
                f"#{outcome.job.number}",
                outcome.worker,
                str(params.get("hidden_size")),
                str(params.get("batch_size")),
                str(record.get("epochs", "-")),
                f"{record['val_auroc']:.4f}" if "val_auroc" in record else "-",
                *(
                    "-" if p.get(key) is None else f"{p[key]:.2f}"
                    for key in (
                        "wall_s",
                        "cpu_s",
                        "runq_wait_s",
                        "blocked_s",
                        "to_first_epoch_s",
                        "hooks_s",
                        "after_last_epoch_s",
                    )
                ),
            ]
        )
    return rows


def totals(outcomes: list[Outcome]) -> dict[str, float]:
    profiles = [(o.record or {}).get("profile") or {} for o in outcomes]
    keys = ("wall_s", "cpu_s", "runq_wait_s", "blocked_s", "to_first_epoch_s", "hooks_s")
    sums = {key: sum(p.get(key) or 0.0 for p in profiles) for key in keys}
    sums["after_last_epoch_s"] = sum(p.get("after_last_epoch_s") or 0.0 for p in profiles)
    sums["median_wall_s"] = statistics.median(p.get("wall_s") or 0.0 for p in profiles)
    return sums


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(recording: RecordingPool, facts: dict[str, Any], per_trial: bool) -> None:
    outcomes = recording.outcomes
    header = ["trial", "worker", "hidden", "batch", "epochs", "val AUROC", "wall s", "CPU s"]
    header += ["run-queue s"]
    header += ["blocked s", "to 1st epoch s", "hooks s", "after last s"]
    if per_trial:
        print(table(header, trial_rows(outcomes)), end="\n\n")
    t, wall = totals(outcomes), facts["wall"]
    share = {k: f"{100 * v / t['wall_s']:.1f}%" for k, v in t.items() if k != "median_wall_s"}
    print(
        f"{len(outcomes)} jobs, median {t['median_wall_s']:.2f} s, {t['wall_s']:.1f} worker-s "
        f"inside jobs: CPU {share['cpu_s']}, waiting for a CPU {share['runq_wait_s']}, blocked "
        f"{share['blocked_s']}; set-up to the first epoch {share['to_first_epoch_s']}, epoch "
        f"hooks {share['hooks_s']}, after the last epoch {share['after_last_epoch_s']}; "
        f"CPU seconds in jobs {t['cpu_s']:.1f}"
    )
    usage, spent = facts["usage"], facts["spent"]
    print(f"{usage.line()}; torch threads per worker: {facts['threads']}")
    capacity = (os.cpu_count() or 1) * wall
    ours = sum(v for k, v in spent.items() if k != "machine")
    rows = [[k, f"{v:.1f}", f"{100 * v / wall:.0f}%"] for k, v in spent.items() if k != "machine"]
    rows.append(["everything else", f"{spent['machine'] - ours:.1f}", ""])
    rows[-1][2] = f"{100 * (spent['machine'] - ours) / wall:.0f}%"
    print(f"\nwall {wall:.1f} s, {os.cpu_count()} cores ({capacity:.0f} core-s); load average")
    print(f"{facts['load'][0]} before, {facts['load'][1]} after")
    print(table(["process", "CPU s", "of one core"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="trials per study (default: 8)")
    parser.add_argument("--samplers", nargs="+", default=["random", "tpe"])
    parser.add_argument("--workers", type=int, default=2, help="Ray CPU workers (default: 2)")
    parser.add_argument("--space", default=str(DEFAULT_SPACE))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flush-denormal", action="store_true", help="flush_denormal = true")
    parser.add_argument("--no-trials", action="store_true", help="totals only, no row per trial")
    args = parser.parse_args()
    if not Path("/proc/self/stat").exists():
        sys.exit("worker_profile.py reads /proc: Linux only")
    with tempfile.TemporaryDirectory() as tmp:
        recording, facts = run(args, Path(tmp))
    report(recording, facts, not args.no_trials)


if __name__ == "__main__":
    main()
