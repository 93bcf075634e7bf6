"""The recommender interface, the interaction log it trains on, and the pipeline that re-ranks and picks slates."""

from __future__ import annotations

import abc
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from sandbox.catalogue import Catalogue
from sandbox.profiles import Profiles


class InteractionLog:
    """Impressions of the last `window` steps as column arrays (user, item, clicked, watch_s, step)."""

    COLUMNS = ("user", "item", "clicked", "watch_s", "step")

    def __init__(self, window: int = 20):
        if window < 1:
            raise ValueError(f"log window must be >= 1 step, got {window}")
        self.window = window
        self._chunks: list[dict[str, np.ndarray]] = []

    def add(self, step: int, user: np.ndarray, item: np.ndarray, clicked: np.ndarray, watch_s: np.ndarray) -> None:
        """Append one step's impressions; steps older than the window are dropped."""
        n = len(user)
        self._chunks.append({"user": np.asarray(user, np.int64), "item": np.asarray(item, np.int64),
                             "clicked": np.asarray(clicked, bool), "watch_s": np.asarray(watch_s, np.float32),
                             "step": np.full(n, step, np.int32)})
        self._chunks = [c for c in self._chunks if len(c["step"]) == 0 or c["step"][0] > step - self.window]

    def column(self, name: str) -> np.ndarray:
        """One column over the whole window."""
        if not self._chunks:
            return np.zeros(0, np.float32 if name == "watch_s" else np.int64)
        return np.concatenate([c[name] for c in self._chunks])

    def __len__(self) -> int:
        return sum(len(c["user"]) for c in self._chunks)


@dataclass
class RecContext:
    """Platform-side state recommenders may use (never the users' latent preferences)."""

    step: int
    catalogue: Catalogue
    n_users: int
    n_creators: int
    genre_history: np.ndarray  # (users, genres) decayed clicks the platform has seen
    recent_clicks: np.ndarray  # (users, L) last clicked item ids, -1 = empty
    creator_exposure: np.ndarray  # cumulative impressions per creator
    creator_clicks: np.ndarray  # cumulative clicks per creator
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    profiles: Profiles | None = None  # per-account engagement profiles, updated after every video


class Recommender(abc.ABC):
    """Learns from the interaction log and scores (users x candidate items)."""

    name = "recommender"
    personalised = True  # False: scores ignore who is asking (random, popularity); profiles are not added

    def fit(self, log: InteractionLog, ctx: RecContext) -> None:
        """(Re)train on the log; the default learns nothing."""

    @abc.abstractmethod
    def score(self, users: np.ndarray, items: np.ndarray, ctx: RecContext) -> np.ndarray:
        """Scores of shape (len(users), len(items)); higher = recommend sooner."""

    def zscores(self, users: np.ndarray, items: np.ndarray, ctx: RecContext, scale: float = 1.0) -> np.ndarray:
        """`scale` x each user's scores z-scored over `items` (float32); a model may compute this directly."""
        return zscore_rows(self.score(users, items, ctx), scale)


class ReRanker(abc.ABC):
    """Reorders each user's shortlist; returns new scores (descending = final order)."""

    name = "reranker"
    full_pool = False  # True: applied to every candidate before the shortlist is cut (cheap, pool-wide knobs)

    @abc.abstractmethod
    def rerank(self, users: np.ndarray, items: np.ndarray, scores: np.ndarray, k: int, ctx: RecContext) -> np.ndarray:
        """New scores for the (users, shortlist) items."""


def minmax_rows(scores: np.ndarray) -> np.ndarray:
    """Scale each row to [0, 1] (constant rows become 0); -inf stays the lowest.

    >>> minmax_rows(np.array([[1.0, 3.0, 2.0]])).tolist()
    [[0.0, 1.0, 0.5]]
    """
    finite = np.where(np.isfinite(scores), scores, np.nan)
    with warnings.catch_warnings():  # a row with nothing left to show is all NaN: it stays -inf below
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanmin(finite, 1, keepdims=True), np.nanmax(finite, 1, keepdims=True)
    out = (finite - low) / np.where(high > low, high - low, 1.0)
    return np.where(np.isfinite(scores), out, -np.inf)


def zscore_rows(scores: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Centre each row and scale it to `scale` standard deviations (constant rows become 0); a new float32 array.

    >>> zscore_rows(np.array([[1.0, 3.0]], np.float32)).tolist()
    [[-1.0, 1.0]]
    """
    out = np.array(scores, np.float32)  # one float32 copy, then everything in place (serving's hottest loop)
    out -= out.mean(1, keepdims=True)
    std = np.sqrt(np.einsum("ij,ij->i", out, out) / max(out.shape[1], 1))[:, None]
    out *= scale / np.where(std > 0, std, 1.0)
    return out


class SeenFilter:
    """Which items each user has been shown already, so feeds do not repeat: a packed bit matrix over a sliding
    band of item ids. Only recent items are ever candidates, so when the band is full the bytes of items older than
    the oldest candidate are dropped instead of growing it (memory stays ~ users x candidate window, not users x
    catalogue); items below the band count as seen (they can never be served again)."""

    first = 0  # absolute byte column of bits[:, 0] (items below 8 * first are forgotten); class default for old state

    def __init__(self, n_users: int, capacity: int = 1024):
        self.bits = np.zeros((n_users, (capacity + 7) // 8), np.uint8)
        self.first = 0

    def ensure(self, n_users: int, n_items: int, oldest: int = 0) -> None:
        """Hold `n_users` x items up to `n_items`; when columns run out, first forget items below `oldest`."""
        rows, cols = self.bits.shape
        end = (n_items + 7) >> 3
        if rows >= n_users and self.first + cols >= end:
            return
        drop = min(max((oldest >> 3) - self.first, 0), cols) if self.first + cols < end else 0
        need = end - self.first - drop
        grown = np.zeros((max(rows, n_users), cols if need <= cols else max(2 * cols, need)), np.uint8)
        grown[:rows, :cols - drop] = self.bits[:, drop:]
        self.bits, self.first = grown, self.first + drop

    def mark(self, users: np.ndarray, items: np.ndarray) -> None:
        """Record that users[i] saw items[i, :] (forgotten items stay forgotten)."""
        rows = np.broadcast_to(users[:, None], items.shape).ravel()
        flat = np.asarray(items, np.int64).ravel()
        if self.first:
            keep = flat >= 8 * self.first
            rows, flat = rows[keep], flat[keep]
        np.bitwise_or.at(self.bits, (rows, (flat >> 3) - self.first), (1 << (flat & 7)).astype(np.uint8))

    def seen_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Bool (n, r): users[i] already saw items[i, j]."""
        items = np.asarray(items, np.int64)
        column = (items >> 3) - self.first
        byte = self.bits[users[:, None], np.maximum(column, 0)]
        return (((byte >> (items & 7).astype(np.uint8)) & 1) | (column < 0)).astype(bool)

    def seen(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Bool (users, items): already shown."""
        items = np.asarray(items, np.int64)
        if len(items) == 0:
            return np.zeros((len(users), 0), bool)
        # candidate pools are recent items, a narrow id range: copy only that band of bytes, then pick each
        # candidate's byte and bit (cheaper than unpacking the band when the candidates are a retrieved sample)
        column = (items >> 3) - self.first
        lowest = int(column.min())
        low, high = max(lowest, 0), max(int(column.max()), 0)
        band = self.bits[users, low:high + 1]
        byte = np.take(band, np.maximum(column - low, 0), axis=1)
        byte >>= (items & 7).astype(np.uint8)
        byte &= 1
        if lowest < 0:
            byte[:, column < 0] = 1
        return byte.view(bool)


def gumbel(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard Gumbel noise -log(-log(U)) from float32 uniforms, computed in place: the distribution of
    rng.gumbel (truncated where U is within 2**-24 of 0 or 1), several times faster, which matters because serving
    draws one value per (user, candidate).

    >>> bool(abs(float(gumbel(np.random.default_rng(0), (200_000,)).mean()) - 0.5772) < 0.01)
    True
    """
    noise = rng.random(shape, dtype=np.float32)
    np.maximum(noise, np.finfo(np.float32).tiny, out=noise)  # U = 0 would give -inf (read as "already seen")
    np.log(noise, out=noise)
    np.negative(noise, out=noise)
    np.log(noise, out=noise)
    np.negative(noise, out=noise)
    return noise


def shortlist_indices(scores: np.ndarray, m: int) -> np.ndarray:
    """Column indices of each row's m highest scores (any order); torch.topk is far faster than numpy for small m.

    >>> sorted(shortlist_indices(np.array([[0.1, 0.9, 0.5]]), 2)[0].tolist())
    [1, 2]
    """
    if m >= scores.shape[1]:
        return np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
    if m > 16:  # a long shortlist: introselect wins over topk's heap
        return np.argpartition(scores, scores.shape[1] - m, axis=1)[:, -m:]
    return torch.topk(torch.from_numpy(np.ascontiguousarray(scores)), m, dim=1, sorted=False).indices.numpy()


@dataclass
class Pipeline:
    """A recommender plus re-rankers: shortlist by score, re-rank, take the top k unseen items."""

    recommender: Recommender
    rerankers: Sequence[ReRanker] = ()
    shortlist: int = 50
    chunk: int = 1024
    retrieval: int = 500  # candidates scored per block of users when the pool is larger (0 = the whole pool)

    @property
    def name(self) -> str:
        """e.g. 'mf+mmr'."""
        return "+".join([self.recommender.name, *(r.name for r in self.rerankers)])

    def recommend(self, users: np.ndarray, candidates: np.ndarray, k: int, ctx: RecContext,
                  seen: SeenFilter | None = None) -> np.ndarray:
        """Slates of item ids, shape (len(users), k); -1 where fewer than k unseen candidates exist."""
        out = np.full((len(users), k), -1, np.int64)
        if len(candidates) == 0:
            return out
        for start in range(0, len(users), self.chunk):
            part = users[start:start + self.chunk]
            pool = candidates
            if 0 < self.retrieval < len(candidates):  # candidate generation: a seeded sample of the pool per block
                pool = np.sort(ctx.rng.choice(candidates, self.retrieval, replace=False))
            out[start:start + len(part)] = self._slates(part, pool, k, ctx, seen)
        return out

    def _slates(self, users: np.ndarray, candidates: np.ndarray, k: int, ctx: RecContext,
                seen: SeenFilter | None) -> np.ndarray:
        if self.recommender.personalised and ctx.profiles is not None:
            # the model is retrained on a schedule; the profile moves after every video
            cat, profiles = ctx.catalogue, ctx.profiles
            scores = self.recommender.zscores(users, candidates, ctx, profiles.config.model_weight)
            scores += profiles.item_scores(users, cat.paths(candidates), cat.creator[candidates])
            if profiles.config.temperature > 0:  # serving samples (Plackett-Luce) rather than taking a strict top k
                noise = gumbel(ctx.rng, scores.shape)
                if profiles.config.temperature != 1.0:
                    noise *= profiles.config.temperature
                scores += noise
        else:
            scores = self.recommender.score(users, candidates, ctx).astype(np.float32)
        if seen is not None:
            np.putmask(scores, seen.seen(users, candidates), -np.inf)
        cand = np.broadcast_to(candidates[None, :], scores.shape)
        for reranker in (r for r in self.rerankers if r.full_pool):
            scores = np.where(np.isfinite(scores), reranker.rerank(users, cand, scores, k, ctx), -np.inf)
        # without shortlist re-rankers the final top k is all that is needed
        wide = any(not r.full_pool for r in self.rerankers)
        m = min(len(candidates), max(self.shortlist, k) if wide else k)
        top = shortlist_indices(scores, m)
        items, short = candidates[top], np.take_along_axis(scores, top, 1)
        for reranker in (r for r in self.rerankers if not r.full_pool):
            short = np.where(np.isfinite(short), reranker.rerank(users, items, short, k, ctx), -np.inf)
        order = np.argsort(-short, axis=1, kind="stable")[:, :k]
        slates = np.take_along_axis(items, order, 1)
        valid = np.isfinite(np.take_along_axis(short, order, 1))
        result = np.where(valid, slates, -1)
        if result.shape[1] < k:
            result = np.pad(result, ((0, 0), (0, k - result.shape[1])), constant_values=-1)
        return result
