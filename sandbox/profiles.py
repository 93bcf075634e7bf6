"""Per-account interest profiles and the three knobs (personalisation, exploration, inertia).

Every account (simulated user or outside account) has a profile: a decayed sum of engagement per full taxonomy
path. It is updated after every video the account is shown (watch fraction, likes, comments, shares, follows,
not-interested, quick skips), so the next batch of videos reflects what the account just did, while the
recommender model itself is retrained only on the platform's schedule.

Knobs (each in [0, 1], per account):
- personalisation: share of each batch chosen by the model (recommender score plus profile); the rest is drawn
  uniformly from the unseen candidate pool. 0 = served at random, 1 = fully model-driven.
- exploration: share of the model-driven part drawn uniformly from items *outside* the profile (categories whose
  profile weight is not above the uniform share).
- inertia: memory of the profile. Engagement n videos ago weighs d**n with memory 1 / (1 - d) growing
  geometrically from `min_memory` videos (inertia 0: only the last batch or so counts) to `max_memory` videos
  (inertia 1: old engagement keeps outweighing recent engagement for hundreds of videos).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from recorder.errors import PersonaActError

KNOBS = ("personalisation", "exploration", "inertia")


class KnobError(ValueError, PersonaActError):
    """A knob or profile option is out of range; the message names it."""


@dataclass(frozen=True)
class Knobs:
    """The ground-truth knobs of one account (see the module docstring for their meaning)."""

    personalisation: float = 1.0
    exploration: float = 0.1
    inertia: float = 0.8

    def __post_init__(self) -> None:
        for name in KNOBS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise KnobError(f"knob {name} must be a number in [0, 1], got {value!r}")
            object.__setattr__(self, name, float(value))

    def replace(self, **changes: Any) -> Knobs:
        """A copy with some knobs changed; unknown names are an error naming them."""
        unknown = sorted(set(changes) - set(KNOBS))
        if unknown:
            raise KnobError(f"unknown knob {unknown[0]!r}; known: {', '.join(KNOBS)}")
        return Knobs(**{**{n: getattr(self, n) for n in KNOBS}, **changes})


@dataclass(frozen=True)
class ProfileConfig:
    """How engagement becomes a profile and how strongly the profile steers serving."""

    batch_size: int = 10  # videos an outside account is served per request (real apps: about 10)
    weight: float = 2.0  # scale of the profile score added to the recommender's relevance
    model_weight: float = 0.5  # scale of the recommender's z-scored relevance (retrained on the world's schedule)
    path_share: float = 0.5  # weight of the within-genre (subcategory) part of the profile score
    temperature: float = 1.0  # Gumbel noise on the final scores: batches are softmax samples (0 = deterministic top-k)
    prior: float = 0.9  # pseudo-engagement per video of memory, spread evenly over genres (smooths the profile)
    negative_weight: float = 2.0  # largest penalty of a genre with net negative engagement
    negative_scale: float = 2.5  # net negative engagement that gives half the largest penalty
    follow_bonus: float = 1.0  # score added to items by creators the account follows
    min_memory: float = 10.0  # profile memory in videos at inertia 0
    max_memory: float = 500.0  # profile memory in videos at inertia 1
    quick_skip_s: float = 3.0  # a watch shorter than this without a like counts as a quick skip
    w_watch: float = 1.0  # per unit of watched fraction of the video (capped at 1)
    w_like: float = 1.0
    w_comment: float = 1.0
    w_share: float = 1.5
    w_follow: float = 2.0
    w_not_interested: float = 5.0
    w_quick_skip: float = 0.1

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise KnobError(f"profile.batch_size must be >= 1, got {self.batch_size}")
        if not 0 < self.min_memory <= self.max_memory:
            raise KnobError("profile.min_memory and max_memory must satisfy 0 < min_memory <= max_memory")
        if self.prior <= 0 or self.negative_scale <= 0:
            raise KnobError("profile.prior and profile.negative_scale must be > 0")
        for f in fields(self):
            if f.name not in ("batch_size", "min_memory", "max_memory") and getattr(self, f.name) < 0:
                raise KnobError(f"profile.{f.name} must be >= 0, got {getattr(self, f.name)}")

    def memory(self, inertia: np.ndarray | float) -> np.ndarray:
        """Profile memory in videos for the given inertia: geometric from min_memory to max_memory."""
        return self.min_memory * (self.max_memory / self.min_memory) ** np.asarray(inertia, np.float64)

    def decay(self, inertia: np.ndarray | float) -> np.ndarray:
        """Per-video decay d of engagement for the given inertia (memory = 1 / (1 - d))."""
        return (1.0 - 1.0 / np.maximum(self.memory(inertia), 1.0 + 1e-9)).astype(np.float32)


@dataclass
class Engagement:
    """What accounts did with their videos, arrays of shape (accounts, videos); absent signals are all-False."""

    watch_s: np.ndarray
    duration_s: np.ndarray
    liked: np.ndarray
    commented: np.ndarray
    shared: np.ndarray
    followed: np.ndarray
    not_interested: np.ndarray

    def value(self, cfg: ProfileConfig) -> np.ndarray:
        """One engagement value per video: positive for long watches and actions, negative for skips/not-interested."""
        frac = np.minimum(self.watch_s / np.maximum(self.duration_s, 1e-3), 1.0)
        skip = (self.watch_s < cfg.quick_skip_s) & ~self.liked
        return (cfg.w_watch * frac + cfg.w_like * self.liked + cfg.w_comment * self.commented
                + cfg.w_share * self.shared + cfg.w_follow * self.followed
                - cfg.w_not_interested * self.not_interested - cfg.w_quick_skip * skip).astype(np.float32)


class Profiles:
    """Profiles and knobs of every account: arrays (accounts x paths) and (accounts,), grown as accounts open."""

    def __init__(self, genre_offset: np.ndarray, n_paths: int, config: ProfileConfig, n: int, knobs: Knobs):
        self.config = config
        self.genre_offset = np.asarray(genre_offset, np.int64)  # the catalogue's path layout (genre-major)
        subs = np.diff(np.r_[self.genre_offset, n_paths])
        self.path_genre = np.repeat(np.arange(len(subs)), subs).astype(np.int64)
        self.n_subs = subs.astype(np.float32)
        self.weights = np.zeros((n, n_paths), np.float32)
        self.knobs = np.tile(np.array([[getattr(knobs, k) for k in KNOBS]], np.float64), (n, 1))
        self.follows: dict[int, set[int]] = {}

    _frozen: tuple[np.ndarray, np.ndarray] | None = None  # (row of each account or -1, their path scores)

    @contextmanager
    def frozen(self, accounts: np.ndarray) -> Iterator[None]:
        """Within the block, path_scores of these accounts come from one table computed up front: serving reads
        every account's profile several times (model slates per block of users, then the knobs' mixing) and changes
        none, so the scores are the same, computed once."""
        rows = np.full(self.n, -1, np.int64)
        rows[accounts] = np.arange(len(accounts))
        self._frozen = (rows, self.path_scores(accounts))
        try:
            yield
        finally:
            self._frozen = None

    @property
    def n(self) -> int:
        """Number of accounts."""
        return self.weights.shape[0]

    @property
    def n_paths(self) -> int:
        """Number of full taxonomy paths."""
        return self.weights.shape[1]

    def add(self, knobs: Knobs) -> int:
        """A new account with an empty profile; returns its index."""
        self.weights = np.vstack([self.weights, np.zeros((1, self.n_paths), np.float32)])
        self.knobs = np.vstack([self.knobs, np.array([[getattr(knobs, k) for k in KNOBS]], np.float64)])
        return self.n - 1

    def account_knobs(self, account: int) -> Knobs:
        """The knobs of one account."""
        return Knobs(*(float(v) for v in self.knobs[account]))

    def update(self, accounts: np.ndarray, paths: np.ndarray, engagement: np.ndarray, shown: np.ndarray) -> None:
        """Decay each account's profile by its number of videos shown, then add their engagement per path.

        accounts (n,) are distinct; paths, engagement and shown are (n, k).
        """
        if len(accounts) == 0:
            return
        decay = self.config.decay(self.knobs[accounts, 2])
        self.weights[accounts] *= (decay ** shown.sum(1))[:, None]
        value = np.where(shown, engagement, 0.0).astype(np.float32)
        for j in range(paths.shape[1]):  # accounts are distinct, so one column has no repeated (row, path) pair
            self.weights[accounts, paths[:, j]] += value[:, j]

    def follow(self, account: int, creator: int) -> None:
        """Remember that `account` follows `creator` (its items get `follow_bonus`)."""
        self.follows.setdefault(int(account), set()).add(int(creator))

    def path_scores(self, accounts: np.ndarray) -> np.ndarray:
        """(n, paths) profile scores, computed in blocks of accounts small enough to stay in cache (see _path_scores).
        """
        accounts = np.asarray(accounts, np.int64)
        if self._frozen is not None and len(self._frozen[0]) == self.n:
            rows = self._frozen[0][accounts]
            if len(rows) and rows.min() >= 0:
                return self._frozen[1][rows]
        block = 2048
        if len(accounts) <= block:
            return self._path_scores(accounts)
        out = np.empty((len(accounts), self.n_paths), np.float32)
        for start in range(0, len(accounts), block):
            out[start:start + block] = self._path_scores(accounts[start:start + block])
        return out

    def _path_scores(self, accounts: np.ndarray) -> np.ndarray:
        """(n, paths) profile score: log of the smoothed genre share over the uniform share, plus the within-genre
        part, minus a bounded penalty for genres with net negative engagement. 0 everywhere for a fresh account.

        The prior is `prior` pseudo-engagement per video of the account's memory, so a long-memory (high-inertia)
        profile needs proportionally more evidence before it narrows: it is an average over its memory."""
        cfg = self.config
        w = self.weights[accounts]
        g = len(self.genre_offset)
        pos = np.maximum(w, 0.0)
        genre_pos = _genre_sums(pos, self.genre_offset)
        genre_net = _genre_sums(w, self.genre_offset)
        prior = (cfg.prior * self.config.memory(self.knobs[accounts, 2]))[:, None].astype(np.float32)
        alpha = prior / g
        share = (genre_pos + alpha) / (genre_pos.sum(1, keepdims=True) + prior)
        genre_score = np.log(share * g)
        negative = np.maximum(-genre_net, 0)
        genre_score -= cfg.negative_weight * negative / (negative + cfg.negative_scale)
        # within-genre share times n_subs is (pos * n_subs + alpha) / (genre_pos + alpha): the path-wide part is
        # one log over (accounts x paths) computed in place, the rest stays per genre (all accounts are served
        # every step, so this runs on every account's whole profile)
        genre_score -= cfg.path_share * np.log(genre_pos + alpha)
        pos *= self.n_subs[self.path_genre]
        pos += alpha
        np.log(pos, out=pos)
        pos *= cfg.path_share
        pos += genre_score[:, self.path_genre]
        return pos.astype(np.float32, copy=False)

    def item_scores(self, accounts: np.ndarray, item_paths: np.ndarray, item_creators: np.ndarray) -> np.ndarray:
        """(n, m) profile scores of candidate items (same items for every account), scaled by `weight`."""
        scaled = self.path_scores(accounts)
        scaled *= self.config.weight  # scale the (accounts x paths) table, not the wider gathered one
        out = np.take(scaled, item_paths, axis=1)
        if self.follows:
            for row, account in enumerate(accounts.tolist()):
                followed = self.follows.get(account)
                if followed:
                    out[row] += self.config.follow_bonus * np.isin(item_creators, list(followed))
        return out

    def state(self) -> dict[str, Any]:
        """Arrays and JSON-ready extras for a checkpoint."""
        return {"arrays": {"weights": self.weights, "knobs": self.knobs},
                "follows": {str(a): sorted(c) for a, c in self.follows.items()}}

    def load_state(self, arrays: dict[str, np.ndarray], follows: dict[str, list[int]]) -> None:
        """Inverse of `state`."""
        self.weights, self.knobs = arrays["weights"].astype(np.float32), arrays["knobs"].astype(np.float64)
        self.follows = {int(a): set(c) for a, c in follows.items()}


def _genre_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum path columns into genre columns."""
    return np.add.reduceat(values, offsets, axis=1)


def mix_slates(model: np.ndarray, knobs: np.ndarray, outside: np.ndarray, draws: np.ndarray, valid: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Apply personalisation and exploration to model slates.

    model (n, k): the model's slates (best first, -1 = none); knobs (n, 3); draws (n, R): uniform draws from the
    candidate pool, with `valid` (unseen, not in the model slate, not repeated) and `outside` (not in the profile)
    masks. Each slot is random with probability 1 - personalisation, otherwise exploration with probability
    `exploration`, otherwise the model's next item; slots that find no draw fall back to the model's items.
    """
    n, k = model.shape
    if n == 0:
        return model
    u = rng.random((n, k))
    p, eps = knobs[:, :1], knobs[:, 1:2]
    random_slot = u < 1 - p
    explore_slot = ~random_slot & (u < 1 - p + p * eps)
    n_rand, n_expl = random_slot.sum(1, keepdims=True), explore_slot.sum(1, keepdims=True)
    take_e = valid & outside & (np.cumsum(valid & outside, 1) <= n_expl)
    rest = valid & ~take_e
    take = take_e | (rest & (np.cumsum(rest, 1) <= n_rand))
    order = np.argsort(~take, axis=1, kind="stable")[:, :k]
    picked = np.where(np.take_along_axis(take, order, 1), np.take_along_axis(draws, order, 1), -2)
    n_model = k - (picked >= 0).sum(1, keepdims=True)
    kept = np.where(np.arange(k)[None, :] < n_model, model, -2)
    both = np.concatenate([kept, picked], 1)
    both = np.take_along_axis(both, np.argsort(both == -2, axis=1, kind="stable")[:, :k], 1)
    return rng.permuted(np.where(both == -2, -1, both), axis=1)
