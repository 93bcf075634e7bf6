"""Non-learned baselines: uniformly random scores and time-decayed popularity."""

from __future__ import annotations

import numpy as np

from sandbox.recommenders.base import InteractionLog, RecContext, Recommender


class RandomRecommender(Recommender):
    """Scores are independent uniform draws from the platform's seeded generator."""

    name = "random"
    personalised = False

    def score(self, users: np.ndarray, items: np.ndarray, ctx: RecContext) -> np.ndarray:
        """Uniform random scores."""
        return ctx.rng.random((len(users), len(items)), dtype=np.float32)


class PopularityRecommender(Recommender):
    """Everyone gets the items with the most recent clicks: clicks weighted by decay ** age in steps."""

    name = "pop"
    personalised = False

    def __init__(self, decay: float = 0.8):
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"popularity decay must lie in (0, 1], got {decay}")
        self.decay = decay
        self.popularity = np.zeros(0, np.float64)

    def fit(self, log: InteractionLog, ctx: RecContext) -> None:
        """Recount decayed clicks per item (and smoothed click rate, so new items are not stuck at zero)."""
        n = ctx.catalogue.size
        item, step = log.column("item"), log.column("step")
        weight = self.decay ** (ctx.step - step.astype(np.float64))
        clicks = np.bincount(item, weight * log.column("clicked"), minlength=n)
        shown = np.bincount(item, weight, minlength=n)
        self.popularity = np.log1p(clicks) + (clicks + 1.0) / (shown + 3.0)

    def score(self, users: np.ndarray, items: np.ndarray, ctx: RecContext) -> np.ndarray:
        """Popularity per item (unseen-by-fit items get the prior), tiny noise to break ties."""
        pop = np.full(len(items), 1.0 / 3.0)
        known = items < len(self.popularity)
        pop[known] = self.popularity[items[known]]
        noise = ctx.rng.random((len(users), len(items))) * 1e-6
        return (pop[None, :] + noise).astype(np.float32)
