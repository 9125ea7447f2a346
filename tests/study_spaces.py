"""Search spaces with tiny budgets for study tests (a data subset, a few epochs)."""

from __future__ import annotations

from pathlib import Path

TINY = """
[params.hidden_size]
type = "int"
low = 8
high = 32
log = true
[params.lr]
type = "float"
low = 1e-3
high = 1e-2
log = true
[params.batch_size]
type = "categorical"
choices = [256, 512]
[params.dropout]
type = "float"
low = 0.0
high = 0.3
[fixed]
max_epochs = 3
patience = 3
[data]
train_rows = 1500
"""

# Trials that last several seconds, so a worker or the driver can be killed mid-trial.
SLOW = """
[params.hidden_size]
type = "int"
low = 64
high = 128
[params.lr]
type = "float"
low = 1e-4
high = 2e-4
[params]
batch_size = 16
dropout = 0.1
[fixed]
max_epochs = 60
patience = 60
[data]
train_rows = 3000
"""

# Every trial's loss overflows to NaN in the first epoch.
DIVERGING = """
[params.lr]
type = "float"
low = 1e30
high = 1e31
log = true
[params]
hidden_size = 16
batch_size = 256
[fixed]
max_epochs = 3
patience = 3
[data]
train_rows = 1000
"""


def write_space(folder: Path, text: str, name: str = "space.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path
