"""Reversed personas for the depth audit: each category is treated as the persona treats its mirror in the
preference ranking (favourites become skipped, the least favoured watched and liked); quantile-reversed watch time
where a video has no category."""

from __future__ import annotations

import math
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
    """Categories from most to least preferred: log median watch plus the log like lift over the persona's rate.

    The like rate is smoothed toward the persona's overall rate (2 pseudo-views), so a category with few views and
    no likes ranks by its watch time instead of by how rarely it was shown."""
    views = {c: share * features.n_videos for c, share in features.category_distribution.items()}
    total_views = sum(views.values())
    overall = (sum(features.liked_categories.get(c, 0) for c in views) + 1) / (total_views + 2)

    def score(category: str) -> tuple[float, str]:
        rate = (features.liked_categories.get(category, 0) + 2 * overall) / (views[category] + 2)
        watch = features.category_median_watch_s.get(category, 0.0)
        return math.log1p(watch) + math.log(rate / overall), category

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
    """Wraps any Policy: a categorised video is treated as the persona treats its mirror in the preference ranking
    (watch time and engagement), so the reversed persona favours the persona's least-favoured categories; an
    uncategorised video gets the persona's decision with its watch time quantile-reversed."""

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
        """The persona's decision on the mirrored category; without a category, its watch time quantile-reversed."""
        if observation.category is not None and self.inversion.ranking:
            # the persona's own behaviour towards the mirror: its favourite's long watches and likes go to its
            # least-favoured category and its skips to its favourite (a middle category maps near itself)
            return self.inner.act(persona, _with_top(observation, self.inversion(observation.category.top)), history)
        decision = self.inner.act(persona, observation, history)
        return replace(decision, watch_s=self.reversal(decision.watch_s))


def _with_top(observation: Observation, top: str) -> Observation:
    category = observation.category
    assert category is not None
    return replace(observation, category=Category((top,), category.source, category.confidence))
