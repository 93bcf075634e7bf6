"""The interview outline: sections with goals, question directions and turn budgets, loaded from YAML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from recorder.errors import PersonaActError

OUTLINE_VERSION = 1
DEFAULT_OUTLINE = "interview_outline.yaml"
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_SECTION_KEYS = ("id", "title", "goals", "directions", "turn_budget")


class OutlineError(ValueError, PersonaActError):
    """An outline file is malformed; the message names the file, the section and the field."""


@dataclass(frozen=True)
class Section:
    """One interview topic: what to learn (goals), how to ask (directions), and at most how many questions."""

    id: str
    title: str
    goals: tuple[str, ...]
    directions: tuple[str, ...]
    turn_budget: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "goals", tuple(self.goals))
        object.__setattr__(self, "directions", tuple(self.directions))
        if not isinstance(self.id, str) or not _ID_PATTERN.match(self.id):
            raise OutlineError(f"id: {self.id!r} must be snake_case (lower-case letters, digits, underscores)")
        if not isinstance(self.title, str) or not self.title.strip():
            raise OutlineError(f"section {self.id}: title must be a non-empty string")
        for name in ("goals", "directions"):
            items = getattr(self, name)
            if not items or not all(isinstance(item, str) and item.strip() for item in items):
                raise OutlineError(f"section {self.id}: {name} must be a non-empty list of sentences")
        if isinstance(self.turn_budget, bool) or not isinstance(self.turn_budget, int) or not 1 <= self.turn_budget <= 20:
            raise OutlineError(f"section {self.id}: turn_budget must be an integer in [1, 20], got {self.turn_budget!r}")


@dataclass(frozen=True)
class Outline:
    """An ordered list of sections with unique ids."""

    sections: tuple[Section, ...]
    name: str = "interview"
    version: int = OUTLINE_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "sections", tuple(self.sections))
        if not self.sections:
            raise OutlineError("sections: an outline needs at least one section")
        ids = [section.id for section in self.sections]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise OutlineError(f"sections: duplicate section id(s) {', '.join(duplicates)}")
        if self.version != OUTLINE_VERSION:
            raise OutlineError(f"version: {self.version!r} is not supported (this toolkit reads version {OUTLINE_VERSION})")

    @property
    def total_budget(self) -> int:
        """The most questions the whole interview can ask."""
        return sum(section.turn_budget for section in self.sections)

    def section(self, section_id: str) -> Section:
        """The section with this id."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(f"no section {section_id!r}; known: {', '.join(s.id for s in self.sections)}")

    def limited(self, max_sections: int | None = None, max_budget: int | None = None) -> Outline:
        """A shorter copy (first `max_sections` sections, budgets capped) for demos and quick runs."""
        sections = self.sections[: max_sections or len(self.sections)]
        if max_budget is not None:
            sections = tuple(Section(s.id, s.title, s.goals, s.directions, min(s.turn_budget, max_budget)) for s in sections)
        return Outline(sections, self.name, self.version)

    def to_dict(self) -> dict[str, Any]:
        """YAML/JSON-ready form (the shape the loader reads)."""
        return {"version": self.version, "name": self.name, "sections": [
            {"id": s.id, "title": s.title, "goals": list(s.goals), "directions": list(s.directions),
             "turn_budget": s.turn_budget} for s in self.sections]}


def default_outline_path() -> Path:
    """The outline shipped with the package (copy it to customise the interview)."""
    return Path(str(resources.files("personas.data").joinpath(DEFAULT_OUTLINE)))


def load_outline(path: str | Path | None = None) -> Outline:
    """Read and validate an outline YAML file (the shipped default when `path` is None)."""
    file = Path(path) if path is not None else default_outline_path()
    if not file.is_file():
        raise OutlineError(f"{file}: outline file not found (the default lives at {default_outline_path()})")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise OutlineError(f"{file}: not valid YAML: {err}") from err
    except (UnicodeDecodeError, RecursionError) as err:
        raise OutlineError(f"{file}: not readable as UTF-8 YAML ({err}); save it as UTF-8") from err
    try:
        return outline_from_dict(data)
    except OutlineError as err:
        raise OutlineError(f"{file}: {err}") from err


def outline_from_dict(data: Any) -> Outline:
    """Build an Outline from parsed YAML, naming the section and field of any problem."""
    if not isinstance(data, Mapping):
        raise OutlineError("the top level must be a mapping with 'sections'")
    unknown = sorted(set(data) - {"version", "name", "sections"})
    if unknown:
        raise OutlineError(f"unknown top-level key {unknown[0]!r}; known: name, sections, version")
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list):
        raise OutlineError("sections: must be a list of sections")
    sections = tuple(_section_from_dict(item, position) for position, item in enumerate(raw_sections))
    return Outline(sections, name=str(data.get("name", "interview")), version=data.get("version", OUTLINE_VERSION))


def _section_from_dict(item: Any, position: int) -> Section:
    where = f"sections[{position}]"
    if not isinstance(item, Mapping):
        raise OutlineError(f"{where}: must be a mapping with {', '.join(_SECTION_KEYS)}")
    missing = [key for key in _SECTION_KEYS if key not in item]
    unknown = sorted(set(item) - set(_SECTION_KEYS))
    if missing or unknown:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown key {unknown[0]!r}"
        raise OutlineError(f"{where} ({item.get('id', '?')}): {problem}; a section has {', '.join(_SECTION_KEYS)}")
    for name in ("goals", "directions"):
        if not isinstance(item[name], list):
            raise OutlineError(f"{where} ({item['id']}): {name} must be a list of sentences")
    try:
        return Section(item["id"], item["title"], tuple(item["goals"]), tuple(item["directions"]), item["turn_budget"])
    except OutlineError as err:
        raise OutlineError(f"{where}: {err}") from err
