"""The Persona: a versioned schema (narrative, four evidenced traits, behaviour features), JSON on disk, Markdown card."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from personas.analysis import BehaviourFeatures
from recorder.errors import PersonaActError
from recorder.files import write_json_atomic

PERSONA_SCHEMA_VERSION = 1
TRAIT_LEVELS: dict[str, tuple[str, ...]] = {
    "content_vs_creator": ("content", "balanced", "creator"),
    "emotion_regulation": ("low", "medium", "high"),
    "novelty_tolerance": ("low", "medium", "high"),
    "social_sensitivity": ("low", "medium", "high"),
}
TRAIT_MEANINGS: dict[str, str] = {
    "content_vs_creator": "whether the topic (content) or who made it (creator) decides what they watch",
    "emotion_regulation": "how much they use videos to change or keep a mood (high = often)",
    "novelty_tolerance": "how much they welcome unfamiliar topics (high = explores)",
    "social_sensitivity": "how much others shape their viewing: likes, comments, sharing, popularity (high = strongly)",
}
EVIDENCE_KINDS = ("quote", "behaviour")


class PersonaError(ValueError, PersonaActError):
    """A persona file or value is invalid; the message names the field and what to do."""


@dataclass(frozen=True)
class Evidence:
    """Where a trait level came from: an interview quote (with its turn id) or a behaviour figure."""

    kind: str
    text: str
    turn_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVIDENCE_KINDS:
            raise PersonaError(f"evidence.kind: {self.kind!r} is not one of {', '.join(EVIDENCE_KINDS)}")
        if not isinstance(self.text, str) or not self.text.strip():
            raise PersonaError("evidence.text: must be non-empty")
        if self.kind == "quote" and (isinstance(self.turn_id, bool) or not isinstance(self.turn_id, int) or self.turn_id < 1):
            raise PersonaError(f"evidence.turn_id: a quote needs the interview turn it came from, got {self.turn_id!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "text": self.text, "turn_id": self.turn_id}


@dataclass(frozen=True)
class Trait:
    """One trait: its level on the trait's scale, why, and the evidence."""

    name: str
    level: str
    rationale: str = ""
    evidence: tuple[Evidence, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "evidence", tuple(self.evidence))
        if self.name not in TRAIT_LEVELS:
            raise PersonaError(f"traits: unknown trait {self.name!r}; known: {', '.join(TRAIT_LEVELS)}")
        if self.level not in TRAIT_LEVELS[self.name]:
            raise PersonaError(f"traits.{self.name}.level: {self.level!r} is not one of {', '.join(TRAIT_LEVELS[self.name])}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"level": self.level, "rationale": self.rationale, "evidence": [e.to_dict() for e in self.evidence]}

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> Trait:
        """Inverse of `to_dict`."""
        if not isinstance(data, Mapping) or "level" not in data:
            raise PersonaError(f"traits.{name}: must be an object with a level")
        evidence = tuple(Evidence(**dict(e)) for e in data.get("evidence", ()))
        return cls(name, data["level"], str(data.get("rationale", "")), evidence)


@dataclass(frozen=True)
class Persona:
    """Who the person is as a viewer: narrative, traits with evidence, behaviour features; versioned."""

    persona_id: str
    narrative: str
    traits: Mapping[str, Trait]
    features: BehaviourFeatures | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    source: Mapping[str, Any] = field(default_factory=dict)  # interview folder, model, trace ids
    schema_version: int = PERSONA_SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.persona_id, str) or not self.persona_id.strip():
            raise PersonaError("persona_id: must be a non-empty string")
        if not isinstance(self.narrative, str) or not self.narrative.strip():
            raise PersonaError("narrative: must be a non-empty first-person text")
        missing = [name for name in TRAIT_LEVELS if name not in self.traits]
        if missing:
            raise PersonaError(f"traits: missing {', '.join(missing)}; every persona has all of {', '.join(TRAIT_LEVELS)}")
        for name, trait in self.traits.items():
            if not isinstance(trait, Trait) or trait.name != name:
                raise PersonaError(f"traits.{name}: must be a Trait named {name!r}")
        if self.schema_version != PERSONA_SCHEMA_VERSION:
            raise PersonaError(f"schema_version: {self.schema_version} is not {PERSONA_SCHEMA_VERSION}; "
                               "re-synthesise the persona with this toolkit version")

    def level(self, trait: str) -> str:
        """The level of one trait."""
        return self.traits[trait].level

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"schema_version": self.schema_version, "persona_id": self.persona_id, "created_at": self.created_at,
                "narrative": self.narrative, "traits": {n: t.to_dict() for n, t in self.traits.items()},
                "features": self.features.to_dict() if self.features else None, "source": dict(self.source)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Persona:
        """Inverse of `to_dict`; errors name the field."""
        if not isinstance(data, Mapping):
            raise PersonaError("a persona must be a JSON object")
        version = data.get("schema_version")
        if version != PERSONA_SCHEMA_VERSION:
            raise PersonaError(f"schema_version: {version!r} is not {PERSONA_SCHEMA_VERSION}; re-synthesise the persona")
        raw_traits = data.get("traits")
        if not isinstance(raw_traits, Mapping):
            raise PersonaError("traits: must be an object of trait name -> {level, rationale, evidence}")
        try:
            traits = {name: Trait.from_dict(name, value) for name, value in raw_traits.items()}
            features = BehaviourFeatures.from_dict(data["features"]) if data.get("features") else None
            return cls(data["persona_id"], data["narrative"], traits, features, data.get("created_at", ""),
                       dict(data.get("source") or {}), version)
        except KeyError as err:
            raise PersonaError(f"missing field {err.args[0]!r}") from err
        except TypeError as err:
            raise PersonaError(f"malformed field: {err}") from err


def save_persona(persona: Persona, path: str | Path) -> Path:
    """Write the persona JSON atomically, with its Markdown card beside it (same name, .md)."""
    target = Path(path)
    write_json_atomic(target, persona.to_dict())
    card = target.with_suffix(".md")
    tmp = card.with_name(f".{card.name}.tmp")
    tmp.write_text(persona_card(persona), encoding="utf-8")
    tmp.replace(card)
    return target


def load_persona(path: str | Path) -> Persona:
    """Read a persona JSON file, naming the file in any error."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise PersonaError(f"{file}: persona file not found") from err
    except json.JSONDecodeError as err:
        raise PersonaError(f"{file}: not valid JSON ({err})") from err
    except (UnicodeDecodeError, RecursionError) as err:
        raise PersonaError(f"{file}: not a UTF-8 JSON persona file ({err})") from err
    except IsADirectoryError as err:
        raise PersonaError(f"{file}: is a folder; give the persona.json inside it") from err
    try:
        return Persona.from_dict(data)
    except PersonaError as err:
        raise PersonaError(f"{file}: {err}") from err


def persona_card(persona: Persona) -> str:
    """The persona as a Markdown card: narrative, trait table with evidence, behaviour summary."""
    lines = [f"# Persona {persona.persona_id}", "", f"*schema v{persona.schema_version}, created {persona.created_at}*", "",
             "## In their own words", "", persona.narrative.strip(), "", "## Traits", "",
             "| trait | level | why |", "|---|---|---|"]
    for name, trait in persona.traits.items():
        lines.append(f"| {name.replace('_', ' ')} | **{trait.level}** | {_cell(trait.rationale or TRAIT_MEANINGS[name])} |")
    lines += ["", "### Evidence", ""]
    for name, trait in persona.traits.items():
        for item in trait.evidence:
            where = f"turn {item.turn_id}" if item.kind == "quote" else "behaviour"
            lines.append(f"- {name.replace('_', ' ')} ({where}): {item.text}")
    if persona.features is not None:
        lines += ["", "## Behaviour", "", *persona.features.summary().splitlines()]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "/").split())
