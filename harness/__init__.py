"""Benchmark and hyperparameter-search harness for PyTorch MLPs on the UCI Adult data set.

The public surface is small on purpose: the data, the training engine and the lab's recipes.
The names load on first use (PEP 562): ``harness --help`` and ``harness.errors`` must not pay
for torch, pandas and scikit-learn.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.engine.settings import TrainSettings
    from harness.engine.train import TrainResult, train
    from harness.lab.data import Splits, load_splits
    from harness.lab.recipes import Recipe, load_recipes
    from harness.search.task import FixedSettings, run_trial

# public name -> the module that defines it
_PUBLIC = {
    "FixedSettings": "harness.search.task",
    "Recipe": "harness.lab.recipes",
    "Splits": "harness.lab.data",
    "TrainResult": "harness.engine.train",
    "TrainSettings": "harness.engine.settings",
    "load_recipes": "harness.lab.recipes",
    "load_splits": "harness.lab.data",
    "run_trial": "harness.search.task",
    "train": "harness.engine.train",
}

__all__ = [  # written out for readers and linters; tests/test_layout.py checks it against _PUBLIC
    "FixedSettings",
    "HarnessError",
    "Recipe",
    "Splits",
    "TrainResult",
    "TrainSettings",
    "load_recipes",
    "load_splits",
    "run_trial",
    "train",
]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
