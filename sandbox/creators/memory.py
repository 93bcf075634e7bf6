"""Per-creator state: creation and feedback memory with forgetting, skill and audience beliefs, activity, exit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.catalogue import ItemDraft
from sandbox.creators.base import CreationRecord, CreatorProfile, CreatorView


@dataclass(frozen=True)
class MemoryConfig:
    """How creators remember and when they give up."""

    capacity: int = 64  # items remembered (oldest forgotten first)
    forgetting: float = 0.9  # per-step weight decay of older items in beliefs
    prior_clicks: float = 1.0  # optimistic clicks-per-item assumed for a genre never tried
    prior_weight: float = 1.0  # how many items' worth that prior counts
    skill_tau: float = 5.0  # items of practice to close ~63% of the gap to full skill belief
    exit_window: int = 5  # leave after this many consecutive items with no clicks (0 = never)
    activity_boost: float = 0.5  # how much recent success raises the chance to create

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {self.capacity}")
        if not 0.0 < self.forgetting <= 1.0:
            raise ValueError(f"forgetting must lie in (0, 1], got {self.forgetting}")
        if self.exit_window < 0 or self.exit_window > self.capacity:
            raise ValueError(f"exit_window must lie in [0, capacity={self.capacity}], got {self.exit_window}")
        if self.prior_weight <= 0 or self.skill_tau <= 0:
            raise ValueError("prior_weight and skill_tau must be > 0")


class CreatorMemory:
    """What one creator remembers: its own items and the feedback on them, nothing else."""

    def __init__(self, profile: CreatorProfile, genres: tuple[str, ...], config: MemoryConfig | None = None):
        self.profile = profile
        self.genres = genres
        self.config = config or MemoryConfig()
        self.creations: list[CreationRecord] = []
        n = self.config.capacity
        self._stats = np.zeros((4, n), np.float64)  # impressions, clicks, likes, watch_s per remembered item
        self.exited_at: int | None = None

    @property
    def active(self) -> bool:
        """Whether the creator is still on the platform."""
        return self.exited_at is None

    def remember_creation(self, item_id: int, step: int, genre: int, draft: ItemDraft) -> None:
        """Add a newly published item; the oldest one is forgotten when memory is full."""
        record = CreationRecord(item_id, step, genre, draft.category, draft.title, draft.tags, draft.description,
                                draft.explore)
        if len(self.creations) == self.config.capacity:
            self.creations.pop(0)
            self._stats = np.roll(self._stats, -1, axis=1)
            self._stats[:, -1] = 0.0
        self.creations.append(record)

    def observe_feedback(self, item_ids: np.ndarray, impressions: np.ndarray, clicks: np.ndarray,
                         likes: np.ndarray, watch_s: np.ndarray) -> None:
        """Add this step's feedback on own items (items already forgotten are ignored)."""
        position = {c.item_id: k for k, c in enumerate(self.creations)}
        for j, item in enumerate(np.asarray(item_ids).tolist()):
            k = position.get(item)
            if k is None:
                continue
            self._stats[:, k] += (impressions[j], clicks[j], likes[j], watch_s[j])

    def _weights(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.creations)
        genre = np.fromiter((c.genre for c in self.creations), np.int64, n)
        age = step - np.fromiter((c.step for c in self.creations), np.float64, n)
        return genre, self.config.forgetting ** np.maximum(age, 0.0)

    def audience_belief(self, step: int) -> np.ndarray:
        """Expected clicks per item in each genre, from own feedback with forgetting and an optimistic prior."""
        cfg, g = self.config, len(self.genres)
        genre, weight = self._weights(step)
        clicks = np.bincount(genre, weight * self._stats[1, : len(genre)], minlength=g)
        items = np.bincount(genre, weight, minlength=g)
        return (clicks + cfg.prior_weight * cfg.prior_clicks) / (items + cfg.prior_weight)

    def skill_belief(self, step: int) -> np.ndarray:
        """Belief in own skill per genre: grows with (forgetting-weighted) practice from a home-genre start."""
        g = len(self.genres)
        genre, weight = self._weights(step)
        practice = np.bincount(genre, weight, minlength=g)
        start = np.full(g, 0.3)
        start[[self.genres.index(h) for h in self.profile.home_genres if h in self.genres]] = 0.6
        return start + (1.0 - start) * (1.0 - np.exp(-practice / self.config.skill_tau))

    def activity_probability(self, step: int) -> float:
        """Chance to create this step: base activity, raised by recent clicks per item."""
        if not self.active:
            return 0.0
        recent = self._stats[1, max(0, len(self.creations) - 5): len(self.creations)]
        success = 1.0 - np.exp(-recent.mean()) if recent.size else 0.5
        base = self.profile.activity
        return float(min(1.0, base * (1.0 - self.config.activity_boost + 2 * self.config.activity_boost * success)))

    def should_exit(self, step: int) -> bool:
        """True when the last `exit_window` items that had a step of feedback all got no clicks."""
        w = self.config.exit_window
        if w == 0 or not self.active:
            return False
        judged = [k for k, c in enumerate(self.creations) if c.step < step][-w:]
        return len(judged) == w and not self._stats[1, judged].any()

    def exit(self, step: int) -> None:
        """Leave the platform for good."""
        self.exited_at = step

    def view(self, step: int, platform_interest: np.ndarray | None = None) -> CreatorView:
        """A read-only snapshot of what this creator knows."""
        n = len(self.creations)
        stats = self._stats[:, :n].copy()
        stats.setflags(write=False)
        return CreatorView(step, self.profile, self.genres, tuple(self.creations), stats[0], stats[1], stats[2],
                           stats[3], self.skill_belief(step), self.audience_belief(step), platform_interest)
