"""The lab's model 1: y = a·x + b fitted by gradient descent, in NumPy and with autograd.

``np.random.seed(seed)``; x is 100 evenly spaced points in [0, 1] (``np.linspace``, which is
what reproduces the lab's printed MSE of 0.01008 with seed 0); y = x + N(0, 0.1); the initial
a and b are drawn from the same generator, so both implementations start from one point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class LinearFit:
    implementation: str  # "numpy" or "pytorch"
    a: float
    b: float
    mse: float
    steps: int
    seconds: float


def synthetic_line(seed: int = 0, n: int = 100) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The lab's data and starting point: x, y, initial a, initial b."""
    np.random.seed(seed)  # the lab seeds NumPy's global generator; kept for faithfulness
    x = np.linspace(0.0, 1.0, n).reshape(-1, 1)
    y = x + np.random.normal(0.0, 0.1, size=(n, 1))
    a0, b0 = np.random.randn(1), np.random.randn(1)
    return x, y, float(a0[0]), float(b0[0])


def fit_numpy(seed: int = 0, lr: float = 0.1, steps: int = 1000) -> LinearFit:
    """Hand-written full-batch gradient descent on the mean squared error."""
    x, y, a, b = synthetic_line(seed)
    started = time.perf_counter()
    for _ in range(steps):
        error = a * x + b - y
        grad_a = 2 * float(np.mean(error * x))
        grad_b = 2 * float(np.mean(error))
        a, b = a - lr * grad_a, b - lr * grad_b
    mse = float(np.mean((a * x + b - y) ** 2))
    return LinearFit("numpy", a, b, mse, steps, time.perf_counter() - started)


def fit_pytorch(seed: int = 0, lr: float = 0.1, steps: int = 1000) -> LinearFit:
    """The same fit with autograd and ``optim.SGD`` (float64, as NumPy computes)."""
    x_np, y_np, a0, b0 = synthetic_line(seed)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    a = torch.tensor([a0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([b0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([a, b], lr=lr)
    loss_fn = torch.nn.MSELoss()
    started = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(a * x + b, y)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        mse = float(loss_fn(a * x + b, y))
    return LinearFit("pytorch", a.item(), b.item(), mse, steps, time.perf_counter() - started)
