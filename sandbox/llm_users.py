"""LLM users: a prompted chat model with a profile and short memory decides watch seconds, like and exit.

A subset of the statistical population is handed to the model; every other user, and every LLM decision that
cannot be parsed or validated, keeps the statistical decision, so a bad reply never stops a run. Decisions are
taken position by position through the slate, batched across all LLM users still watching (one `chat_batch`
call per slate position per step).
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from personas.interview.small_model import task_options
from personas.models.base import ChatModel, GenerationOptions, Message, assistant, system, user
from personas.models.json_mode import JSONExtractError, extract_json_object
from personas.policy import Decision
from sandbox.catalogue import Catalogue
from sandbox.llm_style import check_style, first_number, style_for
from sandbox.users import Responses, StatisticalUsers

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LLMUserConfig:
    """How LLM users are prompted and how their replies become responses."""

    memory: int = 5  # recent videos each LLM user remembers (shown in its prompt)
    engaged_after_s: float = 5.0  # watching at least this long (or liking) counts as a click
    max_tokens: int = 48
    temperature: float = 0.0  # greedy, so runs repeat on backends that honour it
    seed: int = 0
    batch: bool = True  # False: one chat call per user (for throughput comparisons)
    style: str = "auto"  # json (larger models) | compact (one short line, small models) | auto (by the model)
    compact_max_tokens: int = 12  # compact style: token cap of the one-line answer

    def __post_init__(self) -> None:
        check_style(self.style, "llm users")
        if self.compact_max_tokens < 4:
            raise ValueError(f"llm users: compact_max_tokens must be >= 4, got {self.compact_max_tokens}")
        if self.memory < 0 or self.engaged_after_s < 0:
            raise ValueError("llm users: memory and engaged_after_s must be >= 0")
        if self.max_tokens < 8:
            raise ValueError(f"llm users: max_tokens must be >= 8, got {self.max_tokens}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"llm users: temperature must lie in [0, 2], got {self.temperature}")


USER_COMPACT_SYSTEM = ("You scroll a short-video app. For each video say how many seconds you watch it and whether "
                       "you like it. Watch long and like videos you love; skip others after a few seconds.")
USER_COMPACT_ASK = "Answer as: WATCH <seconds> LIKE <yes/no> EXIT <yes/no>"
USER_COMPACT_EXAMPLE = ("You love: Food, Animals. You get bored easily.\nRecent: 'Cat jumps' (Animals): 14s, liked it\n"
                        f"Now: 'Stock tips' (Finance, 30 s)\n{USER_COMPACT_ASK}", "WATCH 2 LIKE no EXIT no")


@dataclass(frozen=True)
class Reaction:
    """One LLM user's reaction to one video: the viewer's Decision (the project's one decision type) and whether
    the user closes the app after it."""

    decision: Decision
    exit: bool = False

    @classmethod
    def of(cls, watch_s: float, like: bool, exit: bool) -> Reaction:
        """A reaction from its three parsed parts."""
        return cls(Decision(watch_s, like=like), exit)


def parse_decision(reply: str, duration_s: float) -> Reaction:
    """Read {"watch_s": number, "like": bool, "exit": bool} from a reply (tolerant JSON; watch clipped to 2x length).

    >>> r = parse_decision('ok {"watch_s": 12, "like": true, "exit": false}', 10.0)
    >>> r.decision.watch_s, r.decision.like, r.exit
    (12.0, True, False)
    >>> parse_decision('{"watch_s": "a lot"}', 10.0)
    Traceback (most recent call last):
    ...
    ValueError: watch_s must be a number of seconds, got 'a lot'
    """
    obj = extract_json_object(reply)
    watch = obj.get("watch_s", obj.get("watch"))
    if isinstance(watch, bool) or not isinstance(watch, (int, float)) or not np.isfinite(watch):
        raise ValueError(f"watch_s must be a number of seconds, got {watch!r}")
    return Reaction.of(float(np.clip(watch, 0.0, 2.0 * duration_s)), _flag(obj, "like"), _flag(obj, "exit"))


_TOKEN = re.compile(r"[a-z']+", re.I)
_YES_WORDS = frozenset({"yes", "true", "y"})
_NO_WORDS = frozenset({"no", "not", "don't", "dont", "false", "n", "never"})
_KEYWORDS = frozenset({"watch", "like", "exit", "seconds", "s"})


def parse_compact_decision(reply: str, duration_s: float) -> Reaction:
    """Read a 'WATCH 12 LIKE yes EXIT no' line leniently: first number = seconds (capped at 2x length).

    >>> def show(r): return r.decision.watch_s, r.decision.like, r.exit
    >>> show(parse_compact_decision("WATCH 12 LIKE yes EXIT no", 10.0))
    (12.0, True, False)
    >>> show(parse_compact_decision("I'd watch 40 seconds and like it", 10.0))
    (20.0, True, False)
    >>> show(parse_compact_decision("3s, no like, exit yes", 10.0))
    (3.0, False, True)
    """
    text = " ".join(reply.split())
    seconds = first_number(text)
    if seconds is None:
        raise ValueError(f"no number of seconds in the reply {reply[:60]!r}")
    return Reaction.of(float(np.clip(seconds, 0.0, 2.0 * duration_s)), _said(text, "like"), _said(text, "exit"))


def _said(text: str, word: str) -> bool:
    """Whether the reply affirms `word`: 'LIKE yes', 'like: true', 'I like it' (not 'LIKE no', 'no like', 'LIKE EXIT')."""
    tokens = [t.lower() for t in _TOKEN.findall(text)]
    at = next((k for k, t in enumerate(tokens) if t.startswith(word)), None)
    if at is None:
        return False
    after = tokens[at + 1] if at + 1 < len(tokens) else ""
    if after in _YES_WORDS or after in _NO_WORDS:
        return after in _YES_WORDS
    if at and tokens[at - 1] in _NO_WORDS:
        return False
    return after not in _KEYWORDS  # 'like it' affirms; 'LIKE EXIT no' left the value out


def _flag(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key, False)
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "false", "no"):
        return value.strip().lower() in ("true", "yes")
    if not isinstance(value, (bool, int)):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return bool(value)


class LLMUsers:
    """The statistical population with `llm_ids` answered by a chat model; same interface as StatisticalUsers."""

    kind = "llm"

    def __init__(self, base: StatisticalUsers, llm_ids: np.ndarray, model: ChatModel | None,
                 genres: Sequence[str], config: LLMUserConfig | None = None):
        self.base, self.llm_config, self.genres = base, config or LLMUserConfig(), tuple(genres)
        self.llm_ids = np.unique(np.asarray(llm_ids, np.int64))
        if len(self.llm_ids) and (self.llm_ids[0] < 0 or self.llm_ids[-1] >= base.n):
            raise ValueError(f"llm user ids must lie in [0, {base.n}), got {self.llm_ids.tolist()[:5]}...")
        self.model = model
        self.memories: dict[int, deque[str]] = {int(u): deque(maxlen=self.llm_config.memory) for u in self.llm_ids}
        self.stats = {"decisions": 0, "fallbacks": 0, "model_calls": 0, "model_seconds": 0.0}
        self.style = style_for(self.llm_config.style, model)  # re-resolved per call: resume re-attaches a model

    # the platform reads these through the same names as on StatisticalUsers
    n = property(lambda self: self.base.n)
    n_genres = property(lambda self: self.base.n_genres)
    preferences = property(lambda self: self.base.preferences)
    config = property(lambda self: self.base.config)  # the statistical behaviour (UserConfig) everyone shares

    def engage_probability(self, users: np.ndarray, items: np.ndarray, catalogue: Catalogue) -> np.ndarray:
        """The latent engagement model (also the statistical fallback of LLM users)."""
        return self.base.engage_probability(users, items, catalogue)

    def demand(self) -> np.ndarray:
        """Population-wide interest per genre."""
        return self.base.demand()

    def update(self, users: np.ndarray, slates: np.ndarray, responses: Responses, catalogue: Catalogue) -> None:
        """Preferences drift for everyone; LLM users also remember what they just watched."""
        self.base.update(users, slates, responses, catalogue)
        for row in np.flatnonzero(np.isin(users, self.llm_ids)):
            memory = self.memories[int(users[row])]
            for pos in np.flatnonzero(responses.viewed[row]):
                item = int(slates[row, pos])
                liked = ", liked it" if responses.liked[row, pos] else ""
                memory.append(f"{catalogue.titles[item]!r} ({self.genres[catalogue.genre[item]]}): "
                              f"{responses.watch_s[row, pos]:.0f}s{liked}")

    def respond(self, users: np.ndarray, slates: np.ndarray, catalogue: Catalogue,
                rng: np.random.Generator) -> Responses:
        """Statistical responses for all, then LLM decisions replace those of the LLM users, slot by slot."""
        out = self.base.respond(users, slates, catalogue, rng)
        rows = np.flatnonzero(np.isin(users, self.llm_ids))
        if len(rows) == 0 or self.model is None:
            return out
        watching = np.ones(len(rows), bool)
        for pos in range(slates.shape[1]):
            live = rows[watching]
            decisions = self._decide(users[live], slates[live, pos], catalogue)
            for row, decision in zip(live, decisions):
                if decision is not None:
                    self._apply(out, row, pos, decision, float(catalogue.duration[slates[row, pos]]))
            leaving = np.array([d is not None and d.exit for d in decisions], bool)
            watching[np.flatnonzero(watching)[leaving]] = False
            out.viewed[rows[~watching], pos + 1:] = False
        for name in ("clicked", "liked", "commented", "shared"):
            getattr(out, name)[~out.viewed] = False
        out.watch_s[~out.viewed] = 0.0
        return out

    def _apply(self, out: Responses, row: int, pos: int, reaction: Reaction, duration: float) -> None:
        decision = reaction.decision
        engaged = decision.like or decision.watch_s >= min(self.llm_config.engaged_after_s, duration)
        out.watch_s[row, pos] = decision.watch_s
        out.liked[row, pos], out.clicked[row, pos] = decision.like, engaged
        out.commented[row, pos] &= engaged  # comments and shares stay statistical, but only on engaged videos
        out.shared[row, pos] &= engaged

    def _decide(self, users: np.ndarray, items: np.ndarray, catalogue: Catalogue) -> list[Reaction | None]:
        """One decision per (user, item); None where the model failed and the statistical draw stands."""
        if len(users) == 0:
            return []
        if self.model is None:  # no chat model: every user keeps the statistical draw
            return [None] * len(users)
        self.style = style_for(self.llm_config.style, self.model)
        prompt = self.compact_messages if self.style == "compact" else self.messages
        conversations = [prompt(int(u), int(i), catalogue) for u, i in zip(users, items)]
        options = self._options()
        start = time.perf_counter()
        try:
            replies = (self.model.chat_batch(conversations, options) if self.llm_config.batch
                       else [self.model.chat(c, options) for c in conversations])  # type: ignore[union-attr]
        except Exception as err:
            logger.warning("llm users: model call failed (%s); using statistical decisions", err)
            replies = [""] * len(conversations)
        self.stats["model_seconds"] += time.perf_counter() - start
        self.stats["model_calls"] += 1 if self.llm_config.batch else len(conversations)
        return [self._parse(reply, float(catalogue.duration[i])) for reply, i in zip(replies, items)]

    def _options(self) -> GenerationOptions:
        options = GenerationOptions(temperature=self.llm_config.temperature, max_tokens=self.llm_config.max_tokens,
                                    seed=self.llm_config.seed)
        if self.style == "compact":  # one line is the whole answer: stop there, small models ramble on
            return task_options(options, self.llm_config.compact_max_tokens, stop=("\n",))
        return options

    def _parse(self, reply: str, duration: float) -> Reaction | None:
        self.stats["decisions"] += 1
        try:
            return (parse_compact_decision if self.style == "compact" else parse_decision)(reply, duration)
        except (JSONExtractError, ValueError, TypeError) as err:
            self.stats["fallbacks"] += 1
            logger.debug("llm users: unusable reply %r (%s); statistical fallback", reply[:80], err)
            return None

    def messages(self, uid: int, item: int, catalogue: Catalogue) -> list[Message]:
        """The prompt: profile (favourite genres, patience), recent memory, then the video on screen."""
        prefs = self.base.preferences[uid]
        favourites = ", ".join(self.genres[g] for g in np.argsort(-prefs)[:3])
        patience = "patient" if self.base.novelty_tolerance[uid] > 0.5 else "easily bored"
        memory = "\n".join(f"- {m}" for m in self.memories[uid]) or "- nothing yet"
        video = (f"Title: {catalogue.titles[item]}\nCategory: {self.genres[catalogue.genre[item]]}\n"
                 f"Tags: {', '.join(catalogue.tags[item]) or 'none'}\nLength: {catalogue.duration[item]:.0f} s")
        return [system(f"You are a short-video app user. You love {favourites}; you are {patience}. "
                       "For the video on screen, say how many seconds you watch, whether you like it and whether "
                       "you close the app after it. Answer with JSON only, for example "
                       "{\"watch_s\": 6, \"like\": false, \"exit\": false}"),
                user(f"Recently watched:\n{memory}\n\nNow on screen:\n{video}")]

    def compact_messages(self, uid: int, item: int, catalogue: Catalogue) -> list[Message]:
        """A small-model prompt: short profile, last videos, the video on screen, one worked example first."""
        prefs = self.base.preferences[uid]
        favourites = ", ".join(self.genres[g] for g in np.argsort(-prefs)[:2])
        patience = "You are patient." if self.base.novelty_tolerance[uid] > 0.5 else "You get bored easily."
        recent = "; ".join(list(self.memories[uid])[-2:]) or "nothing yet"
        video = f"{catalogue.titles[item]!r} ({self.genres[catalogue.genre[item]]}, {catalogue.duration[item]:.0f} s)"
        return [system(USER_COMPACT_SYSTEM), user(USER_COMPACT_EXAMPLE[0]), assistant(USER_COMPACT_EXAMPLE[1]),
                user(f"You love: {favourites}. {patience}\nRecent: {recent}\nNow: {video}\n{USER_COMPACT_ASK}")]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["model"] = None  # models are not pickled; Platform.resume re-attaches one
        return state


def pick_llm_users(n_users: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """A seeded random subset of `count` user ids (sorted)."""
    if not 0 <= count <= n_users:
        raise ValueError(f"llm_users must lie in [0, users={n_users}], got {count}")
    return np.sort(rng.choice(n_users, count, replace=False)).astype(np.int64)


def measure_throughput(agents: int = 8, steps: int = 1, seed: int = 0, slate_size: int = 2,
                       max_tokens: int = 24, style: str = "auto") -> dict[str, Any]:
    """Decisions/s and usable (model-made) share of the embedded model as LLM users, batching on vs off."""
    from dataclasses import replace

    from personas.models.factory import ChatModelConfig, build_chat_model
    from sandbox.config import SandboxConfig
    from sandbox.platform import Platform

    model = build_chat_model(ChatModelConfig(backend="embedded", device="cpu"))
    result: dict[str, Any] = {"agents": agents, "steps": steps, "slate_size": slate_size, "max_tokens": max_tokens,
                              "model": getattr(model, "name", "embedded"), "style": style_for(style, model)}
    for batch in (True, False):
        config = SandboxConfig(users=agents, creators=10, steps=steps, recommender="pop", user_kind="llm",
                               llm_users=agents, write_logs=False, seed=seed, slate_size=slate_size)
        config = replace(config, llm_user=replace(config.llm_user, batch=batch, max_tokens=max_tokens, style=style))
        platform = Platform(config, user_model=model)
        platform.run()
        stats = platform.users.stats  # type: ignore[union-attr]
        key = "batched" if batch else "sequential"
        result[key] = {"decisions": stats["decisions"], "model_seconds": round(stats["model_seconds"], 2),
                       "decisions_per_s": round(stats["decisions"] / max(stats["model_seconds"], 1e-9), 2),
                       "fallback_rate": round(stats["fallbacks"] / max(stats["decisions"], 1), 3),
                       "usable_share": round(1 - stats["fallbacks"] / max(stats["decisions"], 1), 3)}
    result["speedup"] = round(result["batched"]["decisions_per_s"] / max(result["sequential"]["decisions_per_s"],
                                                                         1e-9), 2)
    return result
