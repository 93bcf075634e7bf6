"""Fidelity metrics of a policy against a human, with bootstrap confidence intervals (pure functions).

SMAPE is the paper's eq. 3 as a fraction in [0, 2]: mean of |y - p| / ((|y| + |p|) / 2), with 0/0 counted 0.
Action F1 is the per-view F1 of the predicted {like, comment, share} set against the true one (both empty: 1),
averaged over views, the same quantity the GRPO action reward uses. Every estimate is
`{"mean", "ci": [low, high], "n"}` with a percentile bootstrap over views (1,000 resamples, seeded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

N_BOOT = 1000
CALIBRATION_EDGES = (0.0, 2.0, 5.0, 10.0, 30.0, 60.0, float("inf"))


def smape_terms(actual: Sequence[float], predicted: Sequence[float]) -> np.ndarray:
    """Per-view SMAPE terms in [0, 2].

    >>> smape_terms([10.0, 0.0, 1.0], [5.0, 0.0, 0.0]).round(3).tolist()
    [0.667, 0.0, 2.0]
    """
    y, p = _arrays(actual, predicted)
    scale = (np.abs(y) + np.abs(p)) / 2
    return np.divide(np.abs(y - p), scale, out=np.zeros_like(y), where=scale > 0)


def smape(actual: Sequence[float], predicted: Sequence[float]) -> float:
    """SMAPE as a fraction (paper eq. 3).

    >>> round(smape([10.0, 0.0], [5.0, 0.0]), 4)
    0.3333
    """
    return float(smape_terms(actual, predicted).mean())


def mae(actual: Sequence[float], predicted: Sequence[float]) -> float:
    """Mean absolute error (seconds).

    >>> mae([10.0, 0.0], [5.0, 1.0])
    3.0
    """
    y, p = _arrays(actual, predicted)
    return float(np.abs(y - p).mean())


def _arrays(actual: Sequence[float], predicted: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"metrics need equally long, non-empty series; got {y.size} actual and {p.size} predicted")
    return y, p


def estimate(values: Sequence[float], seed: int = 0, n_boot: int = N_BOOT) -> dict[str, Any]:
    """Mean of per-view values with a 95% percentile-bootstrap CI (n=1: the CI is [mean, mean]).

    >>> estimate([1.0, 1.0, 1.0])
    {'mean': 1.0, 'ci': [1.0, 1.0], 'n': 3}
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("an estimate needs at least one value")
    mean = float(data.mean())
    if data.size == 1:
        return {"mean": mean, "ci": [mean, mean], "n": 1}
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(n_boot, data.size))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return {"mean": mean, "ci": [float(low), float(high)], "n": int(data.size)}


def paired_difference(a: Sequence[float], b: Sequence[float], seed: int = 0) -> dict[str, Any]:
    """Estimate of mean(a - b) over the same views (e.g. SMAPE terms of two methods): CI excludes 0 = a real gap."""
    return estimate(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), seed)


def ks_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Kolmogorov-Smirnov distance between two samples' empirical CDFs, in [0, 1].

    >>> ks_distance([1, 2, 3], [1, 2, 3]), ks_distance([1, 2], [5, 6])
    (0.0, 1.0)
    """
    x, y = np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))
    if x.size == 0 or y.size == 0:
        raise ValueError("ks_distance needs two non-empty samples")
    grid = np.concatenate([x, y])
    cdf_x = np.searchsorted(x, grid, side="right") / x.size
    cdf_y = np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(cdf_x - cdf_y)))


def calibration(actual: Sequence[float], predicted: Sequence[float]) -> list[dict[str, Any]]:
    """Views binned by predicted watch time: per bin n, mean predicted and mean actual seconds (empty bins left out).

    >>> calibration([1.0, 3.0, 40.0], [1.5, 4.0, 35.0])[0]
    {'bin': '0-2 s', 'n': 1, 'predicted': 1.5, 'actual': 1.0}
    """
    y, p = _arrays(actual, predicted)
    out = []
    for low, high in zip(CALIBRATION_EDGES[:-1], CALIBRATION_EDGES[1:], strict=True):
        inside = (p >= low) & (p < high)
        if inside.any():
            label = f"{low:g}-{high:g} s" if np.isfinite(high) else f">={low:g} s"
            out.append({"bin": label, "n": int(inside.sum()), "predicted": float(p[inside].mean()),
                        "actual": float(y[inside].mean())})
    return out


def bootstrap_statistic(n: int, statistic: Callable[[np.ndarray], float], seed: int = 0,
                        n_boot: int = N_BOOT) -> list[float]:
    """95% percentile CI of any statistic over resampled view indices (for ratios that are not plain means)."""
    rng = np.random.default_rng(seed)
    values = [statistic(rng.integers(0, n, size=n)) for _ in range(n_boot)]
    low, high = np.quantile(values, [0.025, 0.975])
    return [float(low), float(high)]
