"""How the engine trains, as plain validated values (no torch to import).

``LoopSettings`` holds what the training loop needs whatever the hyperparameters: the
optimizer, the epoch budget, early stopping and the two fast paths. Its defaults are declared
here once, and they are the lab's search task (LAB.md: Adam, at most 300 epochs, early
stopping with patience 10). Three kinds of run extend it:

- ``TrainSettings``: one model (``engine.train.train``), with its learning rate, weight decay,
  batches and class weight;
- ``PopulationSettings``: K search trials trained in one stacked step
  (``engine.population``), with their shared batch size;
- ``harness.search.config.FixedSettings``: what a search does not vary (a space file's
  ``[fixed]`` table), which ``search/task.py`` turns into either of the two above with
  ``loop_fields``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from harness.choices import OPTIMIZERS, Optimizer
from harness.errors import HarnessError

# How a population draws dropout masks (engine/population.py): "exact" continues each
# member's CPU generator as a solo run would; "hashed" is a counter-based hash, capturable.
DropoutStream = Literal["exact", "hashed"]


@dataclass(frozen=True, kw_only=True)
class LoopSettings:
    """The training loop's settings that are no hyperparameter of the model."""

    optimizer: Optimizer = "adam"
    max_epochs: int = 300
    # epochs without a lower validation loss before training stops and the best epoch's
    # weights are kept; None trains all max_epochs and keeps the last weights
    patience: int | None = 10
    cuda_graph: bool = True  # on CUDA, replay the training step as a CUDA graph (CPU: ignored)
    # On CPU, plain MLPs (no BatchNorm) train with the backward written out (mlp_step.py);
    # False: autograd and optimizer.step(). Same arithmetic, same dropout masks.
    hand_backward: bool = True
    # On CPU, flush denormal floats to zero while training (torch.set_flush_denormal). Weights
    # that weight decay shrinks towards zero (units no row activates) turn denormal after a
    # few epochs, and arithmetic on denormals is slow: an epoch of hidden 404 x batch 32 went
    # from 0.45 s to 1.2 s over 12 epochs, 0.47 s flushed (docs/performance.md). Off by
    # default: it changes some trials' per-epoch values in the last digits.
    flush_denormal: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise HarnessError(
                f"optimizer must be one of {list(OPTIMIZERS)}, but got {self.optimizer!r}"
            )
        if self.max_epochs < 1 or (self.patience is not None and self.patience < 1):
            raise HarnessError(
                "max_epochs >= 1 and patience >= 1 (or None: no early stopping) must hold, "
                f"but got (max_epochs={self.max_epochs}, patience={self.patience})"
            )


def loop_fields(settings: LoopSettings) -> dict[str, Any]:
    """The ``LoopSettings`` fields of ``settings`` as keywords: what one kind of settings
    passes on to another (a search's fixed settings to a trial's ``TrainSettings``)."""
    return {item.name: getattr(settings, item.name) for item in fields(LoopSettings)}


@dataclass(frozen=True, kw_only=True)
class TrainSettings(LoopSettings):
    """How one model is trained. ``batch_size=None`` is full-batch gradient descent."""

    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int | None = None
    shuffle: bool = False  # a new seeded permutation of the training rows each epoch
    pos_weight: bool = False  # BCE pos_weight = w1 / w0 from compute_class_weight("balanced")


@dataclass(frozen=True, kw_only=True)
class PopulationSettings(LoopSettings):
    """What every member of a population shares. Its step is always written out by hand, so
    ``hand_backward`` does not apply."""

    batch_size: int
    dropout_stream: DropoutStream | None = None  # None: exact on CPU, hashed on CUDA
