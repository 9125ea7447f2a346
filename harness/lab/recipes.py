"""Load and validate ``models/*.toml``: the lab's fixed models as frozen dataclasses.

Every rule lives in one table (``FIELDS``); a broken rule is reported with the file, the
recipe, the key, the rule and the value found.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from harness.choices import OPTIMIZERS
from harness.engine.nets import MLP, LogisticRegression
from harness.engine.settings import TrainSettings
from harness.errors import HarnessError
from harness.numbers import is_number
from harness.paths import DEFAULT_RECIPES, read_text

MODEL_KINDS = ("linear_regression", "logistic", "mlp")
LAB_METRICS = ("mse", "auroc", "f1", "precision", "recall")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# key -> (type description, type check, rule description, rule check)
FIELDS: dict[str, tuple[str, Callable[[Any], bool], str, Callable[[Any], bool]]] = {
    "title": ("a string", lambda v: isinstance(v, str), "", lambda v: True),
    "model": (
        "a string",
        lambda v: isinstance(v, str),
        f"one of {list(MODEL_KINDS)}",
        lambda v: v in MODEL_KINDS,
    ),
    "hidden": (
        "a list of integers",
        lambda v: isinstance(v, list) and all(map(_is_int, v)),
        "every width >= 1",
        lambda v: all(w >= 1 for w in v),
    ),
    "dropout": ("a finite number", is_number, "0 <= dropout < 1", lambda v: 0 <= v < 1),
    "batchnorm": ("a boolean", lambda v: isinstance(v, bool), "", lambda v: True),
    "optimizer": (
        "a string",
        lambda v: isinstance(v, str),
        f"one of {list(OPTIMIZERS)}",
        lambda v: v in OPTIMIZERS,
    ),
    "lr": ("a finite number", is_number, "lr > 0", lambda v: v > 0),
    "weight_decay": ("a finite number", is_number, "weight_decay >= 0", lambda v: v >= 0),
    "batch_size": ("an integer", _is_int, "batch_size >= 0 (0 = full batch)", lambda v: v >= 0),
    "shuffle": ("a boolean", lambda v: isinstance(v, bool), "", lambda v: True),
    "max_epochs": ("an integer", _is_int, "max_epochs >= 1", lambda v: v >= 1),
    "patience": ("an integer", _is_int, "patience >= 1", lambda v: v >= 1),
    "pos_weight": ("a boolean", lambda v: isinstance(v, bool), "", lambda v: True),
    "lab": (
        "a table",
        lambda v: isinstance(v, dict),
        f"keys among {list(LAB_METRICS)} with numbers in [0, 1]",
        lambda v: all(k in LAB_METRICS and is_number(x) and 0 <= x <= 1 for k, x in v.items()),
    ),
}
REQUIRED = ("model", "optimizer", "lr", "max_epochs")


@dataclass(frozen=True)
class Recipe:
    """A fixed lab model with its training settings and the lab's printed test results."""

    name: str
    title: str
    model: str
    settings: TrainSettings
    hidden: tuple[int, ...] = ()
    dropout: float = 0.0
    batchnorm: bool = False
    lab: dict[str, float] = field(default_factory=dict)

    def make_model(self, n_features: int) -> nn.Module:
        if self.model == "logistic":
            return LogisticRegression(n_features)
        if self.model == "mlp":
            return MLP(n_features, self.hidden, self.dropout, self.batchnorm)
        raise HarnessError(f"recipe {self.name!r}: model {self.model!r} is not a network")


def _check(source: str, name: str, table: dict[str, Any]) -> None:
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise HarnessError(
            f"{source}: [{name}] unknown key {unknown[0]!r}; known keys are {sorted(FIELDS)}"
        )
    for key in REQUIRED:
        if key not in table:
            raise HarnessError(f"{source}: [{name}] missing required key {key!r}")
    for key, value in table.items():
        type_name, type_ok, rule, rule_ok = FIELDS[key]
        if not type_ok(value):
            raise HarnessError(f"{source}: [{name}] {key} must be {type_name}, but got {value!r}")
        if not rule_ok(value):
            raise HarnessError(f"{source}: [{name}] {key}: {rule} must hold, but got {value!r}")
    if table["model"] == "mlp" and not table.get("hidden"):
        raise HarnessError(f"{source}: [{name}] model 'mlp' needs a non-empty 'hidden' list")
    if table.get("batchnorm") and table.get("batch_size") == 1:
        # BatchNorm1d cannot normalise a batch of one row in training mode.
        raise HarnessError(
            f"{source}: [{name}] batch_size: batch_size != 1 must hold with batchnorm = true, "
            "but got 1"
        )


def _recipe(name: str, table: dict[str, Any]) -> Recipe:
    settings = TrainSettings(
        optimizer=table["optimizer"],
        lr=float(table["lr"]),
        weight_decay=float(table.get("weight_decay", 0.0)),
        batch_size=table.get("batch_size", 0) or None,
        shuffle=table.get("shuffle", False),
        max_epochs=table["max_epochs"],
        patience=table.get("patience"),
        pos_weight=table.get("pos_weight", False),
    )
    return Recipe(
        name=name,
        title=table.get("title", name),
        model=table["model"],
        settings=settings,
        hidden=tuple(table.get("hidden", ())),
        dropout=float(table.get("dropout", 0.0)),
        batchnorm=table.get("batchnorm", False),
        lab={k: float(v) for k, v in table.get("lab", {}).items()},
    )


def load_recipes(path: str | Path = DEFAULT_RECIPES) -> dict[str, Recipe]:
    """All recipes of one TOML file, in file order, validated."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise HarnessError(f"recipe file not found: {source}")
    try:
        document = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as err:
        raise HarnessError(f"{source}: not valid TOML ({err})") from err
    if not document:
        raise HarnessError(f"{source}: no recipes (expected one [table] per recipe)")
    recipes = {}
    for name, table in document.items():
        if not isinstance(table, dict):
            raise HarnessError(f"{source}: top-level key {name!r} must be a [table] (a recipe)")
        _check(source, name, table)
        recipes[name] = _recipe(name, table)
    return recipes


def select(recipes: dict[str, Recipe], names: list[str] | None) -> list[Recipe]:
    """The named recipes (all when ``names`` is empty); unknown names list the known ones."""
    if not names:
        return list(recipes.values())
    unknown = [n for n in names if n not in recipes]
    if unknown:
        raise HarnessError(f"unknown recipe {unknown[0]!r}; known recipes: {', '.join(recipes)}")
    return [recipes[n] for n in names]
