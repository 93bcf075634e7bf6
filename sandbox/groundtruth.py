"""Ground truth for audits: the world, the viewers and the measures whose dependence on the knobs is known.

The sandbox is where audit methods are validated, so it must behave like a personalising short-video platform
towards an outside account. This module fixes the reference setting used by `benchmarks/groundtruth.py` and the
tests: a world (`GroundTruthWorld`), a favourite-category viewer and a switch to two other categories, and the
measures (favourite share, distinct full taxonomy paths per window and their relative decline, Jensen-Shannon
divergence between two phases, percentile bootstrap CIs over seeds). Driving the feed is left to the caller (the
audit runner), so this module never imports `audit`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sandbox.metrics import bootstrap_ci, js_divergence


@dataclass(frozen=True)
class GroundTruthWorld:
    """A small world whose supply of fresh videos keeps up with an outside account watching `advance_every`
    videos per world step (so the favourite categories never run dry)."""

    users: int = 500
    creators: int = 100
    warmup_steps: int = 5
    advance_every: int = 10
    candidate_window: int = 10

    def build(self, seed: int, recommender: str = "mf", **changes: Any) -> Any:
        """A warmed-up Platform (seeded); `changes` override other SandboxConfig fields."""
        from sandbox.config import SandboxConfig
        from sandbox.platform import Platform

        config = SandboxConfig(seed=seed, users=self.users, creators=self.creators, recommender=recommender,
                               candidate_window=self.candidate_window, write_logs=False, **changes)
        platform = Platform(config)
        platform.run(steps=self.warmup_steps)
        return platform


def supplied_genres(platform: Any) -> list[str]:
    """Top-level categories ordered by how many fresh items the candidate pool holds now (most first)."""
    cat = platform.catalogue
    pool = cat.recent(platform.step, platform.config.candidate_window)
    counts = np.bincount(cat.genre[pool], minlength=cat.n_genres)
    order = np.argsort(-counts, kind="stable")
    return [platform.genres[int(g)] for g in order]


def favourites(platform: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(favourites, switch targets): the two most supplied genres, then the next two."""
    genres = supplied_genres(platform)
    return frozenset(genres[:2]), frozenset(genres[2:4])


def share(tops: Sequence[str], wanted: frozenset[str]) -> float:
    """Share of videos whose top-level category is in `wanted`."""
    return float(np.mean([t in wanted for t in tops])) if len(tops) else 0.0


def distinct_per_window(paths: Sequence[str], window: int = 50) -> list[int]:
    """Distinct categories in consecutive non-overlapping windows of `window` videos (a short tail is dropped)."""
    return [len(set(paths[i:i + window])) for i in range(0, len(paths) - window + 1, window)]


def decline(series: Sequence[float]) -> float:
    """Relative decline from the first to the last value: 1 - last / first (0 when there is nothing to compare)."""
    if len(series) < 2 or series[0] == 0:
        return 0.0
    return 1.0 - series[-1] / series[0]


def phase_js(first: Sequence[str], second: Sequence[str]) -> float:
    """Jensen-Shannon divergence (base 2) between the category distributions of two phases."""
    keys = sorted(set(first) | set(second))
    a, b = Counter(first), Counter(second)
    return js_divergence(np.array([a[k] for k in keys], float), np.array([b[k] for k in keys], float))


class PhasedViewer:
    """A Policy: the favourite-category viewer for `switch_at` videos, then one favouring `then` (0 = never)."""

    def __init__(self, first: frozenset[str], then: frozenset[str], switch_at: int = 0, seed: int = 0):
        from sandbox.feed import GenreViewer

        self.first, self.then = GenreViewer(first, seed), GenreViewer(then, seed + 1)
        self.switch_at = switch_at

    def reseed(self, seed: int) -> None:
        """Reseed both phases' viewers (the audit runner reseeds per step)."""
        self.first.reseed(seed)
        self.then.reseed(seed + 1)

    def act(self, persona: Any, observation: Any, history: Sequence[Any]) -> Any:
        """The first viewer's decision before `switch_at` videos, the second's after."""
        viewer = self.then if self.switch_at and len(history) >= self.switch_at else self.first
        return viewer.act(persona, observation, history)


# drive(feed, policy, videos, seed) -> the category path of each video shown, in order (the audit runner's job)
Drive = Callable[[Any, Any, int, int], list[tuple[str, ...]]]


@dataclass(frozen=True)
class GroundTruthPlan:
    """What `measure` runs: seeds, session length, the levels of each knob."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    videos: int = 800
    window: int = 50
    personalisation_levels: tuple[float, ...] = (0.0, 0.5, 1.0)
    inertia_levels: tuple[float, ...] = (0.0, 1 / 3, 2 / 3, 1.0)


def session(world: GroundTruthWorld, drive: Drive, seed: int, recommender: str, videos: int, switch_at: int = 0,
            **knobs: float) -> tuple[list[tuple[str, ...]], frozenset[str]]:
    """One outside account on a fresh world: the paths it was shown and its favourite genres."""
    platform = world.build(seed, recommender)
    fav, other = favourites(platform)
    feed = platform.open_account("viewer", advance_every=world.advance_every, **knobs)
    return drive(feed, PhasedViewer(fav, other, switch_at, seed), videos, seed), fav


def measure(world: GroundTruthWorld, plan: GroundTruthPlan, drive: Drive,
            progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every ground-truth figure (per seed, mean, 95% bootstrap CI over seeds) and whether each property holds."""
    per_seed: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        per_seed.setdefault(key, []).append(round(float(value), 6))

    last = plan.videos - 100
    for seed in plan.seeds:
        for recommender, level in [("random", 1.0), *(("mf", p) for p in plan.personalisation_levels)]:
            paths, fav = session(world, drive, seed, recommender, plan.videos, personalisation=level)
            tops, full = [p[0] for p in paths], ["/".join(p) for p in paths]
            d = decline(distinct_per_window(full, plan.window))
            if recommender == "random":
                add("favourite_share_random", share(tops[last:], fav))
                add("distinct_decline_random", d)
                continue
            add(f"decline_by_personalisation/{level:g}", d)
            if level == 1.0:
                add("favourite_share_first100", share(tops[:100], fav))
                add("favourite_share_last100", share(tops[last:], fav))
                add("distinct_decline_mf", d)
        half = plan.videos // 2
        for inertia in plan.inertia_levels:
            paths, _ = session(world, drive, seed, "mf", plan.videos, switch_at=half, inertia=inertia)
            tops = [p[0] for p in paths]  # top level: fewer categories, so less small-sample bias in the JS
            add(f"js_by_inertia/{inertia:.4g}", phase_js(tops[:half], tops[half:]))
        if progress:
            progress(f"seed {seed} done")
    return summarise(per_seed, plan)


def summarise(per_seed: dict[str, list[float]], plan: GroundTruthPlan) -> dict[str, Any]:
    """Means and CIs under the issue's key names, plus the verdict of each property."""
    out: dict[str, Any] = {"per_seed": per_seed, "n_seeds": len(plan.seeds)}
    for key in ("favourite_share_random", "favourite_share_first100", "favourite_share_last100",
                "distinct_decline_mf", "distinct_decline_random"):
        out[key] = round(float(np.mean(per_seed[key])), 4)
        out[f"{key}_ci"] = [round(x, 4) for x in bootstrap_ci(per_seed[key])]
    for group in ("decline_by_personalisation", "js_by_inertia"):
        keys = [k for k in per_seed if k.startswith(group + "/")]
        out[group] = {k.split("/", 1)[1]: round(float(np.mean(per_seed[k])), 4) for k in keys}
        out[f"{group}_ci"] = {k.split("/", 1)[1]: [round(x, 4) for x in bootstrap_ci(per_seed[k])] for k in keys}
    out["checks"] = checks(out)
    return out


def checks(r: dict[str, Any]) -> dict[str, bool]:
    """The issue's ground-truth properties, each as a verdict."""
    decl = list(r["decline_by_personalisation"].values())
    js = list(r["js_by_inertia"].values())
    js_ci = list(r["js_by_inertia_ci"].values())
    return {
        "favourite_share_last100_at_least_0.5": r["favourite_share_last100"] >= 0.5,
        "favourite_share_last100_at_least_3x_random": r["favourite_share_last100"] >= 3 * r["favourite_share_random"],
        "distinct_decline_mf_at_least_0.2": r["distinct_decline_mf"] >= 0.2,
        "distinct_decline_random_ci_contains_0": r["distinct_decline_random_ci"][0] <= 0 <= r["distinct_decline_random_ci"][1],
        "decline_increasing_in_personalisation": len(decl) >= 3 and all(a < b for a, b in zip(decl, decl[1:])),
        "js_strictly_decreasing_in_inertia": len(js) >= 4 and all(a > b for a, b in zip(js, js[1:])),
        "js_extreme_inertia_cis_disjoint": bool(js_ci) and js_ci[0][0] > js_ci[-1][1],
    }
