"""The verdict design's error rates on non-normal differences (docs/verdict.md's tables).

Runs the default design (looks after 5, 10, 15, 20, 30 pairs, alpha spending) many times on
simulated pair differences with no true difference and prints each direction's false-claim
rate; then the false-equivalence rate at a true difference of ±margin; then, for skewed
differences with mean 0 (not symmetric: the samplers differ), the t-based look beside two
alternatives that were considered for it, a studentized bootstrap (bootstrap-t) and Johnson's
skewness-corrected t.

Usage: python scripts/verdict_rates.py [--runs 20000] [--alternatives-runs 4000]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import stats

from harness.experiment.simulation import judge_many, simulate
from harness.experiment.verdict import MARGIN, Plan


def zero_inflated(scale: float):
    def draw(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        magnitude = rng.lognormal(0.0, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        return np.where(rng.random(shape) < 0.3, 0.0, magnitude) * scale

    return draw


def skewed(sigma: float, scale: float):
    """30% exact zeros, else lognormal(0, sigma) less its mean: mean 0, one long tail."""

    def draw(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        values = rng.lognormal(0.0, sigma, shape) - math.exp(sigma**2 / 2)
        return np.where(rng.random(shape) < 0.3, 0.0, values) * scale

    return draw


def bootstrap_t(d: np.ndarray, level: float, rng: np.random.Generator, b: int = 999):
    """Direction decisions of a studentized bootstrap interval, row by row at once. Written
    out: scipy.stats.bootstrap has no studentized method, and one call per simulated row
    would take minutes. A resample with no spread has t* = ±inf (0 when its mean is the
    row's), which widens the interval: the cautious choice."""
    runs, n = d.shape
    mean, se = d.mean(1), d.std(1, ddof=1) / math.sqrt(n)
    index = rng.integers(0, n, (b, n))
    out = np.full(runs, "undecided", dtype=object)
    for start in range(0, runs, 200):
        x = d[start : start + 200][:, index]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (x.mean(2) - mean[start : start + 200, None]) / (x.std(2, ddof=1) / math.sqrt(n))
        t[np.isnan(t)] = 0.0
        low = (
            mean[start : start + 200]
            - np.quantile(t, 1 - level / 2, axis=1) * se[start : start + 200]
        )
        high = (
            mean[start : start + 200] - np.quantile(t, level / 2, axis=1) * se[start : start + 200]
        )
        part = out[start : start + 200]
        part[low > 0], part[high < 0] = "a_better", "b_better"
    return out


def johnson_t(d: np.ndarray, level: float, rng: np.random.Generator):
    """Johnson's (1978) skewness-corrected t statistic against 0."""
    n = d.shape[1]
    mean, s = d.mean(1), d.std(1, ddof=1)
    mu3 = ((d - mean[:, None]) ** 3).mean(1) * n * n / ((n - 1) * (n - 2))
    t = (mean + mu3 / (6 * s * s * n) + mu3 / (3 * s**4) * mean * mean) / (s / math.sqrt(n))
    critical = stats.t.ppf(1 - level / 2, n - 1)
    out = np.full(d.shape[0], "undecided", dtype=object)
    out[t > critical], out[t < -critical] = "a_better", "b_better"
    return out


def run_design(decide, noise, runs: int, seed: int) -> tuple[float, float]:
    """Each direction's rate when the looks decide a direction with ``decide`` (TOST as the
    harness does, so equivalence still ends a run)."""
    rng = np.random.default_rng(seed)
    schedule = Plan().schedule()
    d = noise(rng, (runs, schedule[-1][0]))
    outcome = np.full(runs, "undecided", dtype=object)
    open_ = np.ones(runs, bool)
    for n, level in schedule:
        judged = judge_many(d[:, :n], level, MARGIN)
        direction = decide(d[:, :n], level, rng)
        judged[judged != "equivalent"] = "undecided"
        judged[direction != "undecided"] = direction[direction != "undecided"]
        new = open_ & (judged != "undecided")
        outcome[new] = judged[new]
        open_ &= ~new
    return float(np.mean(outcome == "a_better")), float(np.mean(outcome == "b_better"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--alternatives-runs", type=int, default=4_000)
    args = parser.parse_args()
    schedule = Plan().schedule()
    print("no true difference, the t-based look: A better / B better")
    cases = [
        ("normal, sd 0.001", 1e-3),
        ("normal, sd 0.003", 3e-3),
        ("30% zeros, lognormal(0, 1.5) with random signs, x 0.001", zero_inflated(1e-3)),
        ("the same x 0.01", zero_inflated(1e-2)),
        ("Student t (2 df) resampled, random signs", np.random.default_rng(8).standard_t(2, 15)),
    ]
    for name, noise in cases:
        if isinstance(noise, np.ndarray):
            noise = noise * 1e-3
        r = simulate(schedule, MARGIN, 0.0, noise, runs=args.runs, seed=11)
        print(f"  {name}: {100 * r.a_better:.2f}% / {100 * r.b_better:.2f}%")
    print("a true difference of +margin / -margin: called equivalent")
    for sd in (2e-4, 5e-4, 1e-3, 3e-3):
        up = simulate(schedule, MARGIN, MARGIN, sd, runs=args.runs, seed=5).equivalent
        down = simulate(schedule, MARGIN, -MARGIN, sd, runs=args.runs, seed=5).equivalent
        print(f"  sd {sd:g}: {100 * up:.2f}% / {100 * down:.2f}%")
    print("skewed, mean 0, x 0.01 (30% zeros): B better, by the direction test used")
    tests = [("t-based", lambda d, level, rng: judge_many(d, level, MARGIN))]
    tests += [("bootstrap-t", bootstrap_t), ("Johnson's t", johnson_t)]
    for sigma in (0.5, 0.75, 1.0, 1.5):
        row = []
        for name, decide in tests:
            runs = args.runs if name == "t-based" else args.alternatives_runs
            row.append(f"{name} {100 * run_design(decide, skewed(sigma, 1e-2), runs, 3)[1]:.1f}%")
        print(f"  sigma {sigma}: " + ", ".join(row))
    symmetric = run_design(bootstrap_t, zero_inflated(1e-2), args.alternatives_runs, 3)
    print(
        "bootstrap-t on the symmetric zero-inflated case x 0.01: "
        f"{100 * symmetric[0]:.1f}% / {100 * symmetric[1]:.1f}%"
    )


if __name__ == "__main__":
    main()
