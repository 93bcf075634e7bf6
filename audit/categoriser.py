"""Video -> taxonomy category for audits: platform labels, else a chat model (JSON-validated), else keywords; cached.

`trace_categorise` fills missing categories of existing traces (human phone recordings have none), and
`measure_accuracy` scores any categoriser against sandbox items whose true categories are known.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from recorder.categorise import GenreResolver, KeywordCategoriser
from recorder.errors import PersonaActError
from recorder.feed import Observation
from recorder.files import JSONTextError, loads_strict, write_json_atomic
from recorder.store import STEPS_FILE, TraceReader
from recorder.taxonomy import Taxonomy, load_taxonomy
from recorder.trace import Category, Step, VideoMeta

log = logging.getLogger(__name__)
PROMPT_VERSION = 1


class CategoriserError(ValueError, PersonaActError):
    """The categoriser cannot be built or run as asked."""


def prompt(meta: VideoMeta, transcript: str | None, taxonomy: Taxonomy) -> str:
    """The user message asking for one category (metadata and transcript, trimmed)."""
    options = "; ".join(f"{t.name} ({', '.join(s.name for s in t.subcategories)})" for t in taxonomy.categories)
    lines = [f"Categories: {options}.",
             f"Author: {meta.author or '?'}", f"Caption: {(meta.caption or '')[:300]}",
             f"Hashtags: {' '.join('#' + t for t in meta.hashtags) or '-'}",
             f"Transcript: {(transcript or '-')[:500]}",
             'Reply with one JSON object: {"category": "Top/Sub"} using the names above.']
    return "\n".join(lines)


@dataclass
class Categoriser:
    """Platform label first, then the chat model (when given), then keywords; one answer per video id, cached."""

    taxonomy: Taxonomy = field(default_factory=load_taxonomy)
    chat: Any = None  # a personas.models ChatModel, or None for keywords only
    cache_path: Path | None = None
    max_retries: int = 1
    cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: int = 0  # chat replies that never validated (keywords answered instead)

    def __post_init__(self) -> None:
        self.keywords = KeywordCategoriser(self.taxonomy)
        self.resolver = GenreResolver(self.taxonomy)
        if self.cache_path is not None and self.cache_path.is_file():
            try:
                cached = loads_strict(self.cache_path.read_bytes())
            except (JSONTextError, OSError) as err:  # only a cache: start afresh rather than stop the audit
                log.warning("%s: unreadable categoriser cache (%s); starting a new one", self.cache_path, err)
                cached = {}
            self.cache = cached if isinstance(cached, dict) else {}

    @property
    def name(self) -> str:
        """What the manifest calls this categoriser."""
        return f"chat:{getattr(self.chat, 'name', 'model')}+keyword" if self.chat is not None else "keyword"

    def __call__(self, obs: Observation) -> Category | None:
        """The runner's hook: categorise an observation the feed left uncategorised."""
        if obs.category is not None:
            return obs.category
        return self.categorise(obs.meta, obs.transcript)

    def categorise(self, meta: VideoMeta, transcript: str | None = None, labels: Iterable[str] = ()) -> Category | None:
        """The category of one video (None when nothing recognisable is said about it)."""
        label = self.keywords.platform_label(labels)
        if label is not None:
            return label
        key = meta.video_id
        if key and key in self.cache:
            return Category.from_dict(self.cache[key]) if self.cache[key] else None
        found = self._model(meta, transcript) if self.chat is not None else None
        found = found or self.keywords.categorise(meta, transcript)
        if key:
            self.cache[key] = found.to_dict() if found else {}
        return found

    def _model(self, meta: VideoMeta, transcript: str | None) -> Category | None:
        from personas.models.base import GenerationOptions, system, user
        from personas.models.json_mode import JSONModeError, chat_json

        def check(obj: dict[str, Any]) -> None:
            self.resolver.resolve(obj["category"])  # ValueError names the valid genres for the retry prompt

        messages = [system("You label short videos with one category from a fixed list. Answer with JSON only."),
                    user(prompt(meta, transcript, self.taxonomy))]
        try:
            obj = chat_json(self.chat, messages, GenerationOptions(temperature=0.0, max_tokens=40), check,
                            self.max_retries)
        except JSONModeError as err:
            self.failures += 1
            log.info("categoriser: the model gave no valid category (%s); using keywords", err)
            return None
        return Category(self.resolver.resolve(obj["category"]), "model", None)

    def save(self) -> None:
        """Write the per-video cache (so a rerun asks the model nothing twice)."""
        if self.cache_path is not None:
            write_json_atomic(self.cache_path, self.cache)


def trace_categorise(folders: Sequence[Path], categoriser: Categoriser, overwrite: bool = False,
                     progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Fill missing categories of trace folders in place (atomic rewrite of steps.jsonl); counts by outcome."""
    counts: Counter[str] = Counter()
    for folder in folders:
        reader = TraceReader(folder)
        steps = list(reader.steps(strict=True))
        out: list[Step] = []
        for step in steps:
            if step.category is not None and not (overwrite and step.category.source in ("model", "keyword")):
                counts["kept"] += 1
                out.append(step)
                continue
            found = categoriser.categorise(step.meta, step.transcript)
            counts["filled" if found else "unknown"] += 1
            out.append(replace(step, category=found) if found else step)
        body = "".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in out)
        from recorder.files import atomic_write_bytes

        atomic_write_bytes(folder / STEPS_FILE, body.encode("utf-8"))
        if progress:
            progress(1)
    categoriser.save()
    return dict(counts)


@dataclass(frozen=True)
class Labelled:
    """A video with its true category (from the sandbox catalogue)."""

    meta: VideoMeta
    transcript: str
    truth: tuple[str, ...]


def sandbox_sample(n: int = 200, seed: int = 0, with_tags: bool = True) -> list[Labelled]:
    """Items of a seeded sandbox world with their true categories (optionally without hashtags: a harder test)."""
    from audit.feeds import SandboxWorld
    from sandbox.feed import transcript as spoken

    creators = max(20, n // 10)
    platform = SandboxWorld(seed=seed, users=50, creators=creators, warmup_steps=n // creators + 3).build(0)
    cat = platform.catalogue
    created = cat.created[:cat.size]
    # items published during the run, not the placeholder "intro" items creators start with (they say nothing)
    ids = [int(i) for i in np.flatnonzero(created >= max(1, int(created.min()) + 1))][:n]
    out = []
    for item_id in ids:
        item = cat.item(item_id)
        tags = item.tags if with_tags else ()
        meta = VideoMeta(video_id=f"sbx-{item_id}", author=f"creator{item.creator:04d}",
                         caption=" ".join([item.title, *(f"#{t}" for t in tags)]), hashtags=tags)
        out.append(Labelled(meta, spoken(item.title, item.description, tags), tuple(item.category)))
    return out


def measure_accuracy(categorise: Callable[[VideoMeta, str], Category | None], sample: Sequence[Labelled]
                     ) -> dict[str, Any]:
    """Top-level and full-path accuracy with a Wilson 95% CI, coverage, and the commonest confusions."""
    top_hits = full_hits = answered = 0
    confusions: Counter[str] = Counter()
    for item in sample:
        found = categorise(item.meta, item.transcript)
        if found is None:
            confusions[f"{item.truth[0]} -> (none)"] += 1
            continue
        answered += 1
        top_hits += found.top == item.truth[0]
        full_hits += tuple(found.path) == item.truth
        if found.top != item.truth[0]:
            confusions[f"{item.truth[0]} -> {found.top}"] += 1
    n = len(sample)
    return {"n": n, "coverage": answered / n if n else 0.0,
            "accuracy_top": _wilson(top_hits, n), "accuracy_full": _wilson(full_hits, n),
            "confusions": [{"pair": k, "count": v} for k, v in confusions.most_common(10)]}


def _wilson(hits: int, n: int) -> dict[str, Any]:
    """Share with its Wilson 95% interval (as an ESTIMATE)."""
    if n == 0:
        return {"mean": 0.0, "ci": [0.0, 0.0], "n": 0}
    z, p = 1.959964, hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return {"mean": p, "ci": [max(0.0, centre - half), min(1.0, centre + half)], "n": n}


def accuracy_summary(results: Mapping[str, Any]) -> tuple[float | None, int]:
    """(top-level accuracy, n) of a categoriser.json entry, for the manifest."""
    acc = results.get("accuracy_top") or {}
    return acc.get("mean"), int(acc.get("n", 0))


def chat_for(spec: str) -> Any:
    """The chat backend a `--model` option names: none | embedded | http:<model>@<base_url>."""
    from personas.models.factory import ChatModelConfig, build_chat_model

    spec = (spec or "none").strip()
    if spec == "none":
        return None
    if spec == "embedded":
        return build_chat_model(ChatModelConfig())
    if spec.startswith("http:"):
        model, sep, url = spec[len("http:"):].partition("@")
        if sep and model and url:
            return build_chat_model(ChatModelConfig(backend="http", model=model, base_url=url))
    raise CategoriserError(f"--model {spec!r}: use none, embedded or http:<model>@<base_url>")


def quick_accuracy(categoriser: Categoriser, n: int = 200) -> dict[str, Any]:
    """The categoriser's accuracy on n sandbox items (keywords: a second; a chat model: one call per item)."""
    sample = sandbox_sample(n, seed=99)
    fresh = Categoriser(categoriser.taxonomy, categoriser.chat)  # no cache: measure, do not remember
    return measure_accuracy(fresh.categorise, sample)
