"""The statistical persona policy (the embedded CPU default): watch time and engagement from a persona's own traces."""

from __future__ import annotations

import logging
import math
import re
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from personas.analysis import UNKNOWN_CATEGORY, EmpiricalDistribution, NotEnoughDataError, top_category
from personas.policy.base import Decision, DecisionError, PersonaLike
from recorder.feed import Observation
from recorder.trace import Step, Trace

log = logging.getLogger(__name__)

ENGAGEMENTS = ("like", "comment", "share")
MIN_FIT_VIDEOS = 5
POINTS = ("median", "smape")
SUMMARY_LEVELS = tuple(i / 20 for i in range(21))  # the distribution enters the SMAPE point as 21 quantiles
_NORMAL = NormalDist()


@dataclass(frozen=True)
class StatisticalPolicyConfig:
    """How the statistical policy predicts (loadable from YAML; see recorder.config.load_config)."""

    seed: int = 0
    deterministic: bool = True  # predict the conditional median (evaluation) instead of sampling (audits)
    min_category_samples: int = 10  # fewer views of a category back off to the persona's global distribution
    # Defaults: the last 10 views (the window of the last-10 baseline), half weight against the persona's
    # distribution, and the SMAPE-optimal point; per-persona tuning on small validation sets did worse (README).
    recent_k: int = 10  # how many of the session's latest watch times describe the current mood
    recent_weight: float = 0.5  # weight of the recent views against the distribution
    smoothing: float = 2.0  # pseudo-views pulling a category's engagement rate toward the persona's overall rate
    point: str = "smape"  # deterministic point: 'median', or 'smape' (the value minimising SMAPE on the blended sample)
    preference_strength: float = 0.5  # how far a stated/learned category preference moves watch time and engagement

    def __post_init__(self) -> None:
        if self.point not in POINTS:
            raise ValueError(f"point must be one of {', '.join(POINTS)}, got {self.point!r}")
        if not 0.0 <= self.preference_strength <= 2.0:
            raise ValueError(f"preference_strength must lie in [0, 2], got {self.preference_strength}")
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


@dataclass(frozen=True)
class CategoryPreferences:
    """Affinity in [-1, 1] per top-level category (1 = favourite, -1 = avoided) and where it came from."""

    affinity: Mapping[str, float] = field(default_factory=dict)
    source: str = "none"  # traces | card | none

    def __post_init__(self) -> None:
        for category, value in self.affinity.items():
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"CategoryPreferences.affinity[{category!r}]: must lie in [-1, 1], got {value}")
        if self.source not in ("traces", "card", "none"):
            raise ValueError(f"CategoryPreferences.source: traces, card or none, got {self.source!r}")

    def get(self, category: str) -> float:
        """The affinity of `category` (0 when nothing is known)."""
        return float(self.affinity.get(category, 0.0))

    def favourites(self, n: int = 3) -> tuple[str, ...]:
        """The n most favoured categories (positive affinity only), strongest first."""
        ranked = sorted((c for c, a in self.affinity.items() if a > 0), key=lambda c: (-self.affinity[c], c))
        return tuple(ranked[:n])

    def reversed(self) -> CategoryPreferences:
        """The reversed persona's preferences: favourites become avoided and the reverse."""
        return CategoryPreferences({c: -a for c, a in self.affinity.items()}, self.source)

    @classmethod
    def from_model(cls, model: StatisticalPersonaModel, min_samples: int = 10) -> CategoryPreferences:
        """Learned from categorised traces: log ratio of a category's median watch to the persona's, plus like lift."""
        known = {c: v for c, v in model.category_durations.items() if c != UNKNOWN_CATEGORY and len(v) >= min_samples}
        if not known:
            return cls()
        overall = float(np.median(model.durations))
        like_all = model.rate("like", "", 1.0)
        affinity = {c: math.tanh(math.log1p(float(np.median(v))) - math.log1p(overall)
                                 + math.log(model.rate("like", c, 2.0) / like_all)) for c, v in known.items()}
        return cls({c: round(a, 6) for c, a in affinity.items()}, "traces")

    @classmethod
    def from_card(cls, persona: Any, taxonomy: Any = None) -> CategoryPreferences:
        """Stated preferences: categories the persona card names (narrative, evidence); negated sentences count -1."""
        from recorder.taxonomy import load_taxonomy

        texts = [str(getattr(persona, "narrative", "") or "")]
        for trait in (getattr(persona, "traits", None) or {}).values():
            texts += [trait.rationale, *(e.text for e in trait.evidence)]
        taxonomy = taxonomy or load_taxonomy()
        score: dict[str, float] = defaultdict(float)
        for sentence in (s for t in texts for s in re.split(r"[.!?;\n。！？；]+", t or "") if s.strip()):
            match = taxonomy.match(sentence)
            if match is not None:
                score[match.path[0]] += -1.0 if NEGATION.search(sentence.lower()) else 1.0
        if not score:
            return cls()
        scale = max(abs(v) for v in score.values())
        return cls({c: v / scale for c, v in score.items() if v}, "card")


NEGATION = re.compile(r"\b(not|never|don't|dont|do not|hate|dislike|avoid|boring|skip|no longer)\b|不|没|讨厌|无聊|划走")


def preferences_for(persona: Any, model: StatisticalPersonaModel, min_samples: int = 10) -> CategoryPreferences:
    """Category preferences from the persona's categorised traces, else from its card, else none."""
    learned = CategoryPreferences.from_model(model, min_samples)
    if learned.affinity:
        return learned
    return CategoryPreferences.from_card(persona) if hasattr(persona, "narrative") else CategoryPreferences()


@dataclass
class StatisticalPolicy:
    """Policy: watch time from the persona's (category-conditioned) distribution blended with the session's mood.

    Category preferences (learned from categorised traces, or stated on the persona card) move watch time and
    engagement for categories the persona has too few own views of; the reversed persona negates them.
    """

    model: StatisticalPersonaModel
    config: StatisticalPolicyConfig = field(default_factory=StatisticalPolicyConfig)
    preferences: CategoryPreferences = field(default_factory=CategoryPreferences)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.config.seed)
        self._spread = _log_spread(self.model.durations)
        self._overall = EmpiricalDistribution.from_samples(self.model.durations)

    def reseed(self, seed: int) -> None:
        """Restart the random stream (stochastic mode) from `seed`."""
        self._rng = np.random.default_rng(seed)

    def reversed(self) -> StatisticalPolicy:
        """The same policy with reversed category preferences (see also policy.reversal.ReversedPolicy)."""
        return StatisticalPolicy(self.model, self.config, self.preferences.reversed())

    def act(self, persona: PersonaLike, observation: Observation, history: Sequence[Step]) -> Decision:
        """Decide watch time and engagement for `observation` given this session's earlier steps."""
        started = time.perf_counter()
        if persona.persona_id != self.model.persona_id:
            raise DecisionError(f"persona {persona.persona_id!r}: this policy was fitted on persona "
                                f"{self.model.persona_id!r}; fit one on that persona's traces")
        category = observation.category.top if observation.category else UNKNOWN_CATEGORY
        watch = self.predict_watch(category, [s.watch_s for s in history if s.watch_s > 0])
        flags = {name: self._engage(name, category) for name in ENGAGEMENTS}
        text = self._comment_text() if flags["comment"] else None
        return Decision(watch, like=flags["like"], comment=flags["comment"],
                        share=flags["share"], comment_text=text, latency_s=time.perf_counter() - started)

    def stated_affinity(self, category: str) -> float:
        """The preference that applies to `category`: only where the persona has too few own views of it."""
        own = len(self.model.category_durations.get(category, ()))
        return 0.0 if own >= self.config.min_category_samples else self.preferences.get(category)

    def predict_watch(self, category: str, recent: Sequence[float]) -> float:
        """Point (deterministic) or draw (stochastic) of the category distribution, blended with recent views."""
        cfg = self.config
        dist = self.model.distribution(category, cfg.min_category_samples)
        shift = cfg.preference_strength * self.stated_affinity(category) * self._spread  # log-seconds
        window = list(recent[-cfg.recent_k:]) if cfg.recent_weight > 0 else []
        if cfg.deterministic and cfg.point == "smape":
            base = [math.expm1(math.log1p(dist.quantile(q)) + shift) for q in SUMMARY_LEVELS]
            return smape_point(base, window, cfg.recent_weight if window else 0.0)
        if not cfg.deterministic:
            # Sampling (audits): the mood moves the normal score of the quantile drawn from the category's own
            # distribution (a Gaussian copula), not the seconds, so a category's watch times keep the persona's own
            # distribution for that category; blending seconds would pull a favourite's long watches toward the
            # skips around it and flatten the persona's preferences.
            z = float(self._rng.standard_normal())
            if window:
                mood = float(np.mean([_NORMAL.inv_cdf(min(max(self._overall.cdf(w), 0.01), 0.99)) for w in window]))
                z = math.sqrt(1 - cfg.recent_weight) * z + math.sqrt(cfg.recent_weight) * mood
            return math.expm1(math.log1p(dist.quantile(_NORMAL.cdf(z))) + shift)
        base_s = math.expm1(math.log1p(dist.quantile(0.5)) + shift)
        if not window:
            return base_s
        mood = float(np.median(window))
        # Durations are heavy-tailed: blend on a log scale so one 2-minute view does not swamp the mood.
        blended = (1 - cfg.recent_weight) * math.log1p(base_s) + cfg.recent_weight * math.log1p(mood)
        return max(0.0, math.expm1(blended))

    def _engage(self, name: str, category: str) -> bool:
        p = self.model.rate(name, category, self.config.smoothing)
        lift = 2.0 * self.config.preference_strength * self.stated_affinity(category)
        if lift:
            p = 1.0 / (1.0 + math.exp(-(math.log(p / (1 - p)) + lift)))
        return p >= 0.5 if self.config.deterministic else bool(self._rng.uniform() < p)

    def _comment_text(self) -> str | None:
        texts = self.model.comment_texts
        return texts[int(self._rng.integers(len(texts)))] if texts else None


def smape_point(base: Sequence[float], recent: Sequence[float], recent_weight: float) -> float:
    """The value among the samples minimising weighted SMAPE: `base` shares 1 - w, `recent` shares w.

    SMAPE punishes under-prediction more than over-prediction, so its optimum sits above the median of a skewed
    sample; predicting it is what a SMAPE-scored forecaster should do.

    >>> smape_point([1.0, 2.0, 100.0], [], 0.0)
    2.0
    """
    values = np.asarray(list(base) + list(recent), dtype=float)
    weights = np.concatenate([np.full(len(base), (1 - recent_weight) / max(len(base), 1)),
                              np.full(len(recent), recent_weight / max(len(recent), 1))])
    scale = values[:, None] + values[None, :]
    loss = np.divide(np.abs(values[:, None] - values[None, :]), scale, out=np.zeros_like(scale), where=scale > 0)
    return float(values[int(np.argmin(loss @ weights))])


def _log_spread(durations: Sequence[float]) -> float:
    """Half the inter-quartile range of log(1 + seconds): one 'step' of preference moves watch time this far."""
    q25, q75 = np.quantile(np.log1p(np.asarray(durations, dtype=float)), [0.25, 0.75])
    return float(max(q75 - q25, 0.1) / 2)


def fit_statistical_policy(traces: Sequence[Trace], config: StatisticalPolicyConfig | None = None,
                           persona_id: str | None = None, persona: Any = None) -> StatisticalPolicy:
    """Fit the statistical policy on one persona's traces (preferences from categories, else the card)."""
    config = config or StatisticalPolicyConfig()
    model = StatisticalPersonaModel.fit(traces, persona_id)
    return StatisticalPolicy(model, config, preferences_for(persona, model, config.min_category_samples))
