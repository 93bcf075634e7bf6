"""Engagement counts as apps print them (1.2万, 3亿, 1.2K, 3.4M, 12,345, 1.5w) and back (shared by device and recorder)."""

from __future__ import annotations

import math
import re

COUNT_STYLES = ("zh", "w", "en")
_UNITS = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000,
          "k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000, "b": 1_000_000_000, "B": 1_000_000_000}
_COUNT_RE = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*([万亿wWkKmMbB]?)\+?")


def parse_count(text: str | None) -> int | None:
    """Parse the first count in `text`; None when it holds no number (apps print '赞' for zero).

    >>> [parse_count(s) for s in ("1.2万", "3亿", "1.2K", "3.4M", "12,345", "1.5w", "赞", "999+")]
    [12000, 300000000, 1200, 3400000, 12345, 15000, None, 999]
    """
    if not text:
        return None
    match = _COUNT_RE.search(text)
    if match is None:
        return None
    number = float(match.group(1).replace(",", ""))
    return int(round(number * _UNITS.get(match.group(2), 1)))


def _floor_one_decimal(value: float) -> str:
    text = f"{math.floor(value * 10 + 1e-9) / 10:.1f}"
    return text[:-2] if text.endswith(".0") else text


def format_count(value: int, style: str = "zh") -> str:
    """Print a count the way an app does (one decimal, rounded down), e.g. 12345 -> '1.2万' (zh), '12.3K' (en).

    >>> format_count(12345), format_count(123456789), format_count(12345, "en"), format_count(15000, "w")
    ('1.2万', '1.2亿', '12.3K', '1.5w')
    """
    if style not in COUNT_STYLES:
        raise ValueError(f"unknown count style {style!r}; known: {', '.join(COUNT_STYLES)}")
    if value < 0:
        raise ValueError(f"a count cannot be negative, got {value}")
    if style == "en":
        for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
            if value >= size:
                return _floor_one_decimal(value / size) + unit
        return str(value)
    if value >= 1e8:
        return _floor_one_decimal(value / 1e8) + "亿"
    if value >= 1e4:
        return _floor_one_decimal(value / 1e4) + ("万" if style == "zh" else "w")
    return str(value)


def displayed(value: int | None, style: str) -> int | None:
    """The count a viewer can read off the screen: `value` after the app's rounding."""
    return None if value is None else parse_count(format_count(value, style))
