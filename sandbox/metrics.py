"""Long-term metrics: diversity (entropy, coverage), exposure Gini, JS divergence, welfare and retention."""

from __future__ import annotations

import numpy as np


def distribution(counts: np.ndarray) -> np.ndarray:
    """Counts normalised to sum 1 (uniform zeros stay zeros).

    >>> distribution(np.array([1, 3])).tolist()
    [0.25, 0.75]
    """
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def entropy(counts: np.ndarray) -> float:
    """Shannon entropy in bits of a count vector.

    >>> entropy(np.array([1, 1, 1, 1]))
    2.0
    """
    p = distribution(counts)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum()) if p.size else 0.0


def coverage(counts: np.ndarray) -> float:
    """Share of categories with at least one count.

    >>> coverage(np.array([0, 2, 0, 1]))
    0.5
    """
    counts = np.asarray(counts)
    return float((counts > 0).mean()) if counts.size else 0.0


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal, ~1 = one takes all).

    >>> gini(np.array([1, 1, 1, 1]))
    0.0
    >>> round(gini(np.array([0, 0, 0, 4])), 2)
    0.75
    """
    x = np.sort(np.asarray(values, np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    return float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * total))


def js_divergence(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits between two count/probability vectors (0 = identical, 1 = disjoint).

    >>> js_divergence(np.array([1, 0]), np.array([0, 1]))
    1.0
    """
    p, q = distribution(p_counts), distribution(q_counts)
    if p.sum() == 0 or q.sum() == 0:
        return 0.0
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float((a[mask] * np.log2(a[mask] / m[mask])).sum())

    return 0.5 * kl(p) + 0.5 * kl(q)


def explore_ratio(explore: int, exploit: int) -> float:
    """Explore decisions over all explicit explore/exploit decisions (NaN-free: 0 when none)."""
    total = explore + exploit
    return explore / total if total else 0.0


def bootstrap_ci(values: np.ndarray | list[float], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile 95% bootstrap CI of the mean of `values` (e.g. one value per seed); [v, v] for one value.

    >>> bootstrap_ci([2.0])
    (2.0, 2.0)
    """
    v = np.asarray(values, float)
    if len(v) < 2:
        return (float(v.mean()), float(v.mean())) if len(v) else (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(len(v), size=(resamples, len(v)))].mean(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def estimate(values: np.ndarray | list[float]) -> dict[str, object]:
    """{"mean", "ci", "n"}: the project's estimate object (95% bootstrap CI over the values).

    >>> estimate([1.0, 1.0])
    {'mean': 1.0, 'ci': [1.0, 1.0], 'n': 2}
    """
    v = np.asarray(values, float)
    low, high = bootstrap_ci(v)
    return {"mean": float(v.mean()), "ci": [low, high], "n": int(len(v))}
