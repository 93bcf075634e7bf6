"""Viewers: statistical users vectorised over the population, and the shared response format."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.catalogue import Catalogue


@dataclass(frozen=True)
class UserConfig:
    """Behaviour of statistical users; the defaults reproduce short-video watch statistics (see module tests)."""

    preference_concentration: float = 0.3  # Dirichlet alpha: small = a few favourite genres
    engage_bias: float = -1.3
    affinity_weight: float = 0.9  # weight of log(relative preference) in the engage logit
    quality_weight: float = 2.0
    novelty_weight: float = 1.0  # how much novelty tolerance matters for unfamiliar genres
    drift: float = 0.05  # how fast preferences move toward what was engaged with (filter bubbles)
    exposure_memory: float = 0.2  # EMA rate of each user's genre exposure (for novelty)
    watch_median_s: tuple[float, float] = (5.0, 7.3)  # per-user median of engaged watches (PersonaAct A..B)
    watch_sigma: tuple[float, float] = (0.94, 1.48)  # per-user lognormal sigma (means 7.8 s .. 21.9 s)
    skip_median_s: float = 2.5
    skip_sigma: float = 0.6
    like_given_engaged: float = 0.16
    comment_given_engaged: float = 0.008
    share_given_engaged: float = 0.008
    activity: float = 1.0  # chance a user opens the app in a step

    def __post_init__(self) -> None:
        if self.preference_concentration <= 0:
            raise ValueError("preference_concentration must be > 0")
        for name in ("like_given_engaged", "comment_given_engaged", "share_given_engaged", "activity", "drift",
                     "exposure_memory"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"users.{name} must lie in [0, 1], got {getattr(self, name)}")
        for name in ("watch_median_s", "watch_sigma"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"users.{name} must be (low, high) with 0 < low <= high")


@dataclass
class Responses:
    """What users did with their slates: arrays of shape (users, slate size)."""

    viewed: np.ndarray
    watch_s: np.ndarray
    clicked: np.ndarray
    liked: np.ndarray
    commented: np.ndarray
    shared: np.ndarray
    followed: np.ndarray | None = None  # outside accounts only; None = nobody followed
    not_interested: np.ndarray | None = None  # outside accounts only; None = nobody said so

    @classmethod
    def empty(cls, n: int, k: int) -> Responses:
        """All-zero responses (nothing viewed)."""
        z = np.zeros((n, k), bool)
        return cls(z.copy(), np.zeros((n, k), np.float32), z.copy(), z.copy(), z.copy(), z.copy())

    def put(self, rows: np.ndarray, other: Responses) -> None:
        """Copy `other` into the given rows."""
        for name in ("viewed", "watch_s", "clicked", "liked", "commented", "shared"):
            getattr(self, name)[rows] = getattr(other, name)


class StatisticalUsers:
    """A population whose latent genre preferences, novelty tolerance and watch habits are numpy arrays."""

    kind = "statistical"

    def __init__(self, n: int, n_genres: int, config: UserConfig, rng: np.random.Generator):
        if n < 0:
            raise ValueError(f"number of users must be >= 0, got {n}")
        self.config = config
        self.n, self.n_genres = n, n_genres
        self.preferences = rng.dirichlet(np.full(n_genres, config.preference_concentration), n).astype(np.float32)
        self.novelty_tolerance = rng.beta(2.0, 2.0, n).astype(np.float32)
        self.watch_median = rng.uniform(*config.watch_median_s, n).astype(np.float32)
        self.watch_sigma = rng.uniform(*config.watch_sigma, n).astype(np.float32)
        self.exposure = np.full((n, n_genres), 1.0 / n_genres, np.float32)

    def engage_probability(self, users: np.ndarray, items: np.ndarray, catalogue: Catalogue) -> np.ndarray:
        """P(engage) for users (n,) against items (n, k) -- the ground truth a recommender tries to learn."""
        cfg = self.config
        genre = catalogue.genre[items]
        rows = users[:, None]
        relative = np.clip(np.log(self.preferences[rows, genre] * self.n_genres + 1e-6), -3.0, 3.0)
        novelty = 1.0 - np.minimum(1.0, self.exposure[rows, genre] * self.n_genres)
        z = (cfg.engage_bias + cfg.affinity_weight * relative + cfg.quality_weight * (catalogue.quality[items] - 0.5)
             + cfg.novelty_weight * (self.novelty_tolerance[rows] - 0.5) * novelty)
        return 1.0 / (1.0 + np.exp(-z))

    def respond(self, users: np.ndarray, slates: np.ndarray, catalogue: Catalogue,
                rng: np.random.Generator) -> Responses:
        """Draw engagement, heavy-tailed watch times and likes/comments/shares for every slate at once."""
        cfg = self.config
        p = self.engage_probability(users, slates, catalogue)
        engaged = rng.random(p.shape) < p
        normal = rng.standard_normal(p.shape).astype(np.float32)
        long = self.watch_median[users, None] * np.exp(self.watch_sigma[users, None] * normal)
        short = cfg.skip_median_s * np.exp(cfg.skip_sigma * normal)
        duration = catalogue.duration[slates]
        watch = np.minimum(np.where(engaged, long, short), np.where(engaged, 2.0 * duration, duration))
        u = rng.random((3, *p.shape))
        quality = catalogue.quality[slates]
        liked = engaged & (u[0] < cfg.like_given_engaged * (0.5 + quality))
        commented = engaged & (u[1] < cfg.comment_given_engaged * (0.5 + quality))
        shared = engaged & (u[2] < cfg.share_given_engaged * (0.5 + quality))
        return Responses(np.ones(p.shape, bool), watch.astype(np.float32), engaged, liked, commented, shared)

    def update(self, users: np.ndarray, slates: np.ndarray, responses: Responses, catalogue: Catalogue) -> None:
        """Drift preferences toward engaged genres and track exposure (so bubbles can form)."""
        g, k = self.n_genres, slates.shape[1]
        genre = catalogue.genre[slates].astype(np.int64)
        local = np.repeat(np.arange(len(users)), k).reshape(genre.shape)
        flat = (local * g + genre).ravel()
        engaged = np.bincount(flat, responses.clicked.ravel().astype(np.float64), len(users) * g).reshape(-1, g)
        shown = np.bincount(flat, responses.viewed.ravel().astype(np.float64), len(users) * g).reshape(-1, g)
        pref = self.preferences[users]
        pref += self.config.drift * (engaged - engaged.sum(1, keepdims=True) * pref) / k
        self.preferences[users] = np.clip(pref, 1e-6, None) / np.clip(pref, 1e-6, None).sum(1, keepdims=True)
        rate = self.config.exposure_memory
        share = shown / np.maximum(shown.sum(1, keepdims=True), 1.0)
        self.exposure[users] = (1 - rate) * self.exposure[users] + rate * share

    def demand(self) -> np.ndarray:
        """Population-wide share of interest per genre (what creators would target with full information)."""
        if self.n == 0:
            return np.full(self.n_genres, 1.0 / self.n_genres)
        return self.preferences.mean(0).astype(np.float64)
