"""The report's markdown: where figures go and how they are linked, tables, and every number
format the sections share (one place, so the same kind of number reads the same everywhere).

Nothing here knows a run: the sections pass plain values in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import numpy as np

MISSING = "—"  # a cell with no number


@dataclass
class Figures:
    """Where the PNGs go, and how the markdown links them (relative, so GitHub renders)."""

    folder: Path
    link: str
    made: list[Path] = field(default_factory=list)

    def path(self, name: str) -> Path:
        path = self.folder / name
        self.made.append(path)
        return path

    def image(self, path: Path, alt: str) -> str:
        return image(self.link, path, alt)


def image(folder: str, path: Path, alt: str) -> str:
    return f"![{alt}]({quote(folder)}/{quote(path.name)})"


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def shown_path(path: str | Path, here: Path | None = None) -> str:
    """A file as a committed report may show it: relative to the current folder when it lies
    inside it, else by its name alone (a machine's absolute path says nothing to a reader and
    would differ on every machine)."""
    path = Path(path)
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to((here or Path.cwd()).resolve()))
    except ValueError:
        return f"…/{path.name}"


def plural(count: int, noun: str) -> str:
    """``1 seed``, ``3 seeds``: a count with its noun (English plural by an s)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# ---------------------------------------------------------------- numbers


def fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return MISSING
    return f"{value:.{digits}f}"


def mean_std(values: list[float], digits: int = 4) -> str:
    values = [v for v in values if isinstance(v, int | float) and np.isfinite(v)]
    if not values:
        return MISSING
    if len(values) == 1:  # one run has no spread to show
        return f"{values[0]:.{digits}f}"
    std = float(np.std(values, ddof=1))
    return f"{np.mean(values):.{digits}f} ± {std:.{digits}f}"


def median_text(values: list, digits: int) -> str:
    """The median of the finite numbers among ``values``; — when there is none."""
    numbers = [v for v in values if isinstance(v, int | float) and np.isfinite(v)]
    return fmt(float(np.median(numbers)), digits) if numbers else MISSING


def fmt_params(params: dict[str, Any]) -> str:
    parts = []
    for key, value in params.items():
        parts.append(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(parts)


def signed_difference(value: float) -> str:
    """A signed difference readable at any size (AUROC differences can be 1e-5)."""
    return f"{value:+.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:+.1e}"


class Estimate(Protocol):
    """An estimate with its interval (harness.experiment.verdict's Interval, for one)."""

    @property
    def estimate(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...


def ci_text(interval: Estimate) -> str:
    """``+0.0012 [-0.0003, +0.0027]``: a signed difference with its interval."""
    return (
        f"{signed_difference(interval.estimate)} [{signed_difference(interval.low)}, "
        f"{signed_difference(interval.high)}]"
    )


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def fmt_seconds(value: Any) -> str:
    """Seconds in the unit that keeps three significant digits readable."""
    if not isinstance(value, int | float):
        return MISSING
    if value >= 1:
        return f"{value:.3g} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} µs"


def significant(value: float | None) -> str:
    """Four significant digits, enough to compare and short enough to read."""
    return MISSING if value is None else f"{value:.4g}"


def times(value: float | None) -> str:
    """A ratio: ``2.31x``."""
    return MISSING if value is None else f"{value:.3g}x"


def percent(fraction: float) -> str:
    value = 100 * fraction
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def time_unit(seconds: float) -> tuple[float, str]:
    """(seconds per unit, unit) for an axis that ends at ``seconds``."""
    if seconds > 2 * 3600:
        return 3600.0, "h"
    if seconds > 120:
        return 60.0, "min"
    return 1.0, "s"
