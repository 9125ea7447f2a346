"""A fitted tree ensemble evaluated on one row in microseconds.

scikit-learn's ``predict`` validates its input and dispatches over the trees on every call:
about 4 to 10 ms for a single row on this project's machine, where a surrogate study asks for
one row at a time, thousands of times. Here the trees' node arrays are stacked (trees x nodes)
once, and one row walks every tree at the same time, one numpy step per level: the same leaves
as scikit-learn (features compared as float32, as its trees do), hence the same prediction up
to the order of the sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_LEAF = -1  # sklearn.tree._tree.TREE_LEAF


class FlatTrees:
    """``offset + scale * sum(leaf value of each tree)``: a random forest (offset 0, scale
    1 / trees) or gradient boosting (offset its initial constant, scale its learning rate)."""

    def __init__(self, trees: Sequence[Any], offset: float, scale: float) -> None:
        structures = [tree.tree_ for tree in trees]
        count, width = len(structures), max(s.node_count for s in structures)
        self.left = np.full((count, width), _LEAF, dtype=np.int64)
        self.right = np.full((count, width), _LEAF, dtype=np.int64)
        self.feature = np.zeros((count, width), dtype=np.int64)
        self.threshold = np.zeros((count, width), dtype=np.float64)
        self.value = np.zeros((count, width), dtype=np.float64)
        for index, s in enumerate(structures):
            nodes = s.node_count
            self.left[index, :nodes] = s.children_left
            self.right[index, :nodes] = s.children_right
            self.feature[index, :nodes] = np.maximum(s.feature, 0)  # leaves: -2, never read
            self.threshold[index, :nodes] = s.threshold
            self.value[index, :nodes] = s.value[:, 0, 0]
        self.trees = np.arange(count)
        self.offset, self.scale = float(offset), float(scale)

    def predict_row(self, row: Sequence[float]) -> float:
        x = np.asarray(row, dtype=np.float32).astype(np.float64)
        node = np.zeros(len(self.trees), dtype=np.int64)
        while True:
            left = self.left[self.trees, node]
            inner = left != _LEAF
            if not inner.any():
                break
            right = self.right[self.trees, node]
            goes_left = x[self.feature[self.trees, node]] <= self.threshold[self.trees, node]
            node = np.where(inner, np.where(goes_left, left, right), node)
        return self.offset + self.scale * float(self.value[self.trees, node].sum())


def flatten(model: Any) -> FlatTrees:
    """The flat form of a fitted RandomForestRegressor or GradientBoostingRegressor."""
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

    if isinstance(model, RandomForestRegressor):
        return FlatTrees(model.estimators_, 0.0, 1.0 / len(model.estimators_))
    if isinstance(model, GradientBoostingRegressor):
        offset = float(model.init_.constant_.ravel()[0])
        return FlatTrees(model.estimators_[:, 0], offset, model.learning_rate)
    raise TypeError(f"no flat form for {type(model).__name__}")
