"""Category resolution: free-text genre names onto the taxonomy, and the keyword categoriser (labels, hashtags, aliases)."""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

from recorder.taxonomy import Taxonomy, load_taxonomy, normalise
from recorder.trace import Category, VideoMeta


class GenreResolver:
    """Maps what a person or model wrote as a genre onto a taxonomy path: exact, alias, then close spelling."""

    def __init__(self, taxonomy: Taxonomy, cutoff: float = 0.8) -> None:
        self.taxonomy = taxonomy
        self.cutoff = cutoff
        names: dict[str, tuple[str, ...]] = {}
        for top in taxonomy.categories:
            for alias in (top.name, *top.aliases):
                names[normalise(alias)] = (top.name,)
            for sub in top.subcategories:
                for alias in (sub.name, *sub.aliases):
                    names[normalise(alias)] = (top.name, sub.name)
                names[normalise(f"{top.name}/{sub.name}")] = (top.name, sub.name)
        self._names = names

    def resolve(self, text: object) -> tuple[str, ...]:
        """Canonical ('Top',) or ('Top', 'Sub'); ValueError naming the valid genres when nothing is close.

        >>> r = GenreResolver(load_taxonomy())
        >>> r.resolve("Knowledge/Science"), r.resolve("搞笑"), r.resolve("Knowlege / Sciense"), r.resolve("Music/Kazoo")
        (('Knowledge', 'Science'), ('Entertainment', 'Comedy'), ('Knowledge', 'Science'), ('Music',))
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"genre must be a non-empty string like 'Knowledge/Science', got {text!r}")
        try:
            return self.taxonomy.resolve(text)
        except KeyError:
            pass
        key = normalise(text).replace(" / ", "/").replace("> ", "/").replace(" >", "/").strip("/ ")
        if key in self._names:
            return self._names[key]
        close = difflib.get_close_matches(key, list(self._names), n=1, cutoff=self.cutoff)
        if close:
            return self._names[close[0]]
        top = self._names.get(key.split("/", 1)[0].strip())
        if top is not None and "/" in key:
            return top[:1]  # a known top-level genre with an invented subcategory: keep the top level
        raise ValueError(f"genre {text!r} is not in the taxonomy; use one of: {', '.join(self.taxonomy.top_level)} "
                         "(optionally 'Top/Subcategory')")

    def try_resolve(self, text: object) -> tuple[str, ...] | None:
        """Like `resolve`, but None instead of an error."""
        try:
            return self.resolve(text)
        except ValueError:
            return None


@dataclass(frozen=True)
class KeywordCategoriser:
    """Video -> category without a model: the platform's own label, else hashtags and aliases in caption/transcript."""

    taxonomy: Taxonomy
    name: str = "keyword"

    @classmethod
    def shipped(cls) -> KeywordCategoriser:
        """The keyword categoriser over the shipped taxonomy."""
        return cls(load_taxonomy())

    def platform_label(self, labels: Iterable[str]) -> Category | None:
        """A category from labels the platform itself shows (zone names, channel tags), when one resolves."""
        resolver = _resolver(self.taxonomy)
        for label in labels:
            path = resolver.try_resolve(label) if isinstance(label, str) and label.strip() else None
            if path is not None:
                return Category(path, "platform", 1.0)
        return None

    def categorise(self, meta: VideoMeta, transcript: str | None = None) -> Category | None:
        """The best keyword match over caption, author and transcript (hashtags weigh double); None when nothing hits."""
        text = " ".join(t for t in (meta.caption, transcript) if t)
        match = self.taxonomy.match(text, meta.hashtags)
        if match is None:
            return None
        return Category(match.path, "keyword", match.confidence)


_RESOLVERS: weakref.WeakKeyDictionary[Taxonomy, GenreResolver] = weakref.WeakKeyDictionary()


def _resolver(taxonomy: Taxonomy) -> GenreResolver:
    # building the alias table costs ~1 ms; categorising thousands of steps should not repeat it
    if taxonomy not in _RESOLVERS:
        _RESOLVERS[taxonomy] = GenreResolver(taxonomy)
    return _RESOLVERS[taxonomy]
