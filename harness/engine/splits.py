"""The engine's input: a data set's three splits as float32 arrays.

Declared in the engine, which trains on any such splits; ``harness.lab.data`` builds the
Adult data set's (and re-exports the type, where users have always found it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Splits:
    """Preprocessed float32 arrays. Labels: float32 of shape (n, 1) for a binary task (as the
    lab's BCE losses expect) and a regression (the target standardised on the training rows,
    ``target_scale`` its standard deviation); int64 class indices of shape (n,) for a
    multiclass one (as cross-entropy expects)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str] = field(repr=False)
    variant: str = "lab"
    source: str = "packaged adult.data"
    kind: str = "binary"  # harness.choices.TaskKind
    classes: int = 2  # the outputs of a multiclass net (1 for binary and regression)
    target_scale: float = 1.0  # regression: RMSE in the target's units = this x standardised

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    def summary(self) -> dict:
        labels = np.concatenate([self.y_train, self.y_valid, self.y_test])
        return {
            "variant": self.variant,
            "source": self.source,
            "features": self.n_features,
            "train": list(self.x_train.shape),
            "valid": list(self.x_valid.shape),
            "test": list(self.x_test.shape),
            "positive_rate": round(float(labels.mean()), 4),
            "positive_rate_by_split": {
                name: round(float(y.mean()), 4)
                for name, y in (
                    ("train", self.y_train),
                    ("valid", self.y_valid),
                    ("test", self.y_test),
                )
            },
        }

    def subset(self, train_rows: int) -> Splits:
        """The first ``train_rows`` training rows (for fast tests); valid and test unchanged."""
        return replace(self, x_train=self.x_train[:train_rows], y_train=self.y_train[:train_rows])
