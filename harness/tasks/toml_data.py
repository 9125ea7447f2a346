"""A space file's ``[data]`` table as a task's ``DataSpec``: which data, what to predict, how
to split it; a file path relative to the TOML file. Each broken rule is one message naming
the file, the key and the rule; the data itself is checked by ``frames.resolve_data``."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from harness.choices import TASK_KINDS, VARIANTS
from harness.errors import HarnessError
from harness.tasks.frames import BUNDLED
from harness.tasks.spec import ADULT, DataSpec

# key -> (the TOML type, a rule on the value or None)
_KEYS: dict[str, type] = {
    "source": str,
    "target": str,
    "kind": str,
    "categorical": list,
    "test_fraction": float,
    "valid_fraction": float,
    "split_seed": int,
    "train_rows": int,
    "variant": str,
}
assert set(_KEYS) == {f.name for f in fields(DataSpec)}, "a DataSpec field without its TOML key"


def _error(file: str, key: str, rule: str) -> HarnessError:
    return HarnessError(f"{file}: data.{key}: {rule}")


def _typed(file: str, key: str, value: Any) -> Any:
    want = _KEYS.get(key)
    if want is None:
        raise _error(file, key, f"unknown key; known keys: {sorted(_KEYS)}")
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, want):
        raise _error(file, key, f"must be {want.__name__}, but got {value!r}")
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise _error(file, key, f"must be a list of column names, but got {value!r}")
        return tuple(value)
    return value


def data_spec(file: str, table: Any) -> DataSpec:
    """The ``[data]`` table of space file ``file``, checked, as a ``DataSpec``."""
    if not isinstance(table, dict):
        raise HarnessError(f"{file}: data: must be a table, but got {table!r}")
    values = {key: _typed(file, key, value) for key, value in table.items()}
    if values.get("kind", "binary") not in TASK_KINDS:
        raise _error(file, "kind", f"must be one of {list(TASK_KINDS)}, but got {values['kind']!r}")
    if values.get("variant", "lab") not in VARIANTS:
        raise _error(
            file, "variant", f"must be one of {list(VARIANTS)}, but got {values['variant']!r}"
        )
    if "train_rows" in values and values["train_rows"] < 2:
        raise _error(file, "train_rows", f"must be >= 2, but got {values['train_rows']}")
    source = values.get("source", ADULT)
    if source not in (ADULT, *BUNDLED) and not Path(source).is_absolute():
        values["source"] = str((Path(file).parent / source).resolve())
    try:
        return DataSpec(**values)
    except HarnessError as err:
        raise HarnessError(f"{file}: data: {err}") from None
