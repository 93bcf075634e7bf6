"""Metric reporters: a registry of named functions, each turning one step into one number (mesa's DataCollector
idea). The step loop calls every reporter in `Platform.reporters` after each step and appends the row to the
history; add your own with `@reporter("name")` (or `platform.reporters["name"] = fn`) without touching the loop.

A reporter receives a `StepView`: the platform, the step's outcome and cached common quantities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from sandbox import metrics as M

if TYPE_CHECKING:
    from sandbox.platform import Platform, StepOutcome

Reporter = Callable[["StepView"], float]
REPORTERS: dict[str, Reporter] = {}


def reporter(name: str) -> Callable[[Reporter], Reporter]:
    """Register `fn` as the default reporter called `name` (every new Platform gets it)."""
    def add(fn: Reporter) -> Reporter:
        REPORTERS[name] = fn
        return fn
    return add


@dataclass
class StepView:
    """One finished step as reporters see it."""

    platform: Platform
    outcome: StepOutcome

    @cached_property
    def shown(self) -> np.ndarray:
        """Bool (users, slate): a video was actually shown in that slot."""
        return self.outcome.responses.viewed & (self.outcome.slates >= 0)

    @cached_property
    def impressions(self) -> int:
        """Videos shown this step."""
        return int(self.shown.sum())

    @cached_property
    def n_users(self) -> int:
        """Active users this step (at least 1, for rates)."""
        return max(len(self.outcome.users), 1)

    @cached_property
    def live(self) -> list[int]:
        """Ids of creators still active."""
        return [c.profile.creator_id for c in self.platform.creators if c.memory.active]

    def genre_counts(self, items: Any) -> np.ndarray:
        """Items per genre."""
        cat = self.platform.catalogue
        return np.bincount(cat.genre[np.asarray(items, np.int64)], minlength=cat.n_genres)

    @cached_property
    def exposed(self) -> np.ndarray:
        """Impressions per genre."""
        return self.genre_counts(self.outcome.slates[self.shown])

    @cached_property
    def created(self) -> np.ndarray:
        """New items per genre."""
        return self.genre_counts(self.outcome.new_items)


def _rate(view: StepView, name: str) -> float:
    return float(getattr(view.outcome.responses, name).sum() / max(view.impressions, 1))


def utility(view: StepView) -> float:
    """Users' utility per active user: config.utility weights times clicks, likes, comments, shares."""
    r, w = view.outcome.responses, view.platform.config.utility
    total = w.click * r.clicked.sum() + w.like * r.liked.sum() + w.comment * r.commented.sum() + w.share * r.shared.sum()
    return float(total / view.n_users)


def creator_gini(view: StepView) -> float:
    """Gini of this step's impressions across the creators still active."""
    if not view.live:
        return 0.0
    exposure = np.bincount(view.platform.catalogue.creator[view.outcome.slates[view.shown]],
                           minlength=len(view.platform.creators))
    return M.gini(exposure[view.live])


for _name, _fn in {
    "step": lambda v: float(v.outcome.step),
    "impressions": lambda v: float(v.impressions),
    "clicks": lambda v: float(v.outcome.responses.clicked.sum()),
    "click_rate": lambda v: _rate(v, "clicked"),
    "like_rate": lambda v: _rate(v, "liked"),
    "watch_s_per_user": lambda v: float(v.outcome.responses.watch_s.sum() / v.n_users),
    "utility_per_user": utility,
    "creator_retention": lambda v: len(v.live) / max(len(v.platform.creators), 1),
    "items_created": lambda v: float(len(v.outcome.new_items)),
    "created_entropy": lambda v: M.entropy(v.created),
    "created_coverage": lambda v: M.coverage(v.created),
    "exposed_entropy": lambda v: M.entropy(v.exposed),
    "exposed_coverage": lambda v: M.coverage(v.exposed),
    "exposure_gini": creator_gini,
    "js_created_vs_demand": lambda v: M.js_divergence(v.created, v.platform.users.demand()),
    "explore_ratio": lambda v: M.explore_ratio(v.platform.decisions["explore"], v.platform.decisions["exploit"]),
}.items():
    reporter(_name)(_fn)


def collect(platform: Platform, outcome: StepOutcome, reporters: dict[str, Reporter]) -> dict[str, float]:
    """One history row: every reporter's value for this step."""
    view = StepView(platform, outcome)
    return {name: float(fn(view)) for name, fn in reporters.items()}
