"""A fake batch of pairs for harness compare's looks: it writes retrain records (the primary
outcome) for the repeats asked for and advances a fake clock, so the loop around it is checked
exactly and in milliseconds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SECONDS_PER_PAIR = 600.0


class FakeRun:
    """Writes retrain.json records for repeats < pairs: TPE - random = effect + noise."""

    def __init__(self, directory: Path, effect: float, sd: float = 1e-3) -> None:
        self.directory, self.effect, self.sd = directory, effect, sd
        self.now, self.batches = 0.0, []
        self.pace = [SECONDS_PER_PAIR]  # seconds per pair of batch 1, 2, ... (the last holds)
        self.noise = np.random.default_rng(0).normal(0.0, sd, 100)

    def clock(self) -> float:
        return self.now

    def batch(self, config, space, storage, directory, pairs, log) -> None:
        path = directory / "retrain.json"
        records = json.loads(path.read_text())["records"] if path.is_file() else []
        done = {r["repeat"] for r in records}
        new = [r for r in range(pairs) if r not in done]
        self.batches.append(pairs)
        for repeat in new:
            for sampler, auroc in (
                ("tpe", 0.91 + self.effect + self.noise[repeat]),
                ("random", 0.91),
            ):
                records.append(
                    {
                        "study": f"{config.run}/{sampler}/r{repeat}",
                        "sampler": sampler,
                        "repeat": repeat,
                        "trial": 0,
                        "results": [{"seed": 0, "status": "ok", "test_auroc": auroc}],
                    }
                )
        path.write_text(json.dumps({"records": records}))
        self.now += self.pace[min(len(self.batches), len(self.pace)) - 1] * len(new)
