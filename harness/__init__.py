"""Benchmark and hyperparameter-search harness for PyTorch MLPs on the UCI Adult data set.

The public surface is small on purpose: the data, the training engine and the lab's recipes.
"""

from harness.engine.train import TrainResult, TrainSettings, train
from harness.errors import HarnessError
from harness.lab.data import Splits, load_splits
from harness.lab.recipes import Recipe, load_recipes
from harness.search.task import FixedSettings, run_trial

__all__ = [
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
