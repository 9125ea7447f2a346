"""The lab's networks. Every model returns logits; the losses apply the sigmoid."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


class LogisticRegression(nn.Module):
    """``Linear(in → 1)``. The lab applied a sigmoid and ``BCELoss``; this returns the logit
    and trains with ``BCEWithLogitsLoss``: the same loss and gradient, computed stably."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, x):
        return self.linear(x)


class MLP(nn.Sequential):
    """Linear → ReLU → [BatchNorm1d] → [Dropout] per hidden layer, then ``Linear(→ 1)``.

    The order ReLU → BatchNorm → Dropout is the lab's NormalizingMLP code, kept as written.
    """

    def __init__(
        self,
        n_features: int,
        hidden: Sequence[int],
        dropout: float = 0.0,
        batchnorm: bool = False,
    ) -> None:
        layers: list[nn.Module] = []
        width = n_features
        for units in hidden:
            layers += [nn.Linear(width, units), nn.ReLU()]
            if batchnorm:
                layers.append(nn.BatchNorm1d(units))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, 1))
        super().__init__(*layers)


def search_mlp(n_features: int, hidden_size: int, dropout: float) -> MLP:
    """The search task's 3-layer MLP: N hidden units, then N // 2."""
    return MLP(n_features, (hidden_size, max(1, hidden_size // 2)), dropout=dropout)
