"""Audit metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audit.metrics import (
    Estimate,
    MetricError,
    bep,
    bep_bootstrap,
    distinct,
    entropy,
    js_divergence,
    labels,
    mean_ci,
    relative_decline,
    top_k_shift,
    trend_slope,
    window_series,
    windows,
)
from recorder.trace import Category, Step, VideoMeta
from tests.audit.conftest import START


def test_window_distinct_counts_at_both_levels():
    paths = [("A", "x"), ("A", "y"), ("B", "x"), ("A", "x"), ("A", "x"), ("A", "x")]
    steps = [Step(i, START, 1.0, category=Category(p)) for i, p in enumerate(paths)]
    steps.insert(2, Step(2, START, 1.0, meta=VideoMeta(is_ad=True), category=Category(("Ads",))))
    top, full = labels(steps, "top"), labels(steps, "full")
    assert top == ["A", "A", "B", "A", "A", "A"]  # the ad is left out
    assert window_series(top, 3) == [2.0, 1.0]
    assert window_series(full, 3) == [3.0, 1.0]
    assert window_series(full, 3, 1) == [3.0, 3.0, 2.0, 1.0]
    with pytest.raises(MetricError, match="fewer than one window"):
        windows(2, 3)


def test_entropy_by_hand():
    # p = (1/2, 1/4, 1/4): H = 1/2*1 + 2 * 1/4*2 = 1.5 bits
    assert entropy(["a", "a", "b", "c"]) == pytest.approx(1.5)
    assert entropy(["a"] * 5) == 0.0
    assert distinct(["a", "b", "a"]) == 2


def test_relative_decline_and_slope_by_hand():
    assert relative_decline([8, 6, 4]) == 0.5
    slope = trend_slope([8, 6, 4])  # exact line: slope -2, zero residual, zero-width CI
    assert slope.mean == pytest.approx(-2.0) and slope.low == pytest.approx(-2.0) and slope.high == pytest.approx(-2.0)
    noisy = trend_slope([10, 9, 9, 7, 6])
    # x = 0..4, xc = -2..2, Sxx = 10, Sxy = -2*10 -1*9 + 0 + 7 + 2*6 = -10 -> slope -1.0
    assert noisy.mean == pytest.approx(-1.0)
    # residuals: fit = 8.2 - 1*xc -> 10.2 9.2 8.2 7.2 6.2; resid -0.2 -0.2 0.8 -0.2 -0.2; SSE = 0.8
    se = math.sqrt(0.8 / 3 / 10)
    assert noisy.high - noisy.mean == pytest.approx(3.182446 * se, rel=1e-5)  # t(0.975, 3)


def test_js_divergence_base_2_on_known_distributions():
    assert js_divergence({"a": 1}, {"b": 1}) == 1.0
    assert js_divergence({"a": 0.5, "b": 0.5}, {"b": 0.5, "a": 0.5}) == 0.0
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4); KL(p||m) = log2(4/3); KL(q||m) = 1/2 log2(2/3) + 1/2 log2(2)
    expected = (math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5) / 2
    assert js_divergence({"a": 1.0}, {"a": 0.5, "b": 0.5}) == pytest.approx(expected)
    assert js_divergence({"a": 1.0}, {"a": 0.5, "b": 0.5}) == pytest.approx(0.311278, abs=1e-6)


def test_bep_lies_in_unit_interval_and_bootstrap_covers_it():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = list(rng.choice(list("abcdef"), 40))
        b = list(rng.choice(list("defghi"), 40))
        assert 0.0 <= bep(a, b) <= 1.0
    a, b = ["a"] * 30 + ["b"] * 10, ["a"] * 10 + ["c"] * 30
    est = bep_bootstrap(a, b, resamples=200, seed=1)
    assert est.low <= est.mean == bep(a, b) <= est.high and est.n == 80 and est.high - est.low > 0
    assert bep_bootstrap(a, a, resamples=50).mean == 0.0


def test_mean_ci_by_hand():
    single = mean_ci([0.4])
    assert single.to_dict() == {"mean": 0.4, "ci": [0.4, 0.4], "n": 1}
    est = mean_ci([1.0, 2.0, 3.0])  # sd 1, se 1/sqrt(3), t(0.975, 2) = 4.302653
    assert est.mean == 2.0 and est.high == pytest.approx(2.0 + 4.302653 / math.sqrt(3), rel=1e-6)
    assert Estimate(0.1, 0.0, 0.2, 5).disjoint(Estimate(0.5, 0.3, 0.6, 5))
    assert not Estimate(0.1, 0.0, 0.4, 5).disjoint(Estimate(0.5, 0.3, 0.6, 5))


def test_top10_shift_markers():
    cult = ["g"] * 5 + ["m"] * 3 + ["k"] * 2
    rev = ["k"] * 4 + ["f"] * 3 + ["g"] * 2 + ["m"] * 1
    before, after = top_k_shift(cult, rev, k=10)
    assert [(r.rank, r.category, r.share) for r in before] == [(1, "g", 0.5), (2, "m", 0.3), (3, "k", 0.2)]
    assert [(r.category, r.marker) for r in after] == [("k", "up"), ("f", "NEW"), ("g", "down"), ("m", "down")]
    same_before, same_after = top_k_shift(cult, cult)
    assert {r.marker for r in same_after} == {"="}
