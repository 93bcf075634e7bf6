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
    """FairCo-style exposure fairness across creators, applied only among items relevant to the user.

    Exposure is accumulated over the items of the last `window` steps (the live candidate pool), so a creator that
    was popular once but is ignored now counts as under-exposed. A creator's fair share is an equal part of that
    exposure among creators with live items; an item's boost is `strength` times its creator's relative shortfall
    (0 = at or above the fair share, 1 = never shown). Only items whose relevance is at least `min_relevance` of the
    user's shortlist range are boosted, so the extra exposure goes where clicks are likely: exposure without
    clicks would not keep a creator on the platform.
    """

    name = "fair"

    def __init__(self, strength: float = 1.0, min_relevance: float = 0.5, window: int = 10):
        if strength < 0:
            raise ValueError(f"fairness strength must be >= 0, got {strength}")
        if not 0.0 <= min_relevance <= 1.0:
            raise ValueError(f"fairness min_relevance must lie in [0, 1], got {min_relevance}")
        if window < 1:
            raise ValueError(f"fairness window must be >= 1 step, got {window}")
        self.strength, self.min_relevance, self.window = strength, min_relevance, window
        self.block = 32  # users served between exposure updates
        self._cache: tuple[int, int, np.ndarray, np.ndarray] | None = None

    def rerank(self, users: np.ndarray, items: np.ndarray, scores: np.ndarray, k: int, ctx: RecContext) -> np.ndarray:
        """Relevance plus strength x creator exposure shortfall, for items above the relevance floor.

        Users are served in small blocks and each block's picks count as exposure before the next block is
        boosted (FairCo's running deficit), so one step does not flood the same few under-exposed creators.
        """
        relevance = minmax_rows(scores)
        finite = np.where(np.isfinite(scores), scores, np.nan)
        low, high = np.nanmin(finite, 1, keepdims=True), np.nanmax(finite, 1, keepdims=True)
        relevant = np.nan_to_num(finite, nan=-np.inf) >= low + self.min_relevance * (high - low)  # ties: all pass
        exposure, present = self._exposure(ctx)
        creator = ctx.catalogue.creator[items]
        out = np.empty_like(relevance)
        for start in range(0, len(users), self.block):
            rows = slice(start, start + self.block)
            boost = creator_shortfall(exposure, present)[creator[rows]] * relevant[rows]
            out[rows] = relevance[rows] + self.strength * boost
            picks = np.argsort(-out[rows], axis=1, kind="stable")[:, :k]
            chosen = np.take_along_axis(creator[rows], picks, 1)[np.isfinite(np.take_along_axis(out[rows], picks, 1))]
            exposure += np.bincount(chosen, minlength=len(exposure))
        return out

    def _exposure(self, ctx: RecContext) -> tuple[np.ndarray, np.ndarray]:
        # exposure of live items at the start of the step, then running on as this step's users are served
        key = (ctx.step, int(ctx.catalogue.impressions[: ctx.catalogue.size].sum()))
        if self._cache is None or self._cache[:2] != key:
            cat = ctx.catalogue
            live = np.flatnonzero(cat.created[: cat.size] > ctx.step - self.window - 1)
            exposure = np.bincount(cat.creator[live], cat.impressions[live], minlength=ctx.n_creators)
            present = np.bincount(cat.creator[live], minlength=ctx.n_creators) > 0
            self._cache = (*key, exposure.astype(np.float64), present)
        return self._cache[2], self._cache[3]


def creator_shortfall(exposure: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Per creator: 1 - exposure / fair share, floored at 0; fair share = mean exposure of the present creators.

    >>> creator_shortfall(np.array([0.0, 5.0, 10.0, 0.0]), np.array([True, True, True, False])).tolist()
    [1.0, 0.0, 0.0, 0.0]
    """
    exposure = np.asarray(exposure, np.float64)
    fair = exposure[present].mean() if present.any() else 0.0
    if fair <= 0:
        return np.zeros_like(exposure)
    return np.where(present, np.clip(1.0 - exposure / fair, 0.0, 1.0), 0.0)


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
