"""The pruners a study can use, recorded with the study as its sampler is.

A pruner is chosen by name (``harness.choices.PRUNERS``). Every study stores its pruner's
*settings* (a JSON object with every setting written out, not left to Optuna's defaults of
the day) as the study attribute ``pruner_settings``, and the pruner is always built from that
record, so a resumed study keeps the pruner it was created with (``search/samplers.py`` does
the same for samplers). Optuna is imported only when a pruner is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.choices import PRUNERS
from harness.errors import HarnessError

if TYPE_CHECKING:
    from optuna.pruners import BasePruner

SETTINGS: dict[str, dict[str, Any]] = {
    "none": {"name": "NopPruner"},
    # Judged against the median of 5 finished trials at the same epoch, and never in a trial's
    # first 5 epochs: the search MLP's validation AUROC jumps about in its first epochs.
    "median": {
        "name": "MedianPruner",
        "n_startup_trials": 5,
        "n_warmup_steps": 5,
        "interval_steps": 1,
        "n_min_trials": 1,
    },
    # A rung is 3 epochs at least; the most a trial trains is learned from finished trials.
    "hyperband": {
        "name": "HyperbandPruner",
        "min_resource": 3,
        "max_resource": "auto",
        "reduction_factor": 3,
        "bootstrap_count": 0,
    },
}
assert tuple(SETTINGS) == PRUNERS, "harness.choices.PRUNERS lists the pruners, in order"
CLASSES = {settings["name"]: name for name, settings in SETTINGS.items()}


def pruner_settings(name: str) -> dict[str, Any]:
    """Every setting of the pruner ``name``, as a JSON-serialisable record."""
    if name not in SETTINGS:
        raise HarnessError(f"pruner must be one of {list(PRUNERS)}, but got {name!r}")
    return dict(SETTINGS[name])


def pruner_name(settings: dict[str, Any]) -> str:
    """The name (``--pruner``) of the pruner a settings record describes."""
    name = CLASSES.get(settings.get("name", ""))
    if name is None:
        raise HarnessError(
            f"a stored pruner must be one of {list(CLASSES)}, but the study records {settings!r}"
        )
    return name


def build_pruner(settings: dict[str, Any]) -> BasePruner:
    """The pruner a settings record describes."""
    import optuna

    pruner_name(settings)  # a record this version knows
    kwargs = {key: value for key, value in settings.items() if key != "name"}
    return getattr(optuna.pruners, settings["name"])(**kwargs)
