"""How the tests compare two float paths that do the same arithmetic in another order.

The hand-written backward against autograd (``engine/mlp_step.py``), a population member
against its solo run (``engine/population.py``), a padded member against an unpadded one: the
same sums, rounded in another order or by other kernels. Their gradients and first steps agree
to float rounding, and that is checked tightly. Over epochs of shuffled dropout training a
last-bit difference grows (a ReLU flips, Adam divides by a tiny second moment), by how much
depends on the kernels the CPU runs, so longer runs are checked by outcome (the same stop and
kept epoch, AUROC within ``AUROC_ABS``) and by a loss tolerance derived from a measured spread.

The spread, measured with ``scripts/float_spread.py`` (40 seeds; five kernel sets:
``ATEN_CPU_CAPABILITY`` avx512, avx2 and default, ``MKL_ENABLE_INSTRUCTIONS`` AVX2, and
default with SSE4_2; the search MLP at hidden 40, dropout 0.3, Adam lr 3e-3, batch 96, 2,000
training rows, 8 epochs, patience 3), hand-written backward against autograd:

- first epoch (21 steps): validation loss within 1.6e-7 relative, AUROC within 3e-7;
- later epochs: validation loss up to 8.0e-4 relative, validation AUROC up to 6.3e-5; at the
  kept epoch, test AUROC up to 1.6e-5, validation F1 up to 2.7e-4 and its F1-optimal
  threshold up to 1.6e-3 (an argmax that jumps between nearly tied cut-offs); the same stop and
  kept epoch in all 200 runs. The same path under two kernel sets drifts as far apart, and a
  population member against its solo run stayed within 2e-7 over 12 epochs in every set.
"""

from __future__ import annotations

import pytest

FIRST_EPOCH_REL = 1e-5  # 60x the measured 1.6e-7: float rounding, no room for a real error
LOSS_REL = 1e-2  # 12x the largest measured drift of a later epoch (8.0e-4)
AUROC_ABS = 1e-3  # 16x the largest measured (6.3e-5); no finding of a search depends on less
F1_ABS = 5e-3  # 18x the largest measured (2.7e-4): F1 at a threshold moves more than AUROC


def assert_same_training(
    mine, theirs, *, tight_epochs: int = 1, loss_rel: float = LOSS_REL
) -> None:
    """Two ``TrainResult``s of one training run by two float paths: the same status, epochs
    trained and kept epoch; the first ``tight_epochs`` epochs' losses and AUROC within float
    rounding (``FIRST_EPOCH_REL``), later ones within the measured drift (``loss_rel``,
    ``AUROC_ABS``); the kept model's test AUROC within ``AUROC_ABS`` and its validation F1
    within ``F1_ABS``. Not its F1-optimal threshold: an argmax over the PR curve, it jumps
    where two cut-offs nearly tie (1.6e-3 measured) while the F1 there barely moves. A GPU
    comparison passes the tolerance measured on its card as ``loss_rel``, with no tight
    epoch."""
    assert (mine.status, mine.epochs, mine.best_epoch) == (
        theirs.status,
        theirs.epochs,
        theirs.best_epoch,
    )
    for a, b in zip(mine.history, theirs.history, strict=True):
        tight = a["epoch"] <= tight_epochs
        for key in ("train_loss", "val_loss"):
            rel = FIRST_EPOCH_REL if tight else loss_rel
            assert a[key] == pytest.approx(b[key], rel=rel, nan_ok=True), (a["epoch"], key)
        auroc_abs = FIRST_EPOCH_REL if tight else AUROC_ABS
        assert a["val_auroc"] == pytest.approx(b["val_auroc"], abs=auroc_abs, nan_ok=True), (
            a["epoch"],
            "val_auroc",
        )
    if theirs.status == "ok":
        assert mine.test.auroc == pytest.approx(theirs.test.auroc, abs=AUROC_ABS)
        assert mine.valid.f1 == pytest.approx(theirs.valid.f1, abs=F1_ABS)
