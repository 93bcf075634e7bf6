"""The creator interface: a creator sees only its own profile, history and feedback (CreatorView) and drafts items."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sandbox.catalogue import ItemDraft

__all__ = ["CreatorProfile", "CreationRecord", "CreatorView", "CreatorPolicy", "ItemDraft"]


@dataclass(frozen=True)
class CreatorProfile:
    """Who a creator is: name, persona text, home genres, base activity, and self-assessed skill per genre."""

    creator_id: int
    name: str
    persona: str = ""
    home_genres: tuple[str, ...] = ()  # top-level category names the creator starts in
    activity: float = 0.5  # base probability of creating in a step
    skill: tuple[float, ...] = ()  # true skill per genre in [0, 1] (the platform draws quality from it)

    def __post_init__(self) -> None:
        object.__setattr__(self, "home_genres", tuple(self.home_genres))
        object.__setattr__(self, "skill", tuple(float(s) for s in self.skill))
        if not 0.0 <= self.activity <= 1.0:
            raise ValueError(f"creator {self.creator_id}: activity must lie in [0, 1], got {self.activity}")
        if any(not 0.0 <= s <= 1.0 for s in self.skill):
            raise ValueError(f"creator {self.creator_id}: skill values must lie in [0, 1]")


@dataclass(frozen=True)
class CreationRecord:
    """One item this creator made (what the fast thinker retrieves from)."""

    item_id: int
    step: int
    genre: int
    category: tuple[str, ...]
    title: str
    tags: tuple[str, ...] = ()
    description: str = ""
    explore: bool | None = None


@dataclass(frozen=True)
class CreatorView:
    """Everything a creator may know when deciding: its own profile, creations and feedback, nothing platform-wide.

    `feedback` columns (impressions, clicks, likes, watch_s) align with `creations`; the beliefs are derived
    from those alone. `platform_interest` (share of demand per genre) is filled only for full-information baselines.
    """

    step: int
    profile: CreatorProfile
    genres: tuple[str, ...]
    creations: tuple[CreationRecord, ...]
    impressions: np.ndarray
    clicks: np.ndarray
    likes: np.ndarray
    watch_s: np.ndarray
    skill_belief: np.ndarray  # per genre, from own creation history
    audience_belief: np.ndarray  # per genre expected clicks per item, from own feedback only
    platform_interest: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.creations)
        for name in ("impressions", "clicks", "likes", "watch_s"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"CreatorView.{name} has {len(getattr(self, name))} entries for {n} creations")
        for name in ("skill_belief", "audience_belief"):
            if len(getattr(self, name)) != len(self.genres):
                raise ValueError(f"CreatorView.{name} needs one value per genre ({len(self.genres)})")

    @property
    def creator_id(self) -> int:
        """The deciding creator's id."""
        return self.profile.creator_id

    def genre_index(self, name: str) -> int:
        """Position of a genre name in `genres`."""
        return self.genres.index(name)


class CreatorPolicy(abc.ABC):
    """Decides what a creator makes this step (None = create nothing); must not look beyond the view."""

    name: str = "creator-policy"
    needs_platform_interest: bool = False  # only full-information baselines set this

    @abc.abstractmethod
    def decide(self, state: CreatorView, rng: np.random.Generator) -> ItemDraft | None:
        """One creator's draft for this step, or None."""

    def decide_batch(self, states: Sequence[CreatorView], rng: np.random.Generator) -> list[ItemDraft | None]:
        """Drafts for many creators in order; LLM policies override this to batch their model calls."""
        return [self.decide(state, rng) for state in states]
