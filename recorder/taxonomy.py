"""The shipped two-level category taxonomy: load, validate, look up by path or alias, match text to a category."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from recorder.errors import PersonaActError

DEFAULT_TAXONOMY = "taxonomy.yaml"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class TaxonomyError(ValueError, PersonaActError):
    """The taxonomy file is malformed; the message names the file, the entry and what to fix."""


def normalise(text: str) -> str:
    """Case-fold, NFKC-normalise and squeeze spaces, so 'Knowledge ' and 'knowledge' match.

    >>> normalise("  Street\\u3000Dance ")
    'street dance'
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True)
class Subcategory:
    """A second-level category with its aliases."""

    name: str
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "aliases", tuple(self.aliases))
        if not isinstance(self.name, str) or not self.name.strip():
            raise TaxonomyError(f"subcategory name must be a non-empty string, got {self.name!r}")


@dataclass(frozen=True)
class TopCategory:
    """A top-level category: aliases, a display colour (hex RGB) and its subcategories."""

    name: str
    colour: str
    subcategories: tuple[Subcategory, ...]
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "aliases", tuple(self.aliases))
        object.__setattr__(self, "subcategories", tuple(self.subcategories))
        if not isinstance(self.name, str) or not self.name.strip():
            raise TaxonomyError(f"category name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.colour, str) or not _HEX.match(self.colour):
            raise TaxonomyError(f"category {self.name!r}: colour must look like '#1a2b3c', got {self.colour!r}")
        if not self.subcategories:
            raise TaxonomyError(f"category {self.name!r}: needs at least one subcategory")

    @property
    def bgr(self) -> tuple[int, int, int]:
        """The colour as an OpenCV BGR triple."""
        r, g, b = (int(self.colour[i:i + 2], 16) for i in (1, 3, 5))
        return (b, g, r)

    def subcategory(self, name: str) -> Subcategory:
        """The subcategory called `name` (case-insensitive); KeyError if there is none."""
        key = normalise(name)
        for sub in self.subcategories:
            if normalise(sub.name) == key:
                return sub
        raise KeyError(f"{self.name} has no subcategory {name!r}; known: {', '.join(s.name for s in self.subcategories)}")


class Taxonomy:
    """The category tree with fast lookup by name path and by alias (English or Chinese)."""

    def __init__(self, categories: Iterable[TopCategory], source: str = "taxonomy"):
        self.categories: tuple[TopCategory, ...] = tuple(categories)
        self.source = source
        self._alias: dict[str, tuple[str, ...]] = {}
        self._check_and_index()

    def _check_and_index(self) -> None:
        if not self.categories:
            raise TaxonomyError(f"{self.source}: no categories")
        seen_top: set[str] = set()
        for top in self.categories:
            if normalise(top.name) in seen_top:
                raise TaxonomyError(f"{self.source}: top-level category {top.name!r} appears twice")
            seen_top.add(normalise(top.name))
            self._add_names((top.name,), (top.name, *top.aliases))
            subs: set[str] = set()
            for sub in top.subcategories:
                if normalise(sub.name) in subs:
                    raise TaxonomyError(f"{self.source}: {top.name} lists subcategory {sub.name!r} twice")
                subs.add(normalise(sub.name))
                self._add_names((top.name, sub.name), (sub.name, *sub.aliases))

    def _add_names(self, path: tuple[str, ...], names: Iterable[str]) -> None:
        for name in names:
            key = normalise(name)
            if not key:
                raise TaxonomyError(f"{self.source}: empty alias under {'/'.join(path)}")
            other = self._alias.get(key)
            if other is not None and other != path:
                raise TaxonomyError(f"{self.source}: alias {name!r} of {'/'.join(path)} is already used by "
                                    f"{'/'.join(other)}; aliases must be unique")
            self._alias[key] = path

    @property
    def top_level(self) -> tuple[str, ...]:
        """Names of the top-level categories, in file order."""
        return tuple(top.name for top in self.categories)

    def paths(self) -> tuple[tuple[str, str], ...]:
        """Every (top, sub) path, in file order."""
        return tuple((top.name, sub.name) for top in self.categories for sub in top.subcategories)

    def top(self, name: str) -> TopCategory:
        """The top-level category called `name` or one of its aliases."""
        path = self._alias.get(normalise(name))
        if path is None:
            raise KeyError(f"unknown category {name!r}; known top-level: {', '.join(self.top_level)}")
        return self.categories[self.top_index(path[0])]

    def top_index(self, name: str) -> int:
        """Position of a top-level category (by name or alias) in `top_level`."""
        canonical = self.resolve(name)[0]
        return next(i for i, top in enumerate(self.categories) if top.name == canonical)

    def resolve(self, path: str | Iterable[str]) -> tuple[str, ...]:
        """Canonical path for 'Top/Sub', ('Top', 'Sub'), a top name or any alias; KeyError if unknown."""
        parts = [p for p in (path.split("/") if isinstance(path, str) else path) if str(p).strip()]
        if not parts or len(parts) > 2:
            raise KeyError(f"category path {path!r} must have one or two parts, e.g. 'Knowledge/Science'")
        found = self._alias.get(normalise(parts[0]))
        if found is None:
            raise KeyError(f"unknown category {parts[0]!r}; known top-level: {', '.join(self.top_level)}")
        if len(parts) == 1:
            return found
        sub = self.categories[self.top_index(found[0])].subcategory(parts[1]) if len(found) == 1 else None
        if sub is None:
            raise KeyError(f"{parts[0]!r} is a subcategory; a path is 'Top/Sub'")
        return (found[0], sub.name)

    def lookup(self, alias: str) -> tuple[str, ...] | None:
        """The path an alias or name stands for, or None."""
        return self._alias.get(normalise(alias))

    def colour(self, path: str | Iterable[str]) -> tuple[int, int, int]:
        """BGR display colour of the path's top-level category."""
        return self.top(self.resolve(path)[0]).bgr

    def match(self, text: str = "", hashtags: Iterable[str] = ()) -> KeywordMatch | None:
        """The category whose names/aliases occur most in `text` and `hashtags` (None when nothing hits)."""
        return keyword_match(self, text, hashtags)

    def __len__(self) -> int:
        return len(self.categories)


@dataclass(frozen=True)
class KeywordMatch:
    """A keyword categorisation: the path, the hits that supported it, and a confidence in [0, 1]."""

    path: tuple[str, ...]
    hits: tuple[str, ...]
    confidence: float


def _occurs(alias: str, text: str) -> bool:
    if alias.isascii():  # ASCII aliases must match whole words ('art' must not hit 'start')
        return re.search(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])", text) is not None
    return alias in text


def keyword_match(taxonomy: Taxonomy, text: str = "", hashtags: Iterable[str] = ()) -> KeywordMatch | None:
    """Score each path by alias hits (hashtag exact hits count double); deepest best path wins."""
    body = normalise(text or "")
    tags = {normalise(t.lstrip("#")) for t in hashtags if t and t.strip("# ")}
    scores: dict[tuple[str, ...], float] = {}
    hits: dict[tuple[str, ...], list[str]] = {}
    for alias, path in taxonomy._alias.items():
        weight = 2.0 if alias in tags else 1.0 if (_occurs(alias, body) or any(_occurs(alias, t) for t in tags)) else 0.0
        if weight:
            for key in {path, path[:1]}:  # a subcategory hit also supports its parent
                scores[key] = scores.get(key, 0.0) + weight
                hits.setdefault(key, []).append(alias)
    if not scores:
        return None
    top = max((p for p in scores if len(p) == 1), key=lambda p: (scores[p], p[0]))
    subs = [p for p in scores if len(p) == 2 and p[0] == top[0]]
    best = max(subs, key=lambda p: (scores[p], p[1])) if subs else top
    confidence = scores[top] / sum(v for p, v in scores.items() if len(p) == 1)
    return KeywordMatch(best, tuple(sorted(set(hits[best]))), round(min(1.0, confidence), 4))


def taxonomy_from_mapping(data: Mapping[str, Any], source: str = "taxonomy") -> Taxonomy:
    """Build a Taxonomy from the parsed YAML structure; errors name the entry."""
    if not isinstance(data, Mapping) or not isinstance(data.get("categories"), list):
        raise TaxonomyError(f"{source}: top level must be a mapping with a 'categories' list")
    tops = []
    for i, entry in enumerate(data["categories"]):
        where = f"{source}: categories[{i}]"
        if not isinstance(entry, Mapping):
            raise TaxonomyError(f"{where}: must be a mapping with name, colour, subcategories")
        unknown = set(entry) - {"name", "aliases", "colour", "subcategories"}
        if unknown:
            raise TaxonomyError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        try:
            subs = [Subcategory(s["name"], tuple(s.get("aliases") or ())) for s in entry.get("subcategories") or []]
            name: Any = entry.get("name")  # checked by TopCategory itself, which names the problem
            colour: Any = entry.get("colour")
            tops.append(TopCategory(name, colour, tuple(subs), tuple(entry.get("aliases") or ())))
        except (TypeError, KeyError) as err:
            raise TaxonomyError(f"{where}: each subcategory needs a name ({err})") from err
        except TaxonomyError as err:
            raise TaxonomyError(f"{where}: {err}") from err
    return Taxonomy(tops, source)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load a taxonomy YAML file; the shipped one when `path` is None (cached)."""
    if path is None:
        return _shipped()
    file = Path(path)
    if not file.is_file():
        raise TaxonomyError(f"{file}: taxonomy file not found")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise TaxonomyError(f"{file}: not UTF-8 text ({err}); save it as UTF-8") from err
    return _parse(text, str(file))


@lru_cache(maxsize=1)
def _shipped() -> Taxonomy:
    resource = resources.files("recorder").joinpath("data", DEFAULT_TAXONOMY)
    return _parse(resource.read_text(encoding="utf-8"), f"recorder/data/{DEFAULT_TAXONOMY}")


def _parse(text: str, source: str) -> Taxonomy:
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as err:
        raise TaxonomyError(f"{source}: not valid YAML: {err}") from err
    return taxonomy_from_mapping(data, source)
