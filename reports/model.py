"""The report as data: sections of tables, figures and text, plus every number shown (for the CSV/JSON beside it)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recorder.errors import PersonaActError


class ReportError(PersonaActError, ValueError):
    """A result file a report reads is missing, unreadable or not of a known kind; the message names the file."""


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% CI and sample size, as every result file writes it: {"mean", "ci", "n"}."""

    mean: float
    low: float
    high: float
    n: int

    @classmethod
    def parse(cls, data: Any, where: str) -> Estimate:
        """Read `{"mean": m, "ci": [lo, hi], "n": n}`; a bare number is an estimate of n=1 without a CI."""
        if isinstance(data, int | float) and not isinstance(data, bool):
            return cls(float(data), float(data), float(data), 1)
        if not isinstance(data, Mapping) or "mean" not in data:
            raise ReportError(f"{where}: expected an estimate {{mean, ci, n}}, got {str(data)[:80]}")
        mean = _number(data["mean"], f"{where}.mean")
        ci = data.get("ci") or [mean, mean]
        if not isinstance(ci, Sequence) or len(ci) != 2:
            raise ReportError(f"{where}.ci: expected [low, high], got {ci!r}")
        n = data.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ReportError(f"{where}.n: expected a count, got {n!r}")
        return cls(mean, _number(ci[0], f"{where}.ci[0]"), _number(ci[1], f"{where}.ci[1]"), n)

    @property
    def has_ci(self) -> bool:
        """False for a single observation (n <= 1) or a degenerate interval."""
        return self.n > 1 and self.high > self.low

    def text(self, digits: int = 3, unit: str = "") -> str:
        """'0.412 [0.301, 0.530] (n=5)', or '0.412 (n=1, no CI)'."""
        suffix = f" {unit}" if unit else ""
        if not math.isfinite(self.mean):
            return f"n/a (n={self.n})"
        if self.has_ci:
            return f"{self.mean:.{digits}f}{suffix} [{self.low:.{digits}f}, {self.high:.{digits}f}] (n={self.n})"
        return f"{self.mean:.{digits}f}{suffix} (n={self.n}, no CI)"


def _number(value: Any, where: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReportError(f"{where}: expected a number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Number:
    """One number shown in the report, as a row of numbers.csv: where it is, what it is, its CI and n."""

    section: str
    item: str
    quantity: str
    value: float | str | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (also the CSV columns)."""
        return {"section": self.section, "item": self.item, "quantity": self.quantity, "value": self.value,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n, "unit": self.unit}


@dataclass(frozen=True)
class Table:
    """A table with a header row; cells are already formatted text."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.headers):
                raise ValueError(f"table {self.caption!r}: row {i} has {len(row)} cells for {len(self.headers)} headers")


@dataclass(frozen=True)
class Figure:
    """An inline SVG plot with a title (read by screen readers) and a caption in words."""

    title: str
    svg: str
    caption: str


@dataclass(frozen=True)
class Text:
    """A paragraph (or a pre-formatted block such as a persona card)."""

    text: str
    preformatted: bool = False


@dataclass(frozen=True)
class Verdict:
    """A pass/fail line (validation checks)."""

    label: str
    passed: bool
    detail: str = ""


Block = Table | Figure | Text | Verdict


@dataclass(frozen=True)
class Section:
    """One titled part of the report; `anchor` is its HTML id (tests look sections up by it)."""

    anchor: str
    title: str
    blocks: tuple[Block, ...]
    level: int = 2


@dataclass(frozen=True)
class Part:
    """What one report kind contributes: sections, the numbers they show, limitations and source files."""

    sections: tuple[Section, ...]
    numbers: tuple[Number, ...]
    limitations: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """The whole report: parts in order, then limitations and provenance."""

    title: str
    parts: tuple[Part, ...]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def numbers(self) -> tuple[Number, ...]:
        """Every number shown, in order."""
        return tuple(n for part in self.parts for n in part.numbers)

    @property
    def limitations(self) -> tuple[str, ...]:
        """Every limitation, deduplicated, in order."""
        return tuple(dict.fromkeys(line for part in self.parts for line in part.limitations))

    @property
    def sections(self) -> tuple[Section, ...]:
        """Every section, in order."""
        return tuple(s for part in self.parts for s in part.sections)
