"""A builder each report kind uses: format a value for the page and record the same value for numbers.csv."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from reports.model import Estimate, Number


class Numbers:
    """Collects the numbers of one section while its tables are formatted (so what is shown is what is written)."""

    def __init__(self, section: str) -> None:
        self.section = section
        self.rows: list[Number] = []

    def estimate(self, item: str, quantity: str, estimate: Estimate, digits: int = 3, unit: str = "") -> str:
        """Record an estimate and return its text with CI and n."""
        self.rows.append(Number(self.section, item, quantity, _finite(estimate.mean),
                                _finite(estimate.low) if estimate.has_ci else None,
                                _finite(estimate.high) if estimate.has_ci else None, estimate.n, unit))
        return estimate.text(digits, unit)

    def value(self, item: str, quantity: str, value: Any, digits: int = 3, unit: str = "", n: int | None = None) -> str:
        """Record a plain value (count, share, flag, text) and return its text."""
        if isinstance(value, bool):
            stored: float | str | None = "true" if value else "false"
            shown = "yes" if value else "no"
        elif isinstance(value, int):
            stored, shown = float(value), f"{value}"
        elif isinstance(value, float):
            stored = _finite(value)
            shown = "n/a" if stored is None else f"{value:.{digits}f}"
        elif value is None:
            stored, shown = None, "n/a"
        else:
            stored = shown = str(value)
        self.rows.append(Number(self.section, item, quantity, stored, None, None, n, unit))
        return f"{shown} {unit}".strip() if unit and shown != "n/a" else shown

    def series(self, item: str, quantity: str, xs: list[float], estimates: list[Estimate], x_name: str,
               unit: str = "") -> None:
        """Record the points of a plotted curve (one row per x, the x in the item name)."""
        for x, est in zip(xs, estimates):
            self.estimate(f"{item} @ {x_name} {x:g}", quantity, est, unit=unit)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def estimates(rows: list[Mapping[str, Any]], key: str, where: str) -> list[Estimate]:
    """The estimate under `key` of each row, errors naming the row."""
    return [Estimate.parse(row.get(key), f"{where}[{i}].{key}") for i, row in enumerate(rows)]


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested JSON as (dotted key, leaf) pairs; an estimate {mean, ci, n} and a list of scalars are leaves."""
    if isinstance(data, Mapping) and not _is_estimate(data):
        pairs: list[tuple[str, Any]] = []
        for key, value in data.items():
            pairs += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return pairs or [(prefix, "{}")]
    if isinstance(data, list) and data and all(isinstance(v, Mapping) for v in data):
        pairs = []
        for i, value in enumerate(data):
            pairs += flatten(value, f"{prefix}[{i}]")
        return pairs
    return [(prefix, data)]


def key_values(numbers: Numbers, item: str, data: Any) -> tuple[tuple[str, str], ...]:
    """Rows of a key-value table (manifests, settings), each value recorded as shown."""
    rows = []
    for key, leaf in flatten(data):
        if _is_estimate(leaf):
            rows.append((key, numbers.estimate(item, key, Estimate.parse(leaf, key))))
        elif isinstance(leaf, float):
            rows.append((key, numbers.value(item, key, f"{leaf:.6g}")))
        elif isinstance(leaf, list):
            rows.append((key, numbers.value(item, key, ", ".join(
                f"{v:.6g}" if isinstance(v, float) else str(v) for v in leaf) if leaf else "(none)")))
        else:
            rows.append((key, numbers.value(item, key, leaf)))
    return tuple(rows)


def _is_estimate(value: Any) -> bool:
    return isinstance(value, Mapping) and "mean" in value and "ci" in value
