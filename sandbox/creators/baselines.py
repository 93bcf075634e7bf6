"""Baseline creator policies: random, full-information (sees platform-wide interest) and rule-based best response."""

from __future__ import annotations

import numpy as np

from recorder.taxonomy import Taxonomy, load_taxonomy
from sandbox.catalogue import ItemDraft
from sandbox.creators.base import CreatorPolicy, CreatorView

_HOOKS = ("How I", "Why", "The truth about", "Day 3 of", "Trying", "Top 5", "You won't believe", "A quick guide to",
          "Behind the scenes:", "My honest take on")


def template_draft(view: CreatorView, genre: int, rng: np.random.Generator, explore: bool | None,
                   taxonomy: Taxonomy | None = None) -> ItemDraft:
    """A plausible item in `genre` with a templated title, alias tags and a description (no model needed)."""
    top = (taxonomy or load_taxonomy()).top(view.genres[genre])
    sub = top.subcategories[int(rng.integers(len(top.subcategories)))]
    hook = _HOOKS[int(rng.integers(len(_HOOKS)))]
    tags = tuple(a for a in (*sub.aliases[:2], top.aliases[0] if top.aliases else top.name))
    title = f"{hook} {sub.name.lower()} ({view.profile.name})"
    description = f"{view.profile.name} posts about {sub.name.lower()} in {top.name.lower()}. {view.profile.persona}".strip()
    return ItemDraft((top.name, sub.name), title, tags, description, explore)


def tried_genres(view: CreatorView) -> set[int]:
    """Genres this creator has made items in (from its own history)."""
    return {c.genre for c in view.creations}


class RandomCreator(CreatorPolicy):
    """Picks a genre uniformly at random."""

    name = "random"

    def decide(self, state: CreatorView, rng: np.random.Generator) -> ItemDraft | None:
        """A templated item in a uniformly random genre."""
        genre = int(rng.integers(len(state.genres)))
        return template_draft(state, genre, rng, explore=genre not in tried_genres(state))


class FullInformationCreator(CreatorPolicy):
    """Sees the platform-wide interest per genre and samples genres in proportion to interest x own skill."""

    name = "full-information"
    needs_platform_interest = True

    def __init__(self, sharpness: float = 4.0):
        self.sharpness = sharpness

    def decide(self, state: CreatorView, rng: np.random.Generator) -> ItemDraft | None:
        """A templated item in a genre drawn by softmax(sharpness * log(interest x skill))."""
        if state.platform_interest is None:
            raise ValueError("FullInformationCreator needs CreatorView.platform_interest; the platform fills it "
                             "when policy.needs_platform_interest is True")
        value = np.log(np.maximum(state.platform_interest * state.skill_belief, 1e-12)) * self.sharpness
        p = np.exp(value - value.max())
        genre = int(rng.choice(len(p), p=p / p.sum()))
        return template_draft(state, genre, rng, explore=genre not in tried_genres(state))


class BestResponseCreator(CreatorPolicy):
    """Epsilon-greedy best response to own beliefs: exploit argmax(audience x skill), explore untried genres."""

    name = "best-response"

    def __init__(self, epsilon: float = 0.1):
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
        self.epsilon = epsilon

    def decide(self, state: CreatorView, rng: np.random.Generator) -> ItemDraft | None:
        """Explore with probability epsilon (an untried genre when any), else the best believed genre."""
        if rng.random() < self.epsilon:
            untried = sorted(set(range(len(state.genres))) - tried_genres(state))
            pool = untried or list(range(len(state.genres)))
            return template_draft(state, int(pool[int(rng.integers(len(pool)))]), rng, explore=True)
        value = state.audience_belief * state.skill_belief
        genre = int(np.flatnonzero(value == value.max())[int(rng.integers((value == value.max()).sum()))])
        return template_draft(state, genre, rng, explore=False)


BASELINES: dict[str, type[CreatorPolicy]] = {
    "random": RandomCreator, "full-information": FullInformationCreator, "best-response": BestResponseCreator,
}
