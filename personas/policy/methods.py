"""Evaluation methods: a spec string per method, built per persona (fitted on its training views, settings chosen
on its validation views); see personas.evaluation for the list of specs."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path
from typing import Any

from personas.policy.base import Policy, SimplePersona
from personas.policy.baselines import LastKMedianPolicy, TrainingMedianPolicy
from personas.policy.dataset import SessionSplit
from personas.policy.metrics import smape
from personas.policy.statistical import (
    StatisticalPersonaModel,
    StatisticalPolicy,
    StatisticalPolicyConfig,
    preferences_for,
)
from recorder.errors import PersonaActError
from recorder.feed import Observation
from recorder.trace import Step

LLM_METHODS = ("llm-sim", "llm-sim-no-persona")
TRIVIAL = ("training_median", "last10_median", "last_k_median")
STATISTICAL = ("statistical", "statistical_tuned", "statistical_sampled")
NO_PERSONA = "#no-persona"


class MethodError(ValueError, PersonaActError):
    """An evaluation method spec is unknown or cannot be built; the message names it."""


@dataclass(frozen=True)
class CardPersona:
    """A persona known by its id and card text (for traces without an interview Persona file)."""

    persona_id: str
    narrative: str = ""


@dataclass
class PersonaContext:
    """What a method may use of one persona: its training/validation views, fitted model, card."""

    persona_id: str
    splits: list[SessionSplit]
    model: StatisticalPersonaModel
    persona: Any  # a Persona (interview) or CardPersona
    card: str

    @property
    def median_s(self) -> float:
        """Median of the training watch times."""
        return float(statistics.median(self.model.durations))


@dataclass(frozen=True)
class MethodBuild:
    """A method built for one persona."""

    policy: Policy
    label: str
    kind: str  # trivial | statistical | llm | adapter | http
    setting: str


def is_model_method(spec: str) -> bool:
    """Whether a method calls a language model (and so runs on the subsample)."""
    return spec not in TRIVIAL + STATISTICAL


def contexts_for(splits: Sequence[SessionSplit], cards: Mapping[str, Any], config: Any) -> dict[str, PersonaContext]:
    """One context per persona: the model fitted on its training views; the card given, else one written from its
    training behaviour (prompts only: stated category preferences come from given cards alone)."""
    from personas.policy.dataset import behaviour_cards
    from personas.policy.inference import persona_text

    fallback = behaviour_cards(splits)
    out = {}
    for persona in sorted({s.persona for s in splits}):
        mine = [s for s in splits if s.persona == persona]
        model = StatisticalPersonaModel.fit([st for s in mine for st in s.train], persona_id=persona)
        given = cards.get(persona)
        person = given if hasattr(given, "narrative") else CardPersona(persona, str(given or ""))
        text = persona_text(person) if hasattr(given, "traits") else str(given or fallback[persona])
        out[persona] = PersonaContext(persona, mine, model, person, text)
    return out


def build_method(spec: str, ctx: PersonaContext, config: Any, chat: Any = None,
                 cache: dict[str, Any] | None = None) -> MethodBuild:
    """Build method `spec` for one persona."""
    if spec == "training_median":
        return MethodBuild(TrainingMedianPolicy(ctx.median_s), "training median", "trivial", f"{ctx.median_s:.2f} s")
    if spec == "last10_median":
        return MethodBuild(LastKMedianPolicy(10, ctx.median_s), "last-10 median", "trivial", "k=10")
    if spec == "last_k_median":
        k = min(config.k_grid, key=lambda k: (validation_smape(LastKMedianPolicy(k, ctx.median_s), ctx), k))
        return MethodBuild(LastKMedianPolicy(k, ctx.median_s), "last-k median", "trivial", f"k={k}")
    if spec in STATISTICAL:
        policy = validated_statistical(ctx, config) if spec == "statistical_tuned" else StatisticalPolicy(
            ctx.model, StatisticalPolicyConfig(min_category_samples=config.min_category_samples, seed=config.seed),
            preferences_for(ctx.persona, ctx.model, config.min_category_samples))
        cfg = policy.config
        setting = (f"k={cfg.recent_k}, weight={cfg.recent_weight}, point={cfg.point}, "
                   f"preferences={policy.preferences.source}")
        if spec == "statistical_sampled":
            policy = StatisticalPolicy(policy.model, replace(cfg, deterministic=False, seed=config.seed),
                                       policy.preferences)
            return MethodBuild(policy, "statistical (sampled)", "statistical", setting + ", sampled")
        label = "statistical (tuned)" if spec == "statistical_tuned" else "statistical"
        return MethodBuild(policy, label, "statistical", setting)
    return _model_method(spec, ctx, config, chat, cache if cache is not None else {})


def _model_method(spec: str, ctx: PersonaContext, config: Any, chat: Any, cache: dict[str, Any]) -> MethodBuild:
    from personas.policy.inference import LocalVLMPolicy

    base = spec.removesuffix(NO_PERSONA)
    use_card = not spec.endswith(NO_PERSONA)
    common = {"card": ctx.card, "use_card": use_card, "history_len": config.history_len,
              "fallback_watch_s": ctx.median_s}
    if base == "llm-sim" or spec == "llm-sim-no-persona":
        from personas.policy.llm_sim import LLMSimPolicy

        if chat is None:
            raise MethodError(f"method {spec!r}: needs a chat model (evaluate builds the embedded one by default)")
        label = "LLM-Sim" if use_card and spec == "llm-sim" else "LLM-Sim, no persona"
        policy: Policy = LLMSimPolicy.build(ctx.persona, chat=chat, **{**common, "use_card": spec == "llm-sim"})
        return MethodBuild(policy, label, "llm", getattr(chat, "name", "chat model"))
    if base.startswith("http:"):
        from personas.policy.loading import load_policy

        return MethodBuild(load_policy(base, ctx.persona, **common), "served policy" + ("" if use_card else
                                                                                    ", no persona"), "http", base)
    folder = Path(base).expanduser()
    if not folder.is_dir():
        raise MethodError(f"method {spec!r}: not a known method ({', '.join(TRIVIAL + STATISTICAL + LLM_METHODS)}), "
                          "an adapter/model folder, or http:<model>@<base_url>")
    if base not in cache:
        cache[base] = LocalVLMPolicy.load(folder)
    loaded = cache[base]
    policy = LocalVLMPolicy(loaded.model, loaded.processor, max_new_tokens=loaded.max_new_tokens, **common)
    return MethodBuild(policy, "trained policy" + ("" if use_card else ", no persona"), "adapter", str(folder))


def validated_statistical(ctx: PersonaContext, config: Any) -> StatisticalPolicy:
    """The statistical policy with (k, weight, point) chosen on the persona's validation views (first of ties)."""
    preferences = preferences_for(ctx.persona, ctx.model, config.min_category_samples)
    grid = list(product(config.points, config.k_grid, config.weight_grid))

    def make(setting: tuple[str, int, float]) -> StatisticalPolicy:
        point, k, weight = setting
        cfg = StatisticalPolicyConfig(recent_k=k, recent_weight=weight, point=point,
                                      min_category_samples=config.min_category_samples, seed=config.seed)
        return StatisticalPolicy(ctx.model, cfg, preferences)

    losses = [validation_smape(make(s), ctx) for s in grid]
    return make(grid[losses.index(min(losses))])


def validation_smape(policy: Policy, ctx: PersonaContext) -> float:
    """SMAPE of a policy on the persona's validation views (true history); 0 when it has none."""
    actual, predicted = [], []
    persona = SimplePersona(ctx.persona_id)
    for split in ctx.splits:
        history = split.before("validation")
        for step in split.validation:
            predicted.append(policy.act(persona, observation_of(step, len(history)), history).watch_s)
            actual.append(step.watch_s)
            history.append(step)
    return smape(actual, predicted) if actual else 0.0


def observation_of(step: Step, position: int, folder: Path | None = None) -> Observation:
    """What the viewer saw at a recorded step: metadata, category, transcript and, given the trace folder, its
    first key frame (as the BGR array a feed would hand over)."""
    return Observation(position=position, shown_at=step.appeared_at, meta=step.meta, category=step.category,
                       transcript=step.transcript, frame=_first_frame(step, folder))


def _first_frame(step: Step, folder: Path | None) -> Any:
    if folder is None or not step.frames or not (folder / step.frames[0]).is_file():
        return None
    import numpy as np
    from PIL import Image

    with Image.open(folder / step.frames[0]) as image:
        return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
