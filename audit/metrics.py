"""Audit metrics as pure functions over category sequences: windowed diversity, entropy, decline, slope, BEP, top-10 shift.

Conventions: ads, live rooms and uncategorised steps are left out of every category sequence; entropies and the
Jensen-Shannon divergence use base 2 (so BEP lies in [0, 1]); an Estimate is {"mean", "ci": [low, high], "n"}.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recorder.errors import PersonaActError
from recorder.trace import Step

LEVELS = ("top", "full")


class MetricError(ValueError, PersonaActError):
    """A metric got input it cannot measure (too few steps for a window, an empty distribution...)."""


@dataclass(frozen=True)
class Estimate:
    """A number with its 95% confidence interval and how many values it rests on."""

    mean: float
    low: float
    high: float
    n: int

    def __post_init__(self) -> None:
        if self.n < 1:
            raise MetricError(f"estimate: n must be >= 1, got {self.n}")
        if not self.low <= self.mean <= self.high and not any(map(math.isnan, (self.mean, self.low, self.high))):
            raise MetricError(f"estimate: mean {self.mean} lies outside its CI [{self.low}, {self.high}]")

    def to_dict(self) -> dict[str, Any]:
        """The contract's ESTIMATE object."""
        return {"mean": self.mean, "ci": [self.low, self.high], "n": self.n}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Estimate:
        """Inverse of `to_dict`."""
        return cls(float(data["mean"]), float(data["ci"][0]), float(data["ci"][1]), int(data["n"]))

    def disjoint(self, other: Estimate) -> bool:
        """Whether the two CIs do not overlap."""
        return self.high < other.low or other.high < self.low


def labels(steps: Iterable[Step], level: str = "top") -> list[str]:
    """The category of each categorised video step ('Top' or 'Top/Sub'), ads and live rooms left out."""
    if level not in LEVELS:
        raise MetricError(f"level: {level!r} is not one of {', '.join(LEVELS)}")
    out = []
    for step in steps:
        if step.category is None or step.meta.is_ad or step.meta.is_live:
            continue
        out.append(step.category.top if level == "top" else "/".join(step.category.path))
    return out


def windows(n: int, size: int, stride: int | None = None) -> list[tuple[int, int]]:
    """[start, end) bounds of windows of `size` items every `stride` (default: back to back) over n items.

    >>> windows(120, 50), windows(100, 50, 25)
    ([(0, 50), (50, 100)], [(0, 50), (25, 75), (50, 100)])
    """
    stride = stride or size
    if size < 1 or stride < 1:
        raise MetricError(f"window size and stride must be >= 1, got {size} and {stride}")
    if n < size:
        raise MetricError(f"{n} categorised videos are fewer than one window of {size}; run more steps or lower --window")
    return [(start, start + size) for start in range(0, n - size + 1, stride)]


def distinct(items: Sequence[str]) -> int:
    """How many different categories occur."""
    return len(set(items))


def entropy(items: Sequence[str]) -> float:
    """Shannon entropy (bits) of the categories' empirical distribution.

    >>> entropy(["a", "b", "a", "b"]), entropy(["a"] * 3)
    (1.0, 0.0)
    """
    if not items:
        raise MetricError("entropy of an empty window")
    counts = np.array(list(Counter(items).values()), float)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0


def window_series(items: Sequence[str], size: int, stride: int | None = None,
                  measure: Callable[[Sequence[str]], float] = distinct) -> list[float]:
    """`measure` of every window."""
    return [float(measure(items[a:b])) for a, b in windows(len(items), size, stride)]


def relative_decline(series: Sequence[float]) -> float:
    """(first - last) / first: the share of the first window's diversity lost by the last one.

    >>> relative_decline([10, 8, 5])
    0.5
    """
    if len(series) < 2:
        raise MetricError("a decline needs at least two windows; run more steps or lower --window")
    if series[0] <= 0:
        raise MetricError("the first window has no diversity to decline from")
    return (series[0] - series[-1]) / series[0]


def trend_slope(series: Sequence[float]) -> Estimate:
    """Least-squares slope of the series per window, with its t-based 95% CI (needs >= 3 windows for a CI)."""
    y = np.asarray(series, float)
    if len(y) < 2:
        raise MetricError("a slope needs at least two windows")
    x = np.arange(len(y), dtype=float)
    xc = x - x.mean()
    slope = float((xc * (y - y.mean())).sum() / (xc ** 2).sum())
    if len(y) < 3:
        return Estimate(slope, slope, slope, len(y))
    from scipy import stats

    resid = y - (y.mean() + slope * xc)
    se = math.sqrt(float((resid ** 2).sum()) / (len(y) - 2) / float((xc ** 2).sum()))
    half = float(stats.t.ppf(0.975, len(y) - 2)) * se
    return Estimate(slope, slope - half, slope + half, len(y))


def distribution(items: Iterable[str]) -> dict[str, float]:
    """Empirical category shares."""
    counts = Counter(items)
    total = sum(counts.values())
    if not total:
        raise MetricError("no categorised videos to form a distribution from")
    return {k: v / total for k, v in counts.items()}


def js_divergence(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Jensen-Shannon divergence, base 2, in [0, 1] (0: same distribution; 1: disjoint supports).

    >>> js_divergence({"a": 1.0}, {"b": 1.0}), js_divergence({"a": .5, "b": .5}, {"a": .5, "b": .5})
    (1.0, 0.0)
    """
    keys = sorted(set(p) | set(q))
    a = np.array([p.get(k, 0.0) for k in keys], float)
    b = np.array([q.get(k, 0.0) for k in keys], float)
    if a.sum() <= 0 or b.sum() <= 0:
        raise MetricError("JS divergence of an empty distribution")
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x: np.ndarray) -> float:
        mask = x > 0
        return float((x[mask] * np.log2(x[mask] / m[mask])).sum())

    return min(1.0, max(0.0, (kl(a) + kl(b)) / 2))


def bep(cultivation: Sequence[str], reversal: Sequence[str]) -> float:
    """Bubble escape potential: JS divergence (base 2) of the two phases' category distributions."""
    return js_divergence(distribution(cultivation), distribution(reversal))


def bootstrap_ci(statistic: Callable[[np.random.Generator], float], point: float, resamples: int = 1000,
                 seed: int = 0) -> Estimate:
    """Percentile 95% CI of `statistic(rng)` (which draws its own resample) around the full-sample `point`."""
    if resamples < 10:
        raise MetricError(f"bootstrap resamples must be >= 10, got {resamples}")
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng) for _ in range(resamples)])
    low, high = (float(v) for v in np.percentile(values, [2.5, 97.5]))
    return Estimate(point, min(low, point), max(high, point), resamples)


def bep_bootstrap(cultivation: Sequence[str], reversal: Sequence[str], resamples: int = 1000,
                  seed: int = 0) -> Estimate:
    """BEP with a bootstrap CI (videos resampled with replacement within each phase); n = videos in both phases."""
    a, b = np.asarray(cultivation), np.asarray(reversal)

    def draw(rng: np.random.Generator) -> float:
        return bep(list(rng.choice(a, len(a))), list(rng.choice(b, len(b))))

    est = bootstrap_ci(draw, bep(cultivation, reversal), resamples, seed)
    return Estimate(est.mean, est.low, est.high, len(a) + len(b))


def mean_ci(values: Sequence[float]) -> Estimate:
    """Mean across repeats with a t-based 95% CI ([mean, mean] for a single repeat)."""
    v = np.asarray(values, float)
    if not len(v):
        raise MetricError("no values to average")
    mean = float(v.mean())
    if len(v) == 1:
        return Estimate(mean, mean, mean, 1)
    from scipy import stats

    half = float(stats.t.ppf(0.975, len(v) - 1)) * float(v.std(ddof=1)) / math.sqrt(len(v))
    return Estimate(mean, mean - half, mean + half, len(v))


@dataclass(frozen=True)
class RankRow:
    """One row of a top-10 table: rank, category, share, and (reversal phase) how it moved."""

    rank: int
    category: str
    share: float
    marker: str | None = None  # NEW | up | down | = (reversal phase only)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {"rank": self.rank, "category": self.category, "share": round(self.share, 6)}
        if self.marker is not None:
            out["marker"] = self.marker
        return out


def top_k(items: Sequence[str], k: int = 10) -> list[RankRow]:
    """The k most frequent categories (ties broken by name), with shares."""
    shares = distribution(items)
    ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [RankRow(i + 1, name, share) for i, (name, share) in enumerate(ranked)]


def top_k_shift(cultivation: Sequence[str], reversal: Sequence[str], k: int = 10) -> tuple[list[RankRow], list[RankRow]]:
    """Top-k of each phase; reversal rows marked NEW (not in the cultivation top-k), up, down or = by rank."""
    before = top_k(cultivation, k)
    rank_before = {r.category: r.rank for r in before}
    after = []
    for row in top_k(reversal, k):
        old = rank_before.get(row.category)
        marker = "NEW" if old is None else "up" if row.rank < old else "down" if row.rank > old else "="
        after.append(RankRow(row.rank, row.category, row.share, marker))
    return before, after
