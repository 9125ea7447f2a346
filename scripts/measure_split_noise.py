"""The noise the verdict's margin must be judged against: seeds and the test split's rows.

Retrains pairs of search-task configurations with K seeds each on the lab's data, as
``harness compare`` retrains a study's chosen configuration, and prints:
- the seed-to-seed sd of one configuration's test AUROC (pooled over configurations), and the
  sd that seeds alone give a pair's difference of two K-seed means, sd * sqrt(2 / K);
- DeLong's standard error over the test rows of one model's AUROC, of a K-seed mean, and of
  each pair's difference of K-seed means (paired on the same rows);
- each pair's difference, for scale.

By default the configurations are the chosen ones of the lab run in reports/lab.md (pairs
r0, r1, r3, r4; r2 chose one shared start-up trial on both sides, a difference of 0 by
construction); ``--from-run runs/NAME`` takes a run's retrain.json instead.

Usage: python scripts/measure_split_noise.py [--seeds 5] [--workers 2] [--from-run DIR]
"""

from __future__ import annotations

import argparse
import json
import math
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

# (repeat, sampler) -> configuration, from reports/lab.md's table (3 significant figures)
LAB_PAIRS = {
    (0, "tpe"): (530, 0.00202, 128, 0.000159, 0.48),
    (0, "random"): (184, 0.00198, 256, 5.54e-05, 0.535),
    (1, "tpe"): (200, 0.00264, 512, 0.000116, 0.455),
    (1, "random"): (208, 0.0207, 512, 0.000189, 0.19),
    (3, "tpe"): (145, 0.0119, 256, 2.86e-05, 0.239),
    (3, "random"): (240, 0.0017, 256, 1.47e-05, 0.275),
    (4, "tpe"): (898, 0.00831, 256, 0.000534, 0.131),
    (4, "random"): (571, 4.58e-05, 128, 1.21e-05, 0.0739),
}
KEYS = ("hidden_size", "lr", "batch_size", "weight_decay", "dropout")
SEED_BASE = 10_000_000  # the retraining seeds harness compare uses


def _configs(from_run: str | None) -> dict[tuple[int, str], dict]:
    if from_run is None:
        return {key: dict(zip(KEYS, values, strict=True)) for key, values in LAB_PAIRS.items()}
    records = json.loads((Path(from_run) / "retrain.json").read_text())["records"]
    return {(r["repeat"], r["sampler"]): r["params"] for r in records}


def _train(job: tuple[dict, int]) -> tuple[float, np.ndarray, np.ndarray]:
    import torch

    from harness.lab.data import load_splits
    from harness.paths import SPACES_DIR
    from harness.search.spaces import load_space
    from harness.search.task import run_trial

    torch.set_num_threads(1)
    params, seed = job
    space = load_space(SPACES_DIR / "lab_mlp.toml")
    splits = load_splits(variant=space.variant)
    record = run_trial(
        {**space.fixed_params, **params},
        splits,
        seed=seed,
        device="cpu",
        fixed=space.fixed,
        test_probabilities=True,
    )
    return record["test_auroc"], record["test_probabilities"], record["test_labels"]


def main() -> None:
    from harness.report.test_split import delong_se

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--from-run", default=None)
    args = parser.parse_args()
    configs = _configs(args.from_run)
    jobs = [(key, seed) for key in configs for seed in range(args.seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        done = list(pool.map(_train, [(configs[k], SEED_BASE + s) for k, s in jobs]))
    aurocs: dict = {}
    probabilities: dict = {}
    labels = done[0][2]
    for (key, _), (auroc, p, _) in zip(jobs, done, strict=True):
        aurocs.setdefault(key, []).append(auroc)
        probabilities.setdefault(key, []).append(p)
    variances = [np.var(v, ddof=1) for v in aurocs.values()]
    seed_sd = math.sqrt(float(np.mean(variances)))
    k = args.seeds
    single = [delong_se(labels, row) for rows in probabilities.values() for row in rows]
    means = [delong_se(labels, np.stack(rows)) for rows in probabilities.values()]
    print(f"{len(configs)} configurations x {k} seeds on the lab's test split ({labels.size} rows)")
    print(f"seed-to-seed sd of one configuration's test AUROC (pooled): {seed_sd:.2e}")
    print(
        f"sd of a pair's difference of two {k}-seed means from seeds alone: "
        f"{seed_sd * math.sqrt(2 / k):.2e}"
    )
    print(f"DeLong SE of one model's test AUROC: median {np.median(single):.2e}")
    print(f"DeLong SE of a {k}-seed mean's test AUROC: median {np.median(means):.2e}")
    repeats = sorted({r for r, _ in configs})
    for repeat in repeats:
        a, b = (repeat, "tpe"), (repeat, "random")
        if a not in configs or b not in configs:
            continue
        difference = np.mean(aurocs[a]) - np.mean(aurocs[b])
        se = delong_se(labels, np.stack(probabilities[a]), np.stack(probabilities[b]))
        print(f"pair r{repeat}: tpe - random = {difference:+.2e}, paired DeLong SE {se:.2e}")


if __name__ == "__main__":
    main()
