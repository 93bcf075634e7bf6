"""Items and the catalogue: what creators draft, what the platform stores (column arrays for vectorised steps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from recorder.errors import PersonaActError
from recorder.taxonomy import Taxonomy, load_taxonomy


class DraftError(ValueError, PersonaActError):
    """A creator's draft is unusable; the message names the field."""


@dataclass(frozen=True)
class ItemDraft:
    """What a creator decides to make: category path, title, tags, description, and whether it explores."""

    category: tuple[str, ...]
    title: str
    tags: tuple[str, ...] = ()
    description: str = ""
    explore: bool | None = None  # True = trying a new genre, False = exploiting a known one, None = unsaid

    def __post_init__(self) -> None:
        object.__setattr__(self, "category", tuple(self.category))
        object.__setattr__(self, "tags", tuple(str(t) for t in self.tags))
        if not 1 <= len(self.category) <= 2 or not all(isinstance(p, str) and p.strip() for p in self.category):
            raise DraftError(f"category must be ('Top',) or ('Top', 'Sub'), got {self.category!r}")
        if not isinstance(self.title, str) or not self.title.strip():
            raise DraftError("title must be a non-empty string")


@dataclass(frozen=True)
class Item:
    """One published video in the sandbox."""

    item_id: int
    creator: int
    category: tuple[str, str]
    title: str
    tags: tuple[str, ...]
    description: str
    duration_s: float
    quality: float
    created_step: int


class Catalogue:
    """All items: numeric columns as growing numpy arrays (for vectorised scoring), text in lists."""

    def __init__(self, taxonomy: Taxonomy | None = None, capacity: int = 1024):
        self.taxonomy = taxonomy or load_taxonomy()
        self.size = 0
        self.creator = np.zeros(capacity, np.int32)
        self.genre = np.zeros(capacity, np.int16)  # index into taxonomy.top_level
        self.sub = np.zeros(capacity, np.int16)  # index into the genre's subcategories
        self.duration = np.zeros(capacity, np.float32)
        self.quality = np.zeros(capacity, np.float32)
        self.created = np.zeros(capacity, np.int32)
        self.clicks = np.zeros(capacity, np.int64)
        self.impressions = np.zeros(capacity, np.int64)
        subs = [len(c.subcategories) for c in self.taxonomy.categories]
        self.genre_offset = np.r_[0, np.cumsum(subs)[:-1]].astype(np.int64)  # first full-path index of each genre
        self.n_paths = int(sum(subs))
        self.titles: list[str] = []
        self.tags: list[tuple[str, ...]] = []
        self.descriptions: list[str] = []
        # category path -> (genre, sub): creators publish hundreds of items a step from a few dozen paths
        self._resolved: dict[tuple[str, ...], tuple[int, int]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("taxonomy")  # the shipped taxonomy is reloaded, not stored
        state.pop("_resolved", None)  # a cache of it
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.taxonomy = load_taxonomy()
        self._resolved = {}

    @property
    def n_genres(self) -> int:
        """Number of top-level categories (the sandbox's genres)."""
        return len(self.taxonomy)

    def paths(self, items: np.ndarray) -> np.ndarray:
        """Full taxonomy path index (0 .. n_paths - 1, genre-major) of each item."""
        items = np.asarray(items, np.int64)
        return self.genre_offset[self.genre[items]] + self.sub[items]

    def resolve(self, draft: ItemDraft) -> tuple[int, int]:
        """Genre and subcategory indices of a draft; unknown subcategories fall back to the first."""
        known = self._resolved.get(draft.category)
        if known is not None:
            return known
        try:
            path = self.taxonomy.resolve(draft.category)
        except KeyError as err:
            raise DraftError(f"category {draft.category!r}: {err}") from err
        genre = self.taxonomy.top_index(path[0])
        subs = self.taxonomy.categories[genre].subcategories
        sub = next((i for i, s in enumerate(subs) if len(path) == 2 and s.name == path[1]), 0)
        self._resolved[draft.category] = (genre, sub)
        return genre, sub

    def add(self, draft: ItemDraft, creator: int, quality: float, duration_s: float, step: int) -> int:
        """Publish a draft; returns the new item id."""
        genre, sub = self.resolve(draft)
        self._grow(self.size + 1)
        i = self.size
        self.creator[i], self.genre[i], self.sub[i] = creator, genre, sub
        self.duration[i], self.quality[i], self.created[i] = duration_s, quality, step
        self.titles.append(draft.title)
        self.tags.append(draft.tags)
        self.descriptions.append(draft.description)
        self.size += 1
        return i

    def _grow(self, needed: int) -> None:
        if needed <= len(self.creator):
            return
        capacity = max(needed, 2 * len(self.creator))
        for name in ("creator", "genre", "sub", "duration", "quality", "created", "clicks", "impressions"):
            old = getattr(self, name)
            new = np.zeros(capacity, old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def item(self, item_id: int) -> Item:
        """The full record of one item."""
        if not 0 <= item_id < self.size:
            raise KeyError(f"no item {item_id} (catalogue holds {self.size})")
        top = self.taxonomy.categories[int(self.genre[item_id])]
        return Item(item_id, int(self.creator[item_id]), (top.name, top.subcategories[int(self.sub[item_id])].name),
                    self.titles[item_id], self.tags[item_id], self.descriptions[item_id],
                    float(self.duration[item_id]), float(self.quality[item_id]), int(self.created[item_id]))

    def recent(self, step: int, window: int) -> np.ndarray:
        """Ids of items created in the last `window` steps (the candidate pool: short video is fresh)."""
        created = self.created[: self.size]
        return np.flatnonzero(created > step - window - 1).astype(np.int64)

    def columns(self) -> dict[str, Any]:
        """All items as plain columns (for Parquet and DataFrames)."""
        n = self.size
        return {"item_id": np.arange(n), "creator": self.creator[:n], "genre": self.genre[:n], "sub": self.sub[:n],
                "duration_s": self.duration[:n], "quality": self.quality[:n], "created_step": self.created[:n],
                "title": self.titles, "tags": [list(t) for t in self.tags], "description": self.descriptions}
