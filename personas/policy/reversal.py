"""Reversed personas for the depth audit: quantile-reversed watch time and engagement moved to disliked content."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from personas.analysis import UNKNOWN_CATEGORY, BehaviourFeatures, EmpiricalDistribution
from personas.policy.base import Decision, PersonaLike, Policy
from recorder.feed import Observation
from recorder.trace import Category, Step


@dataclass(frozen=True)
class QuantileReversal:
    """d -> F^-1(1 - F(d)) on the persona's own watch distribution F: long watches become quick skips and back."""

    distribution: EmpiricalDistribution

    @classmethod
    def from_durations(cls, durations: Sequence[float]) -> QuantileReversal:
        """Reversal on the empirical distribution of `durations` (seconds)."""
        return cls(EmpiricalDistribution.from_samples(durations))

    def __call__(self, duration: float) -> float:
        """The reversed duration; an involution on the observed range [min, max]."""
        return self.distribution.quantile(1.0 - self.distribution.cdf(duration))

    def level(self, duration: float) -> float:
        """The quantile level q = F(duration) of a duration."""
        return self.distribution.cdf(duration)


def preference_ranking(features: BehaviourFeatures) -> tuple[str, ...]:
    """Categories from most to least preferred: smoothed like rate first, then median watch time."""
    def score(category: str) -> tuple[float, float]:
        views = features.category_distribution[category] * features.n_videos
        likes = features.liked_categories.get(category, 0)
        return ((likes + 1) / (views + 2), features.category_median_watch_s.get(category, 0.0))

    return tuple(sorted(features.category_distribution, key=score, reverse=True))


@dataclass(frozen=True)
class EngagementInversion:
    """Maps a category to its mirror in the preference ranking; unseen categories map to the favourite."""

    ranking: tuple[str, ...]  # most preferred first

    def __call__(self, category: str) -> str:
        """The category whose engagement the reversed persona shows towards `category`."""
        if not self.ranking:
            return category
        if category not in self.ranking:
            return self.ranking[0]  # the persona never watches it, so the reversed persona treats it as a favourite
        return self.ranking[len(self.ranking) - 1 - self.ranking.index(category)]


class ReversedPolicy:
    """Wraps any Policy: its watch time is quantile-reversed and its engagement judged on the mirrored category."""

    def __init__(self, inner: Policy, reversal: QuantileReversal, inversion: EngagementInversion):
        self.inner = inner
        self.reversal = reversal
        self.inversion = inversion

    @classmethod
    def from_features(cls, inner: Policy, features: BehaviourFeatures) -> ReversedPolicy:
        """Reverse `inner` using the persona's analysed watch distribution and category preferences."""
        categorised = [c for c in preference_ranking(features) if c != UNKNOWN_CATEGORY]
        return cls(inner, QuantileReversal(features.watch.empirical()), EngagementInversion(tuple(categorised)))

    def act(self, persona: PersonaLike, observation: Observation, history: Sequence[Step]) -> Decision:
        """The inner decision with watch time reversed and engagement taken from the mirrored category."""
        decision = self.inner.act(persona, observation, history)
        engagement = decision
        if observation.category is not None:
            mirrored = self.inversion(observation.category.top)
            if mirrored != observation.category.top:
                engagement = self.inner.act(persona, _with_top(observation, mirrored), history)
        return replace(engagement, watch_s=self.reversal(decision.watch_s),
                       latency_s=decision.latency_s + (engagement.latency_s if engagement is not decision else 0.0))


def _with_top(observation: Observation, top: str) -> Observation:
    category = observation.category
    assert category is not None
    return replace(observation, category=Category((top,), category.source, category.confidence))
