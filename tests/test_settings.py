"""One home for the training loop's settings (``engine/settings.py``) and early stopping."""

from __future__ import annotations

import pytest

from harness.engine.settings import LoopSettings, PopulationSettings, TrainSettings, loop_fields
from harness.engine.train import EarlyStopping
from harness.errors import HarnessError
from harness.search.config import FixedSettings

KINDS = [
    lambda **kw: LoopSettings(**kw),
    lambda **kw: TrainSettings(**kw),
    lambda **kw: PopulationSettings(batch_size=32, **kw),
    lambda **kw: FixedSettings(**kw),
]


def test_every_kind_of_settings_has_the_engines_defaults():
    """Declared once (LAB.md's search task): the search, one model and a population agree."""
    defaults = {
        "optimizer": "adam",
        "max_epochs": 300,
        "patience": 10,
        "cuda_graph": True,
        "hand_backward": True,
        "flush_denormal": False,
    }
    for make in KINDS:
        assert loop_fields(make()) == defaults


def test_a_searchs_fixed_settings_pass_on_whole():
    fixed = FixedSettings(optimizer="sgd", max_epochs=7, patience=2, hand_backward=False)
    trial = TrainSettings(**loop_fields(fixed), lr=0.1, batch_size=16, shuffle=True)
    population = PopulationSettings(**loop_fields(fixed), batch_size=16)
    assert loop_fields(trial) == loop_fields(population) == loop_fields(fixed)
    assert (trial.lr, trial.batch_size, trial.shuffle) == (0.1, 16, True)


@pytest.mark.parametrize("make", KINDS, ids=["loop", "train", "population", "fixed"])
@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"optimizer": "lbfgs"}, "optimizer must be one of"),
        ({"max_epochs": 0}, r"max_epochs >= 1 and patience >= 1"),
        ({"patience": 0}, r"max_epochs >= 1 and patience >= 1"),
    ],
)
def test_bad_settings_state_the_rule(make, fields, rule):
    with pytest.raises(HarnessError, match=rule):
        make(**fields)


def test_no_patience_is_allowed_where_early_stopping_is_off():
    assert TrainSettings(patience=None).patience is None


def test_a_searchs_epochs_have_a_ceiling():
    with pytest.raises(HarnessError, match=r"max_epochs <= 100000 must hold"):
        FixedSettings(max_epochs=100_001)


@pytest.mark.parametrize(
    ("patience", "losses", "best_epoch", "stops_after"),
    [
        (2, [0.5, 0.4, 0.45, 0.41], 2, 4),  # two epochs without a lower loss
        (2, [0.5, 0.4, 0.4, 0.3, 0.35], 4, None),  # an equal loss is no improvement
        (1, [0.5, 0.6], 1, 2),
        (None, [0.5, 0.4, 0.9], 3, None),  # no patience: the last epoch is kept, no stop
    ],
)
def test_early_stopping(patience, losses, best_epoch, stops_after):
    stopping: EarlyStopping[int] = EarlyStopping(patience)
    stopped = None
    for epoch, loss in enumerate(losses, start=1):
        stopping.update(epoch, loss, lambda epoch=epoch: epoch)
        if stopping.exhausted and stopped is None:
            stopped = epoch
    assert stopping.best_epoch == best_epoch
    assert stopped == stops_after
    # what is kept: the best epoch's snapshot with patience, nothing without (the last weights)
    assert stopping.best_state == (best_epoch if patience is not None else None)
