"""Numbers as the harness accepts and writes them.

``is_number`` is the one check of a numeric setting (TOML and JSON both have inf and NaN, and
neither is a usable learning rate, bound or threshold); ``json_safe`` turns the non-finite
floats a record may hold (a diverged trial's loss) into null, which strict JSON readers accept.
"""

from __future__ import annotations

import math
from typing import Any


def is_number(value: Any) -> bool:
    """A finite int or float; booleans are not numbers here (``True`` is not a batch size)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def json_safe(value: Any) -> Any:
    """NaN and inf become null: strict JSON readers (and jq) reject them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
