"""A simulated interviewee: a chat model role-playing a hidden ground-truth persona; scores trait recovery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from personas.interview.small_model import clean_reply, compact_answer_messages, task_options
from personas.interview.transcript import Turn
from personas.models import ChatModel, GenerationOptions, Message, assistant, system, user
from personas.persona import TRAIT_LEVELS, Persona, PersonaError

TASK_ANSWER = "TASK: answer_as_interviewee"
DEFAULT_PERSONAS = "simulated_personas.yaml"
# First-person statements that turn a hidden trait level into something the role-player can say. They are
# paraphrases that never use a word the cue reader (personas/interview/cues.py) looks for, nor its hedges, so
# a trait is recovered only when the interviewee puts it in its own words: recovery is not circular.
TRAIT_STATEMENTS: dict[str, dict[str, str]] = {
    "content_vs_creator": {
        "content": "What a clip is about decides whether I stay; the person behind it hardly registers with me.",
        "balanced": "Mostly the theme of a clip keeps me watching, though a handful of faces I recognise always get my "
                    "attention.",
        "creator": "Certain people on the app are my favourites, and whatever they upload I watch right away.",
    },
    "emotion_regulation": {
        "low": "My feelings have nothing to do with it; I open the app to pick up facts and tips.",
        "medium": "On a rough day I'll look for something funny, though that is not my main reason.",
        "high": "Clips are how I get through bad days: when I'm worn out, down or restless I scroll until I feel better.",
    },
    "novelty_tolerance": {
        "low": "I keep to my two or three favourite kinds of clip and skip whatever looks strange to me.",
        "medium": "If an odd clip looks promising I give it a moment before deciding.",
        "high": "I love stumbling onto things I've never seen, and a feed that repeats itself quickly bores me.",
    },
    "social_sensitivity": {
        "low": "I keep my reactions off the app entirely and pay no attention to what everyone else is watching.",
        "medium": "Once in a while I tap the heart on a clip or pass one along to a pal.",
        "high": "I hit the heart and write replies on lots of clips, pass them along to my mates every day, and keep up "
                "with whatever is hot right now.",
    },
}
# Words in a question that point at a trait, so a small model is shown only the statements that matter.
TRAIT_CUES: dict[str, tuple[str, ...]] = {
    "content_vs_creator": ("creator", "follow", "who", "topic", "content", "channel", "made", "post"),
    "emotion_regulation": ("mood", "feel", "stress", "relax", "bored", "tired", "calm", "night", "open", "session",
                           "minutes", "usually", "when"),
    "novelty_tolerance": ("new", "unfamiliar", "different", "repeat", "same", "explore", "skip", "swipe", "stay",
                          "mostly", "rarely", "kinds"),
    "social_sensitivity": ("like", "comment", "share", "friend", "popular", "trend", "others"),
}


@dataclass(frozen=True)
class HiddenPersona:
    """The ground truth a simulated interviewee plays: trait levels plus a free description."""

    persona_id: str
    traits: Mapping[str, str]
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.persona_id, str) or not self.persona_id.strip():
            raise PersonaError("hidden persona: persona_id must be a non-empty string")
        for name, levels in TRAIT_LEVELS.items():
            if self.traits.get(name) not in levels:
                raise PersonaError(f"hidden persona {self.persona_id}: traits.{name} must be one of "
                                   f"{', '.join(levels)}, got {self.traits.get(name)!r}")
        unknown = sorted(set(self.traits) - set(TRAIT_LEVELS))
        if unknown:
            raise PersonaError(f"hidden persona {self.persona_id}: unknown trait {unknown[0]!r}")

    def role_prompt(self) -> str:
        """The system prompt that makes a chat model play this person."""
        statements = " ".join(TRAIT_STATEMENTS[name][level] for name, level in self.traits.items())
        # The persona id is not said: ids such as "curious-commuter" would hand the model a cue word.
        return ("You are a real person being interviewed about how you watch short videos. "
                f"{self.description} {statements} Answer in the first person, in two or three honest sentences, "
                "consistent with this description. Never mention that you are role-playing.")

    def statements(self) -> dict[str, str]:
        """The first-person statement of each hidden trait level."""
        return {name: TRAIT_STATEMENTS[name][level] for name, level in self.traits.items()}

    def facts_for(self, question: str, count: int = 2) -> list[str]:
        """The `count` first-person trait statements the question most bears on (a small model's whole context)."""
        words = question.lower()
        ranked = sorted(TRAIT_LEVELS, key=lambda n: -sum(cue in words for cue in TRAIT_CUES[n]))  # stable on ties
        return [self.statements()[name] for name in ranked[:count]]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HiddenPersona:
        """Build from a mapping with persona_id, traits and an optional description."""
        if not isinstance(data, Mapping) or "persona_id" not in data or not isinstance(data.get("traits"), Mapping):
            raise PersonaError("hidden persona: needs persona_id and a traits mapping")
        return cls(str(data["persona_id"]), dict(data["traits"]), str(data.get("description", "")))


def load_hidden_personas(path: str | Path | None = None) -> list[HiddenPersona]:
    """Read hidden personas from YAML (a list under `personas:`); the shipped samples when `path` is None."""
    file = Path(path) if path else Path(str(resources.files("personas.data").joinpath(DEFAULT_PERSONAS)))
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError, RecursionError) as err:
        raise PersonaError(f"{file}: cannot read hidden personas ({err})") from err
    items = data.get("personas") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise PersonaError(f"{file}: expected a non-empty list under 'personas:'")
    return [HiddenPersona.from_dict(item) for item in items]


class SimulatedInterviewee:
    """Answers interview questions in character, remembering the conversation so far."""

    def __init__(self, model: ChatModel, hidden: HiddenPersona, options: GenerationOptions | None = None,
                 style: str = "json", answer_tokens: int = 80) -> None:
        self.model = model
        self.hidden = hidden
        self.options = options
        self.style = style
        self.answer_tokens = answer_tokens

    def answer(self, question: str, history: Sequence[Turn] = ()) -> str:
        """The in-character answer to `question`; a blank reply becomes an explicit 'not sure'."""
        if self.style == "compact":
            return self._answer_compact(question, len(history))
        messages: list[Message] = [system(self.hidden.role_prompt())]
        for turn in history:
            if turn.answered:
                messages += [user(turn.question), assistant(turn.answer or "")]
        messages.append(user(f"{TASK_ANSWER}\n{question}"))
        reply = " ".join(self.model.chat(messages, self.options).split())
        return reply or "I'm not sure how to answer that."

    def _answer_compact(self, question: str, turn_number: int) -> str:
        """A small model's answer: only the relevant facts, light sampling (greedy loops), trimmed at repetition."""
        messages = compact_answer_messages(self.hidden.facts_for(question), question)
        for temperature in (0.3, 0.0):  # light sampling first; greedy when that loops from the first word
            options = task_options(self.options, self.answer_tokens, temperature)
            reply = clean_reply(self.model.chat(messages, replace(options, seed=(options.seed or 0) + turn_number)), 3)
            if reply:
                return reply
        return "I'm not sure how to answer that."


@dataclass(frozen=True)
class TraitRecovery:
    """How many hidden traits a synthesised persona got right."""

    matched: tuple[str, ...]
    missed: Mapping[str, tuple[str, str]]  # trait -> (hidden level, synthesised level)

    @property
    def score(self) -> int:
        """Traits recovered."""
        return len(self.matched)

    @property
    def total(self) -> int:
        """Traits compared."""
        return len(self.matched) + len(self.missed)


def trait_recovery(hidden: HiddenPersona, persona: Persona) -> TraitRecovery:
    """Compare the synthesised trait levels with the hidden ones."""
    matched = tuple(n for n in TRAIT_LEVELS if persona.level(n) == hidden.traits[n])
    missed = {n: (hidden.traits[n], persona.level(n)) for n in TRAIT_LEVELS if n not in matched}
    return TraitRecovery(matched, missed)
