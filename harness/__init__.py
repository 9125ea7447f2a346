"""Benchmark and hyperparameter-search harness for PyTorch MLPs on the UCI Adult data set.

The public surface is small on purpose: the data, the training engine and the lab's recipes.
"""

from harness.data import Splits, load_splits
from harness.errors import HarnessError
from harness.recipes import Recipe, load_recipes
from harness.search_task import FixedSettings, run_trial
from harness.train import TrainResult, TrainSettings, train

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
