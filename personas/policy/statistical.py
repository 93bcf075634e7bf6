"""The statistical persona policy (the embedded CPU default): watch time and engagement from a persona's own traces."""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from personas.analysis import UNKNOWN_CATEGORY, EmpiricalDistribution, NotEnoughDataError, top_category
from personas.policy import Decision, DecisionError, PersonaLike
from recorder.feed import Observation
from recorder.trace import Step, Trace

log = logging.getLogger(__name__)

ENGAGEMENTS = ("like", "comment", "share")
MIN_FIT_VIDEOS = 5


@dataclass(frozen=True)
class StatisticalPolicyConfig:
    """How the statistical policy predicts (loadable from YAML; see recorder.config.load_config)."""

    seed: int = 0
    deterministic: bool = True  # predict the conditional median (evaluation) instead of sampling (audits)
    min_category_samples: int = 10  # fewer views of a category back off to the persona's global distribution
    recent_k: int = 3  # how many of the session's latest watch times describe the current mood
    recent_weight: float = 0.5  # weight of the recent median against the distribution, blended in log(1 + s)
    smoothing: float = 2.0  # pseudo-views pulling a category's engagement rate toward the persona's overall rate

    def __post_init__(self) -> None:
        if self.min_category_samples < 1:
            raise ValueError(f"min_category_samples must be >= 1, got {self.min_category_samples}")
        if self.recent_k < 1:
            raise ValueError(f"recent_k must be >= 1, got {self.recent_k}")
        if not 0.0 <= self.recent_weight <= 1.0:
            raise ValueError(f"recent_weight must lie in [0, 1], got {self.recent_weight}")
        if self.smoothing <= 0:
            raise ValueError(f"smoothing must be > 0, got {self.smoothing}")


@dataclass(frozen=True)
class CategoryCounts:
    """How often a persona saw, and engaged with, one category."""

    videos: int
    like: int = 0
    comment: int = 0
    share: int = 0


@dataclass(frozen=True)
class StatisticalPersonaModel:
    """What the policy learned from a persona's traces: watch durations and engagement counts per category."""

    persona_id: str
    durations: tuple[float, ...]
    category_durations: Mapping[str, tuple[float, ...]]
    counts: Mapping[str, CategoryCounts]
    comment_texts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.durations) < MIN_FIT_VIDEOS:
            raise NotEnoughDataError(f"the statistical policy needs at least {MIN_FIT_VIDEOS} videos to fit; got "
                                     f"{len(self.durations)} for persona {self.persona_id!r}")

    @classmethod
    def fit(cls, traces: Sequence[Trace] | Sequence[Step], persona_id: str | None = None) -> StatisticalPersonaModel:
        """Fit on whole traces or on a list of steps (e.g. the training part of sessions)."""
        steps = [s for item in traces for s in (item.steps if isinstance(item, Trace) else (item,))]
        ids = {t.header.persona_id for t in traces if isinstance(t, Trace) and t.header.persona_id}
        pid = persona_id or (ids.pop() if len(ids) == 1 else None)
        if not pid:
            raise ValueError("persona_id: the traces name no single persona; pass persona_id=...")
        durations: dict[str, list[float]] = defaultdict(list)
        engaged: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ENGAGEMENTS, 0))
        for step in steps:
            category = top_category(step)
            durations[category].append(step.watch_s)
            for name in ENGAGEMENTS:
                engaged[category][name] += int(step.did(name))
        texts = tuple(a.text for s in steps for a in s.actions if a.name == "comment" and a.text)
        return cls(pid, tuple(sorted(s.watch_s for s in steps)),
                   {c: tuple(sorted(v)) for c, v in durations.items()},
                   {c: CategoryCounts(len(durations[c]), **engaged[c]) for c in durations}, texts)

    def distribution(self, category: str, min_samples: int) -> EmpiricalDistribution:
        """The category's own watch distribution when it has enough views, else the global one."""
        own = self.category_durations.get(category, ())
        return EmpiricalDistribution.from_samples(own if len(own) >= min_samples else self.durations)

    def rate(self, name: str, category: str, smoothing: float) -> float:
        """Engagement probability for a category: (k_c + a*p) / (n_c + a), p the Laplace-smoothed overall rate."""
        total = sum(c.videos for c in self.counts.values())
        overall = (sum(getattr(c, name) for c in self.counts.values()) + 1) / (total + 2)
        own = self.counts.get(category, CategoryCounts(0))
        return (getattr(own, name) + smoothing * overall) / (own.videos + smoothing)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (to save a fitted policy beside an audit run)."""
        return {"persona_id": self.persona_id, "durations": list(self.durations),
                "category_durations": {c: list(v) for c, v in self.category_durations.items()},
                "counts": {c: vars(v).copy() for c, v in self.counts.items()},
                "comment_texts": list(self.comment_texts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatisticalPersonaModel:
        """Inverse of `to_dict`."""
        try:
            return cls(data["persona_id"], tuple(data["durations"]),
                       {c: tuple(v) for c, v in data["category_durations"].items()},
                       {c: CategoryCounts(**v) for c, v in data["counts"].items()},
                       tuple(data.get("comment_texts", ())))
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"statistical policy model: malformed or missing field ({err}); refit it") from err


@dataclass
class StatisticalPolicy:
    """Policy: watch time from the persona's (category-conditioned) distribution blended with the session's mood."""

    model: StatisticalPersonaModel
    config: StatisticalPolicyConfig = field(default_factory=StatisticalPolicyConfig)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.config.seed)

    def reseed(self, seed: int) -> None:
        """Restart the random stream (stochastic mode) from `seed`."""
        self._rng = np.random.default_rng(seed)

    def act(self, persona: PersonaLike, observation: Observation, history: Sequence[Step]) -> Decision:
        """Decide watch time and engagement for `observation` given this session's earlier steps."""
        started = time.perf_counter()
        if persona.persona_id != self.model.persona_id:
            raise DecisionError(f"persona {persona.persona_id!r}: this policy was fitted on persona "
                                f"{self.model.persona_id!r}; fit one on that persona's traces")
        category = observation.category.top if observation.category else UNKNOWN_CATEGORY
        watch = self.predict_watch(category, [s.watch_s for s in history])
        flags = {name: self._engage(name, category) for name in ENGAGEMENTS}
        text = self._comment_text() if flags["comment"] else None
        return Decision(watch, flags["like"], flags["comment"], flags["share"], text,
                        time.perf_counter() - started)

    def predict_watch(self, category: str, recent: Sequence[float]) -> float:
        """Median (deterministic) or a draw (stochastic) of the category distribution, blended with recent views."""
        cfg = self.config
        dist = self.model.distribution(category, cfg.min_category_samples)
        base = dist.median if cfg.deterministic else dist.quantile(float(self._rng.uniform()))
        if not recent or cfg.recent_weight == 0:
            return base
        mood = float(np.median(recent[-cfg.recent_k:]))
        # Durations are heavy-tailed: blend on a log scale so one 2-minute view does not swamp the mood.
        blended = (1 - cfg.recent_weight) * math.log1p(base) + cfg.recent_weight * math.log1p(mood)
        return max(0.0, math.expm1(blended))

    def _engage(self, name: str, category: str) -> bool:
        p = self.model.rate(name, category, self.config.smoothing)
        return p >= 0.5 if self.config.deterministic else bool(self._rng.uniform() < p)

    def _comment_text(self) -> str | None:
        texts = self.model.comment_texts
        return texts[int(self._rng.integers(len(texts)))] if texts else None


def fit_statistical_policy(traces: Sequence[Trace], config: StatisticalPolicyConfig | None = None,
                           persona_id: str | None = None) -> StatisticalPolicy:
    """Fit the statistical policy on one persona's traces."""
    return StatisticalPolicy(StatisticalPersonaModel.fit(traces, persona_id), config or StatisticalPolicyConfig())
