"""What a run caches beside its studies: the lab's fixed models and the reference.

``runs/RUN/bench.json`` holds the lab's models trained with a few seeds and
``runs/RUN/reference.json`` the gradient-boosting reference; each is computed once, and again
only when more seeds (or, for the reference, other data) are asked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.experiment.run_files import read_run_file
from harness.files import write_atomically
from harness.lab.data import Splits
from harness.lab.reference import DEFAULT_SEEDS, MODEL, SETTINGS, reference_records
from harness.numbers import json_safe


def ensure_bench(
    path: Path, seeds: int, device: str, recipes_path: str | Path | None = None
) -> list[dict[str, Any]] | None:
    """The lab's fixed models with seeds 0..seeds-1 in ``path`` (trained unless cached)."""
    if seeds < 1:
        return None
    records = read_run_file(path)
    if records is not None and len({r["seed"] for r in records}) >= seeds:
        return records
    from harness.bench.models import bench_models
    from harness.engine.train import resolve_device
    from harness.lab.data import load_splits
    from harness.lab.recipes import DEFAULT_RECIPES, load_recipes

    recipes = list(load_recipes(recipes_path or DEFAULT_RECIPES).values())
    records = bench_models(recipes, load_splits(), list(range(seeds)), str(resolve_device(device)))
    write_atomically(path, json.dumps(json_safe(records), indent=2) + "\n")
    return records


def ensure_reference(
    path: Path,
    splits: Splits,
    seeds: tuple[int, ...] | list[int] = DEFAULT_SEEDS,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit the reference unless ``path`` already holds it for these seeds and data; return it.

    ``data`` describes the splits (variant, training rows) so that a cached file made for
    other data is refitted, not silently reused.
    """
    data = data or {"variant": splits.variant, "train_rows": int(splits.x_train.shape[0])}
    cached = read_reference(path)
    if cached is not None and cached.get("data") == data:
        done = {r["seed"] for r in cached.get("records", [])}
        if set(seeds) <= done:
            return cached
    document = {
        "model": MODEL,
        "settings": SETTINGS,
        "data": data,
        "records": reference_records(splits, seeds),
    }
    write_atomically(path, json.dumps(json_safe(document), indent=2) + "\n")
    return document


def read_reference(path: Path) -> dict[str, Any] | None:
    """The cached reference document, None if absent; a file that breaks its schema is an
    error."""
    return read_run_file(path)
