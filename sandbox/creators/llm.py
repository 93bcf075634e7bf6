"""CreAgent-style LLM creators: a slow thinker picks EXPLORE/EXPLOIT and a genre, a fast thinker writes the item."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from personas.models.base import ChatModel, GenerationOptions, Message, system, user
from recorder.categorise import GenreResolver
from recorder.taxonomy import Taxonomy, load_taxonomy
from sandbox.catalogue import ItemDraft
from sandbox.creators.base import CreationRecord, CreatorPolicy, CreatorProfile, CreatorView
from sandbox.creators.baselines import template_draft
from sandbox.creators.llm_exchange import (  # noqa: F401 -- re-exported: the exchange log belongs to this policy's API
    ExchangeLog,
    RecordingChatModel,
    Validator,
    batch_chat_json,
    prompt_hash,
)
from sandbox.llm_style import check_style, style_for

logger = logging.getLogger(__name__)

Mode = Literal["EXPLORE", "EXPLOIT"]
MODES: tuple[str, ...] = ("EXPLORE", "EXPLOIT")


@dataclass(frozen=True)
class LLMCreatorConfig:
    """How LLM creators prompt, retry, retrieve and record."""

    temperature: float = 0.0  # 0 = greedy, so a run is reproducible on backends that honour it
    seed: int = 0
    max_tokens_slow: int = 256
    max_tokens_fast: int = 256
    max_retries: int = 2  # re-asks after a malformed reply before the rule-based fallback
    retrieval_k: int = 3  # own past items shown to the fast thinker as examples
    recency_decay: float = 0.9  # per-step weight of older own items in retrieval
    batch: bool = True  # one chat_batch call per stage for all deciding creators
    log_path: str | None = None  # JSONL file of every LLM exchange (append-only)
    log_prompts: bool = True  # store full prompts beside their hashes
    style: str = "auto"  # json (larger models) | compact (one-line answers, small models) | auto (by the model)
    compact_tokens_slow: int = 12  # compact style: token cap of the 'EXPLORE <genre>' line
    compact_tokens_fast: int = 40  # compact style: token cap of the TITLE/TAGS lines

    def __post_init__(self) -> None:
        check_style(self.style, "llm creators")
        if min(self.compact_tokens_slow, self.compact_tokens_fast) < 4:
            raise ValueError("llm creators: compact_tokens_slow and compact_tokens_fast must be >= 4")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"llm creators: temperature must lie in [0, 2], got {self.temperature}")
        if self.max_retries < 0 or self.retrieval_k < 0:
            raise ValueError("llm creators: max_retries and retrieval_k must be >= 0")
        if min(self.max_tokens_slow, self.max_tokens_fast) < 16:
            raise ValueError("llm creators: max_tokens_slow and max_tokens_fast must be >= 16")
        if not 0.0 < self.recency_decay <= 1.0:
            raise ValueError(f"llm creators: recency_decay must lie in (0, 1], got {self.recency_decay}")


# ---------------------------------------------------------------- decisions and retrieval


@dataclass(frozen=True)
class SlowDecision:
    """The slow thinker's choice: explore or exploit, the target category path, and why."""

    mode: Mode
    category: tuple[str, ...]
    reason: str = ""
    fallback: bool = False  # True when the rule-based policy decided because the LLM failed

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be EXPLORE or EXPLOIT, got {self.mode!r}")
        object.__setattr__(self, "category", tuple(self.category))
        if not 1 <= len(self.category) <= 2:
            raise ValueError(f"category must be ('Top',) or ('Top', 'Sub'), got {self.category!r}")


def rule_decision(view: CreatorView, rng: np.random.Generator, epsilon: float = 0.1) -> SlowDecision:
    """The fallback: exploit argmax(audience belief x skill belief), explore an untried genre with prob. epsilon."""
    tried = {c.genre for c in view.creations}
    untried = [g for g in range(len(view.genres)) if g not in tried]
    if untried and rng.random() < epsilon:
        genre = untried[int(rng.integers(len(untried)))]
        return SlowDecision("EXPLORE", (view.genres[genre],), "rule: try an untried genre", fallback=True)
    value = view.audience_belief * view.skill_belief
    genre = int(np.argmax(value))
    mode: Mode = "EXPLOIT" if genre in tried else "EXPLORE"
    return SlowDecision(mode, (view.genres[genre],), "rule: best believed audience x skill", fallback=True)


def retrieve_own_examples(view: CreatorView, category: Sequence[str], k: int, decay: float = 0.9) -> list[int]:
    """Indices into `view.creations` of the k own items most relevant to `category`: genre match, reward, recency."""
    if k <= 0 or not view.creations:
        return []
    scores = []
    for index, record in enumerate(view.creations):
        match = 2.0 * (record.category[:1] == tuple(category[:1])) + 1.0 * (record.category == tuple(category))
        rate = float(view.clicks[index]) / max(float(view.impressions[index]), 1.0)
        recency = decay ** max(view.step - record.step, 0)
        scores.append((match + rate + 0.5 * recency, record.step, index))
    scores.sort(reverse=True)
    return [index for _, _, index in scores[:k]]


# ---------------------------------------------------------------- prompts


SLOW_SYSTEM = (
    "You are a short-video creator planning your next video. You only know your own videos and the feedback "
    "they got. Think briefly about your utility (clicks on your videos), your beliefs about each genre's "
    "audience and your skill, and your profile. Then decide whether to EXPLORE (try a genre you know little "
    "about) or EXPLOIT (make more of what works for you). Answer with one JSON object: "
    '{"mode": "EXPLORE" or "EXPLOIT", "genre": "<Top> or <Top>/<Subcategory>", "reason": "<one sentence>"}.'
)
FAST_SYSTEM = (
    "You are a short-video creator writing your next video. Answer with one JSON object: "
    '{"title": "...", "genre": "<Top>/<Subcategory>", "tags": ["...", "..."], "description": "..."}. '
    "Keep the title under 80 characters and give 2 to 5 tags."
)


def profile_text(profile: CreatorProfile) -> str:
    """The creator's profile as prompt text."""
    home = ", ".join(profile.home_genres) or "none yet"
    return f"Name: {profile.name}\nPersona: {profile.persona or 'a new creator'}\nHome genres: {home}"


def beliefs_table(view: CreatorView) -> str:
    """One line per genre: own items made, own clicks, audience and skill beliefs."""
    made = np.bincount([c.genre for c in view.creations], minlength=len(view.genres))
    clicks = np.bincount([c.genre for c in view.creations], weights=view.clicks, minlength=len(view.genres))
    lines = ["genre | my videos | my clicks | expected clicks per video (belief) | my skill (belief)"]
    for g, name in enumerate(view.genres):
        lines.append(f"{name} | {made[g]} | {clicks[g]:.0f} | {view.audience_belief[g]:.2f} | {view.skill_belief[g]:.2f}")
    return "\n".join(lines)


def slow_messages(view: CreatorView) -> list[Message]:
    """The slow thinker's prompt: profile, recent utility, per-genre beliefs, the decision asked for."""
    recent = view.clicks[-5:]
    utility = (f"Your last {len(recent)} videos got {recent.sum():.0f} clicks in total."
               if len(recent) else "You have not posted any video yet.")
    body = f"{profile_text(view.profile)}\nStep: {view.step}\n{utility}\n\n{beliefs_table(view)}\n\nDecide now."
    return [system(SLOW_SYSTEM), user(body)]


def example_json(record: CreationRecord, clicks: float, impressions: float) -> str:
    """One of the creator's own past items, as a few-shot example with its outcome."""
    item = {"title": record.title, "genre": "/".join(record.category), "tags": list(record.tags),
            "description": record.description}
    return f"{json.dumps(item, ensure_ascii=False)}  (shown {impressions:.0f} times, {clicks:.0f} clicks)"


def fast_messages(view: CreatorView, decision: SlowDecision, taxonomy: Taxonomy, examples: Sequence[int]) -> list[Message]:
    """The fast thinker's prompt: profile, the decision, subcategory options, own past items as examples."""
    top = taxonomy.top(decision.category[0])
    subs = ", ".join(f"{top.name}/{s.name}" for s in top.subcategories)
    shots = [example_json(view.creations[i], view.clicks[i], view.impressions[i]) for i in examples]
    past = "\n".join(shots) if shots else "(none yet)"
    body = (f"{profile_text(view.profile)}\nPlan: {decision.mode} {'/'.join(decision.category)} - {decision.reason}\n"
            f"Allowed genres: {subs}\nSome of your own earlier videos:\n{past}\n\nWrite the new video as JSON.")
    return [system(FAST_SYSTEM), user(body)]


# ---------------------------------------------------------------- validation


def slow_validator(resolver: GenreResolver) -> Validator:
    """Checks a slow-thinker object: mode is EXPLORE/EXPLOIT and genre maps onto the taxonomy."""

    def validate(obj: dict[str, Any]) -> None:
        mode = str(obj.get("mode", "")).strip().upper()
        if mode not in MODES:
            raise ValueError(f"'mode' must be \"EXPLORE\" or \"EXPLOIT\", got {obj.get('mode')!r}")
        resolver.resolve(obj.get("genre"))

    return validate


def fast_validator(resolver: GenreResolver, top: str) -> Validator:
    """Checks a fast-thinker object: a title, a genre inside the planned top-level genre, list-of-string tags."""

    def validate(obj: dict[str, Any]) -> None:
        title = obj.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ValueError("'title' must be a non-empty string")
        path = resolver.resolve(obj.get("genre", top))
        if path[0] != top:
            raise ValueError(f"'genre' must be inside {top} (e.g. '{top}/...'), got {obj.get('genre')!r}")
        tags = obj.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, (str, int, float)) for t in tags):
            raise ValueError("'tags' must be a list of strings")

    return validate


def decision_from(obj: dict[str, Any], resolver: GenreResolver) -> SlowDecision:
    """A validated slow-thinker object as a SlowDecision."""
    return SlowDecision(str(obj["mode"]).strip().upper(), resolver.resolve(obj["genre"]), str(obj.get("reason", ""))[:500])  # type: ignore[arg-type]


def draft_from(obj: dict[str, Any], resolver: GenreResolver, decision: SlowDecision) -> ItemDraft:
    """A validated fast-thinker object as an ItemDraft (explore flag from the slow decision)."""
    path = resolver.resolve(obj.get("genre", decision.category[0]))
    tags = tuple(str(t).strip().lstrip("#") for t in obj.get("tags", []) if str(t).strip())[:8]
    return ItemDraft(path, str(obj["title"]).strip()[:120], tags, str(obj.get("description", "")).strip()[:1000],
                     decision.mode == "EXPLORE")


# ---------------------------------------------------------------- the policy


class LLMCreator(CreatorPolicy):
    """CreAgent-style creator: LLM slow thinker (explore/exploit + genre) then LLM fast thinker (item JSON)."""

    name = "llm"

    def __init__(self, model: ChatModel | None = None, config: LLMCreatorConfig | None = None,
                 taxonomy: Taxonomy | None = None, log: ExchangeLog | None = None) -> None:
        if model is None:  # e.g. built by name ('sandbox.creators.llm:LLMCreator'): the default chat backend
            from personas.models.factory import ChatModelConfig, build_chat_model

            model = build_chat_model(ChatModelConfig())
        self.config = config or LLMCreatorConfig()
        self.taxonomy = taxonomy or load_taxonomy()
        self.resolver = GenreResolver(self.taxonomy)
        self.log = log or ExchangeLog(self.config.log_path, self.config.log_prompts)
        self.model = model if isinstance(model, RecordingChatModel) else RecordingChatModel(model, self.log)
        self.decisions: list[SlowDecision] = []  # every decision made, in order (explore/exploit ratio)
        self.fallbacks = 0
        self.style = style_for(self.config.style, self.model.inner)

    def decide(self, state: CreatorView, rng: np.random.Generator) -> ItemDraft | None:
        """One creator's item for this step (never raises on bad model output)."""
        return self.decide_batch([state], rng)[0]

    def decide_batch(self, states: Sequence[CreatorView], rng: np.random.Generator) -> list[ItemDraft | None]:
        """Slow then fast thinking for all creators, one batched model call per stage."""
        if not states:
            return []
        if not self.config.batch and len(states) > 1:
            return [self.decide_batch([s], rng)[0] for s in states]
        if self.style == "compact":
            from sandbox.creators.llm_compact import think_fast_compact, think_slow_compact

            decisions = think_slow_compact(self, states, rng)
            return think_fast_compact(self, states, decisions, rng)
        decisions = self.think_slow(states, rng)
        return self.think_fast(states, decisions, rng)

    def _options(self, step: int, max_tokens: int) -> GenerationOptions:
        return GenerationOptions(temperature=self.config.temperature, max_tokens=max_tokens,
                                 seed=self.config.seed + step)

    def think_slow(self, states: Sequence[CreatorView], rng: np.random.Generator) -> list[SlowDecision]:
        """EXPLORE/EXPLOIT + genre per creator; a failed reply becomes a logged rule-based decision."""
        tags = [{"creator": s.creator_id, "step": s.step, "stage": "slow"} for s in states]
        validate = slow_validator(self.resolver)
        results = batch_chat_json(self.model, [slow_messages(s) for s in states],
                                  self._options(states[0].step, self.config.max_tokens_slow),
                                  [validate] * len(states), tags, self.config.max_retries)
        decisions = []
        for state, result in zip(states, results):
            if isinstance(result, dict):
                decisions.append(decision_from(result, self.resolver))
            else:
                decisions.append(self._fallback_decision(state, rng, result))
        self.decisions.extend(decisions)
        return decisions

    def think_fast(self, states: Sequence[CreatorView], decisions: Sequence[SlowDecision],
                   rng: np.random.Generator) -> list[ItemDraft | None]:
        """The item JSON per creator, with its own most relevant past items as examples."""
        conversations, validators = [], []
        for state, decision in zip(states, decisions):
            examples = retrieve_own_examples(state, decision.category, self.config.retrieval_k,
                                             self.config.recency_decay)
            conversations.append(fast_messages(state, decision, self.taxonomy, examples))
            validators.append(fast_validator(self.resolver, decision.category[0]))
        tags = [{"creator": s.creator_id, "step": s.step, "stage": "fast"} for s in states]
        results = batch_chat_json(self.model, conversations, self._options(states[0].step, self.config.max_tokens_fast),
                                  validators, tags, self.config.max_retries)
        drafts: list[ItemDraft | None] = []
        for state, decision, result in zip(states, decisions, results):
            if isinstance(result, dict):
                drafts.append(draft_from(result, self.resolver, decision))
            else:
                drafts.append(self._fallback_draft(state, decision, rng, result))
        return drafts

    def _fallback_decision(self, state: CreatorView, rng: np.random.Generator, error: object) -> SlowDecision:
        self.fallbacks += 1
        logger.warning("creator %d step %d: slow thinker gave no usable decision (%s); using the rule-based one",
                       state.creator_id, state.step, error)
        return rule_decision(state, rng)

    def _fallback_draft(self, state: CreatorView, decision: SlowDecision, rng: np.random.Generator,
                        error: object) -> ItemDraft:
        self.fallbacks += 1
        logger.warning("creator %d step %d: fast thinker gave no usable item (%s); using a templated item",
                       state.creator_id, state.step, error)
        genre = state.genre_index(decision.category[0])
        return template_draft(state, genre, rng, decision.mode == "EXPLORE", self.taxonomy)

    def explore_ratio(self) -> float:
        """Share of decisions so far that were EXPLORE (nan before any)."""
        if not self.decisions:
            return float("nan")
        return sum(d.mode == "EXPLORE" for d in self.decisions) / len(self.decisions)


# ---------------------------------------------------------------- profiles


PROFILE_SYSTEM = (
    "You invent short-video creators. Answer with one JSON object: "
    '{"name": "<a channel name>", "persona": "<two sentences: who they are, their style and goals>"}.'
)


def llm_profiles(model: ChatModel, profiles: Sequence[CreatorProfile], seed: int = 0,
                 log: ExchangeLog | None = None, max_retries: int = 2) -> list[CreatorProfile]:
    """Profiles with LLM-written names and personas for their home genres; a failed reply keeps the original."""
    recorder = model if isinstance(model, RecordingChatModel) else RecordingChatModel(model, log or ExchangeLog())
    conversations = [[system(PROFILE_SYSTEM), user(f"Home genres: {', '.join(p.home_genres) or 'any'}. "
                                                   f"Creator number {p.creator_id}.")] for p in profiles]
    tags = [{"creator": p.creator_id, "stage": "profile"} for p in profiles]
    validate = _profile_validator
    results = batch_chat_json(recorder, conversations, GenerationOptions(temperature=0.0, max_tokens=160, seed=seed),
                              [validate] * len(profiles), tags, max_retries)
    out = []
    for profile, result in zip(profiles, results):
        if isinstance(result, dict):
            out.append(CreatorProfile(profile.creator_id, str(result["name"]).strip()[:60],
                                      str(result["persona"]).strip()[:400], profile.home_genres, profile.activity,
                                      profile.skill))
        else:
            logger.warning("creator %d: no usable LLM profile (%s); keeping the data-derived one",
                           profile.creator_id, result)
            out.append(profile)
    return out


def _profile_validator(obj: dict[str, Any]) -> None:
    for key in ("name", "persona"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise ValueError(f"{key!r} must be a non-empty string")


def build_llm_creator(chat: Any = None, llm: LLMCreatorConfig | None = None, out: str | Path | None = None,
                      taxonomy: Taxonomy | None = None) -> LLMCreator:
    """An LLMCreator on the configured chat backend (a ChatModelConfig or a ready ChatModel); logs to <out>."""
    from personas.models.factory import ChatModelConfig, build_chat_model

    config = llm or LLMCreatorConfig()
    model = chat if isinstance(chat, ChatModel) else build_chat_model(chat or ChatModelConfig())
    log_path = config.log_path or (str(Path(out) / "llm_exchanges.jsonl") if out is not None else None)
    return LLMCreator(model, config, taxonomy, ExchangeLog(log_path, config.log_prompts))
