"""Re-rankers: MMR for diversity, FairCo-style exposure fairness across creators, and the inertia knob."""

from __future__ import annotations

import numpy as np

from sandbox.recommenders.base import RecContext, ReRanker, minmax_rows


class MMRReRanker(ReRanker):
    """Maximal marginal relevance: greedily trade relevance against similarity (same genre, same creator)."""

    name = "mmr"

    def __init__(self, trade_off: float = 0.5):
        if not 0.0 <= trade_off <= 1.0:
            raise ValueError(f"mmr trade_off must lie in [0, 1], got {trade_off}")
        self.trade_off = trade_off

    def rerank(self, users: np.ndarray, items: np.ndarray, scores: np.ndarray, k: int, ctx: RecContext) -> np.ndarray:
        """Scores that put the greedy MMR picks first, in pick order."""
        rel = np.nan_to_num(minmax_rows(scores), neginf=-1e9)
        genre, creator = ctx.catalogue.genre[items], ctx.catalogue.creator[items]
        n, m = items.shape
        rows = np.arange(n)
        taken = np.zeros((n, m), bool)
        sim = np.zeros((n, m))
        out = np.full((n, m), -1.0)
        for position in range(min(k, m)):
            value = np.where(taken, -np.inf, self.trade_off * rel - (1 - self.trade_off) * sim)
            pick = value.argmax(1)
            taken[rows, pick] = True
            out[rows, pick] = m - position
            same = (genre == genre[rows, pick][:, None]).astype(float)
            same = np.maximum(same, 0.5 * (creator == creator[rows, pick][:, None]))
            sim = np.maximum(sim, same)
        return np.where(taken, out, rel - 2.0)


class FairExposureReRanker(ReRanker):
    """FairCo/P-MMF-style: boost each creator by its exposure deficit against the most exposed creator."""

    name = "fair"

    def __init__(self, strength: float = 1.0):
        if strength < 0:
            raise ValueError(f"fairness strength must be >= 0, got {strength}")
        self.strength = strength

    def rerank(self, users: np.ndarray, items: np.ndarray, scores: np.ndarray, k: int, ctx: RecContext) -> np.ndarray:
        """Relevance plus strength x normalised (log) exposure deficit of each item's creator."""
        # the deficit is judged among the creators on this shortlist (those who could be shown now)
        creator = ctx.catalogue.creator[items]
        exposure = np.log1p(ctx.creator_exposure[creator])
        high, low = exposure.max(), exposure.min()
        deficit = (high - exposure) / max(high - low, 1e-9)
        return minmax_rows(scores) + self.strength * deficit


class InertiaReRanker(ReRanker):
    """The inertia knob: 0 = pure model relevance, 1 = follow the user's past click categories only."""

    name = "inertia"
    full_pool = True

    def __init__(self, inertia: float = 0.5):
        if not 0.0 <= inertia <= 1.0:
            raise ValueError(f"inertia must lie in [0, 1], got {inertia}")
        self.inertia = inertia

    def rerank(self, users: np.ndarray, items: np.ndarray, scores: np.ndarray, k: int, ctx: RecContext) -> np.ndarray:
        """(1 - inertia) x relevance + inertia x share of the user's past clicks in the item's genre."""
        history = ctx.genre_history[users]
        share = history / np.maximum(history.max(1, keepdims=True), 1e-9)
        past = np.take_along_axis(share, ctx.catalogue.genre[items].astype(np.int64), 1)
        return (1 - self.inertia) * minmax_rows(scores) + self.inertia * past
