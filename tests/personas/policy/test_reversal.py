"""Reversed personas: quantile reversal properties (hypothesis) and inverted engagement."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personas.analysis import analyse
from personas.policy import SimplePersona
from personas.policy.reversal import EngagementInversion, QuantileReversal, ReversedPolicy, preference_ranking
from personas.policy.statistical import StatisticalPolicyConfig, fit_statistical_policy
from recorder.feed import Observation
from recorder.trace import Category
from tests.builders import T0
from tests.personas.policy.test_statistical import persona_trace

durations = st.integers(min_value=0, max_value=600_000).map(lambda ms: ms / 1000)  # recordings keep milliseconds
samples = st.lists(durations, min_size=2, max_size=60)
distinct = st.lists(durations, min_size=2, max_size=60, unique=True)


@settings(max_examples=150, deadline=None)
@given(samples)
def test_reversal_twice_is_identity_on_the_empirical_quantiles(data):
    reverse = QuantileReversal.from_durations(data)
    for level in (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0):
        value = reverse.distribution.quantile(level)
        assert reverse(reverse(value)) == pytest.approx(value, rel=1e-9, abs=1e-9)
    for value in data:
        assert reverse(reverse(value)) == pytest.approx(value, rel=1e-9, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(samples, st.floats(min_value=0.0, max_value=1.0))
def test_probability_below_prediction_equals_reversed_probability_above(data, level):
    reverse = QuantileReversal.from_durations(data)
    predicted = reverse.distribution.quantile(level)
    reversed_ = reverse(predicted)
    # P(d < d_hat) under F equals P'(d > d') = 1 - F(d') under the reversed persona
    assert reverse.level(predicted) == pytest.approx(1.0 - reverse.level(reversed_), abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(distinct)
def test_counting_form_on_distinct_samples(data):
    reverse = QuantileReversal.from_durations(data)
    for predicted in data:
        reversed_ = reverse(predicted)
        assert sum(d < predicted for d in data) == sum(d > reversed_ for d in data)


def test_long_watches_become_quick_skips():
    reverse = QuantileReversal.from_durations([1.0, 2.0, 5.0, 20.0, 60.0])
    assert reverse(60.0) == 1.0 and reverse(1.0) == 60.0 and reverse(5.0) == 5.0 and reverse(20.0) == 2.0
    assert QuantileReversal.from_durations([4.0, 4.0])(4.0) == 4.0


def test_engagement_moves_to_least_preferred_categories():
    features = analyse([persona_trace()])
    ranking = preference_ranking(features)
    assert ranking[0] == "Food" and ranking[-1] == "Games"
    inversion = EngagementInversion(ranking)
    assert inversion("Food") == "Games" and inversion("Games") == "Food" and inversion("Unseen") == "Food"


def test_reversed_policy_wraps_any_policy():
    trace = persona_trace()
    inner = fit_statistical_policy([trace], StatisticalPolicyConfig(recent_weight=0.0, point="median"))
    reversed_policy = ReversedPolicy.from_features(inner, analyse([trace]))
    persona = SimplePersona("P01")
    food = Observation(0, T0, category=Category(("Food",)))
    games = Observation(1, T0, category=Category(("Games",)))
    original = inner.act(persona, food, []), inner.act(persona, games, [])
    flipped = reversed_policy.act(persona, food, []), reversed_policy.act(persona, games, [])
    assert original[0].like and not original[1].like
    assert not flipped[0].like and flipped[1].like
    assert original[0].watch_s > 30 and flipped[0].watch_s < 3  # the favourite is now skipped
    assert flipped[1].watch_s > 30
    assert flipped[0].watch_s == pytest.approx(original[1].watch_s)  # Food is watched as the persona watches Games
    unknown = Observation(2, T0)
    assert reversed_policy.act(persona, unknown, []).watch_s == pytest.approx(
        reversed_policy.reversal(inner.act(persona, unknown, []).watch_s))
