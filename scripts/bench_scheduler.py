"""Scheduler overhead: jobs per minute of tiny trials, 1 and 2 workers, local vs Ray.

Each row runs one fresh study of ``--trials`` tiny trials (the test suite's TINY space: 1,500
training rows, 3 epochs; random sampler, seed 0, so every row trains the same trials) through
``run_study`` on a pool started beforehand (start-up is reported apart). Overhead per job is
the worker time the scheduler leaves unused: ``(workers x wall - busy) / jobs``, where busy is
the scheduler's own count from each job's submission to its outcome (training and the final
scoring on the worker, plus Ray's hand-over): what remains is asking Optuna, telling it
(the storage's writes), polling. The target: at most 5% of a 1-second trial, 50 ms per job.

    python scripts/bench_scheduler.py [--trials 16]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from study_spaces import TINY, write_space

from harness.search.config import StudyConfig
from harness.search.driver import open_study
from harness.search.ray_setup import start_local_ray
from harness.search.study import make_pool, run_study

TARGET_S = 0.05  # 5% of a 1-second trial


def measure(folder: Path, executor: str, workers: int, trials: int) -> dict[str, float]:
    config = StudyConfig(
        name=f"{executor}-{workers}",
        sampler="random",
        trials=trials,
        space_path=write_space(folder, TINY),
        storage=f"sqlite:///{folder / 'bench.db'}",
        executor=executor,
        cpu_workers=workers,
        gpu_workers=0,
        show_progress=False,
        device="cpu",
    )
    started = time.perf_counter()
    driver = open_study(config)  # created here; run_study opens it again as its driver
    driver.release()
    pool = make_pool(config, driver.space)
    startup = time.perf_counter() - started
    try:
        started = time.perf_counter()
        study = run_study(config, pool)
        wall = time.perf_counter() - started
    finally:
        pool.close()
    training = sum(t.user_attrs["seconds"] for t in study.trials)
    busy = study.user_attrs["pool_usage"]["busy_s"]
    return {
        "wall": wall,
        "startup": startup,
        "jobs_per_min": trials * 60 / wall,
        "training_per_job": training / trials,
        "busy_per_job": busy / trials,
        "overhead_per_job": (workers * wall - busy) / trials,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the local worker trains in this process, like a Ray worker
    import ray

    print(
        f"{'executor':>8} {'workers':>7} {'jobs/min':>9} {'train s/job':>11} "
        f"{'busy s/job':>10} {'overhead s/job':>14} {'of a 1-s trial':>14} "
        f"{'start-up s':>10}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for executor, workers in (("local", 1), ("ray", 1), ("ray", 2)):
            if executor == "ray" and not ray.is_initialized():
                start_local_ray(num_cpus=2)
            r = measure(Path(folder), executor, workers, args.trials)
            verdict = "" if r["overhead_per_job"] <= TARGET_S else "  (over the 5% target)"
            print(
                f"{executor:>8} {workers:>7} {r['jobs_per_min']:>9.1f} "
                f"{r['training_per_job']:>11.3f} {r['busy_per_job']:>10.3f} "
                f"{r['overhead_per_job']:>14.3f} {100 * r['overhead_per_job']:>13.1f}% "
                f"{r['startup']:>10.1f}{verdict}"
            )
        if ray.is_initialized():
            ray.shutdown()


if __name__ == "__main__":
    main()
