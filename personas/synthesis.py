"""Persona synthesis: interview transcript + behaviour features -> Persona, via the chat model in JSON mode."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from personas.analysis import BehaviourFeatures
from personas.interview.cues import CueReading, read_traits
from personas.interview.prompts import normalise
from personas.interview.small_model import clean_reply, task_options
from personas.interview.transcript import Turn
from personas.models import (
    ChatModel,
    GenerationOptions,
    JSONModeError,
    assistant,
    chat_json,
    extract_json_object,
    system,
    user,
)
from personas.persona import TRAIT_LEVELS, TRAIT_MEANINGS, Evidence, Persona, Trait

log = logging.getLogger(__name__)
TASK_SYNTHESISE = "TASK: synthesise_persona"
_NARRATIVE_TOKENS = 80
_NARRATIVE_INPUT_CHARS = 900  # a small model's context stays short


def synthesis_messages(turns: Sequence[Turn], features: BehaviourFeatures) -> list:
    """The request: trait scales, the behaviour summary and the numbered transcript; a JSON persona back."""
    scales = "\n".join(f"- {name}: one of {' / '.join(levels)} ({TRAIT_MEANINGS[name]})" for name, levels in TRAIT_LEVELS.items())
    talk = "\n".join(f"[turn {t.turn_id}] Q: {t.question}\nA: {t.answer}" for t in turns if t.answered)
    body = "\n\n".join([
        TASK_SYNTHESISE,
        "Traits and their levels:\n" + scales,
        "Recorded behaviour:\n" + features.summary(),
        "Interview transcript:\n" + (talk or "(no answers)"),
        'Reply with only a JSON object: {"narrative": "<first-person paragraph: why and how I watch short videos>", '
        '"traits": {"<trait>": {"level": "<level>", "rationale": "<one sentence>", '
        '"quotes": [{"turn": <turn number>, "text": "<exact words from that answer>"}]}, ...}} with all four traits.',
    ])
    return [system("You turn interviews into concise, evidence-based viewer personas."), user(body)]


def synthesise(model: ChatModel, turns: Sequence[Turn], features: BehaviourFeatures, persona_id: str,
               options: GenerationOptions | None = None, retries: int = 2,
               source: Mapping[str, Any] | None = None, style: str = "json") -> Persona:
    """Ask the model for narrative and trait levels; quotes are checked against the transcript, figures added.

    In the "compact" style (small models) the model writes only the narrative, in plain text, and the
    trait levels are read from cue words in the answers (behaviour rules where the answers are silent).
    """
    if style == "compact":
        return synthesise_compact(model, turns, features, persona_id, options, source)
    answered = {t.turn_id: t for t in turns if t.answered}
    try:
        reply = chat_json(model, synthesis_messages(turns, features), options, _check_synthesis, retries)
        method = "model"
    except JSONModeError as err:
        reply = _best_effort(err)
        method = "model+behaviour-rules" if reply.get("traits") else "behaviour-rules"
        log.warning("persona synthesis: no complete JSON persona after %d attempt(s); traits the model did not "
                    "give are estimated from behaviour alone", len(err.attempts))
    traits = {name: _trait(name, reply, answered, features) for name in TRAIT_LEVELS}
    narrative = reply.get("narrative") if isinstance(reply.get("narrative"), str) and reply["narrative"].strip() else None
    return Persona(persona_id, narrative or behaviour_narrative(features), traits, features,
                   source={**dict(source or {}), "synthesis": method, "model": getattr(model, "name", "?")})


def narrative_messages(turns: Sequence[Turn], key_sentences: Sequence[str] = ()) -> list:
    """A plain-text narrative request a small model can follow: one worked example, then what the person said.

    `key_sentences` (those that carried trait cues) stand in for the whole answers when given: a small
    model summarises a few telling sentences better than a long transcript.
    """
    picked = list(dict.fromkeys(key_sentences)) or [clean_reply(t.answer or "", 2) for t in turns if t.answered]
    said = " ".join(picked)[:_NARRATIVE_INPUT_CHARS]
    return [system("You summarise what a person said, in the first person, in two sentences."),
            user("What I said: I watch cooking videos at lunch. I share recipes with my sister."),
            assistant("I watch cooking videos on my lunch break because they relax me. "
                      "When I find a good recipe I send it to my sister."),
            user(f"What I said: {said}")]


def synthesise_compact(model: ChatModel, turns: Sequence[Turn], features: BehaviourFeatures, persona_id: str,
                       options: GenerationOptions | None = None, source: Mapping[str, Any] | None = None) -> Persona:
    """Persona for small models: a model-written narrative, trait levels from answer cues, else behaviour."""
    readings = read_traits(turns)
    traits = {name: _cue_trait(name, readings.get(name), features) for name in TRAIT_LEVELS}
    narrative = ""
    if any(t.answered for t in turns):
        key_sentences = [text for reading in readings.values() for _, text in reading.quotes]
        reply = model.chat(narrative_messages(turns, key_sentences), task_options(options, _NARRATIVE_TOKENS, temperature=0.3))
        narrative = clean_reply(reply, max_sentences=3)
    method = "model-narrative+interview-cues" if len(narrative) >= 20 else "interview-cues"
    return Persona(persona_id, narrative if len(narrative) >= 20 else behaviour_narrative(features), traits, features,
                   source={**dict(source or {}), "synthesis": method, "model": getattr(model, "name", "?")})


def _cue_trait(name: str, reading: CueReading | None, features: BehaviourFeatures) -> Trait:
    figures = tuple(behaviour_evidence(name, features))
    if reading is None:
        level, why = behaviour_level(name, features)
        return Trait(name, level, f"estimated from behaviour: {why}", figures)
    quotes = tuple(Evidence("quote", text, turn_id) for turn_id, text in reading.quotes)
    return Trait(name, reading.level, reading.rationale(), quotes + figures)


def _check_synthesis(obj: dict[str, Any]) -> None:
    if not isinstance(obj.get("narrative"), str) or len(obj["narrative"].strip()) < 20:
        raise ValueError("'narrative' must be a first-person paragraph")
    traits = obj.get("traits")
    if not isinstance(traits, dict):
        raise ValueError("'traits' must be an object with the four traits")
    for name, levels in TRAIT_LEVELS.items():
        level = traits.get(name, {}).get("level") if isinstance(traits.get(name), dict) else None
        if level not in levels:
            raise ValueError(f"traits.{name}.level must be one of {', '.join(levels)}, got {level!r}")


def _best_effort(err: JSONModeError) -> dict[str, Any]:
    """The last parsable object among the rejected replies (its valid parts are still used), else {}."""
    for attempt in reversed(err.attempts):
        try:
            return extract_json_object(attempt.reply)
        except ValueError:
            continue
    return {}


def _trait(name: str, reply: Mapping[str, Any], answered: Mapping[int, Turn], features: BehaviourFeatures) -> Trait:
    raw = reply.get("traits", {}).get(name) if isinstance(reply.get("traits"), dict) else None
    figures = behaviour_evidence(name, features)
    if not isinstance(raw, dict) or raw.get("level") not in TRAIT_LEVELS[name]:
        level, why = behaviour_level(name, features)
        return Trait(name, level, f"estimated from behaviour: {why}", tuple(figures))
    quotes = tuple(q for q in (_quote(item, answered) for item in raw.get("quotes") or []) if q is not None)
    return Trait(name, raw["level"], str(raw.get("rationale") or ""), quotes + tuple(figures))


def _quote(item: Any, answered: Mapping[int, Turn]) -> Evidence | None:
    """A quote kept only if its turn exists and the words occur in that answer (models invent quotes)."""
    if not isinstance(item, dict):
        return None
    turn_id, text = item.get("turn"), item.get("text")
    turn = answered.get(turn_id) if isinstance(turn_id, int) else None
    if turn is None or not isinstance(text, str) or not text.strip():
        return None
    if normalise(text) not in normalise(turn.answer or ""):
        log.info("dropping a quote that is not in turn %s's answer: %r", turn_id, text[:80])
        return None
    return Evidence("quote", text.strip(), turn_id)


def behaviour_evidence(name: str, features: BehaviourFeatures) -> list[Evidence]:
    """The behaviour figures that bear on one trait."""
    f = features
    texts = {
        "content_vs_creator": f"repeat-creator share {f.creators.repeat_creator_share:.0%}; top creator "
                              f"{_top_author_share(f):.0%} of videos",
        "emotion_regulation": f"median session {np.median(f.temporal.session_minutes):.1f} min; long watches "
                              f"{f.long_watch_rate:.0%}",
        "novelty_tolerance": f"{len(f.category_distribution)} categories; top category "
                             f"{_top_share(f):.0%} of videos",
        "social_sensitivity": f"likes {f.like_rate:.1%}, comments {f.comment_rate:.1%}, shares {f.share_rate:.1%}",
    }
    return [Evidence("behaviour", texts[name])]


def behaviour_level(name: str, features: BehaviourFeatures) -> tuple[str, str]:
    """A coarse level from behaviour alone (used when the model gives none), with the figure it rests on."""
    f = features
    if name == "content_vs_creator":
        share = max(f.creators.repeat_creator_share, 2 * _top_author_share(f))
        return _band(share, 0.2, 0.5, TRAIT_LEVELS[name]), f"repeat/top-creator share {share:.0%}"
    if name == "novelty_tolerance":
        top = _top_share(f)
        return _band(1 - top, 0.4, 0.7, TRAIT_LEVELS[name]), f"top category {top:.0%} of videos"
    if name == "social_sensitivity":
        engagement = f.like_rate + 2 * (f.comment_rate + f.share_rate)
        return _band(engagement, 0.03, 0.15, TRAIT_LEVELS[name]), f"weighted engagement {engagement:.1%}"
    minutes = float(np.median(f.temporal.session_minutes))
    return _band(minutes, 10.0, 30.0, TRAIT_LEVELS[name]), f"median session {minutes:.0f} min"


def behaviour_narrative(features: BehaviourFeatures) -> str:
    """A plain first-person narrative from behaviour alone, when the model wrote none."""
    cats = ", ".join(list(features.category_distribution)[:3])
    return (f"I mostly watch {cats}. I usually give a video about {features.watch.median:.0f} seconds and swipe past "
            f"{features.quick_skip_rate:.0%} of them within three seconds; I like {features.like_rate:.0%} of what I see.")


def _band(value: float, low: float, high: float, levels: tuple[str, ...]) -> str:
    return levels[0] if value < low else levels[2] if value >= high else levels[1]


def _top_share(features: BehaviourFeatures) -> float:
    return max(features.category_distribution.values(), default=0.0)


def _top_author_share(features: BehaviourFeatures) -> float:
    top = features.creators.top_authors
    return max((a.videos for a in top), default=0) / features.n_videos
