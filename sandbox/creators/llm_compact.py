"""Compact prompts for LLM creators on small local models: one-line EXPLORE/EXPLOIT choices and TITLE/TAGS lines.

The slow thinker picks from a short numbered list of genres (the creator's own best ones first, then a few it has
not tried) and answers `EXPLOIT <genre>` or `EXPLORE <genre>`; the fast thinker writes `TITLE: ...` and `TAGS: ...`
lines and the item is built in code. Both read only the creator's own view (information asymmetry is unchanged).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from personas.interview.small_model import has_word_loop, task_options
from personas.models.base import ChatBackendError, Message, assistant, system, user
from recorder.taxonomy import Taxonomy
from sandbox.catalogue import ItemDraft
from sandbox.creators.base import CreatorView

if TYPE_CHECKING:
    from recorder.categorise import GenreResolver
    from sandbox.creators.llm import LLMCreator, SlowDecision

logger = logging.getLogger("sandbox.creators.llm")  # the policy's logger: fallback warnings stay in one place

OPTIONS = 5  # genres offered to the slow thinker
SLOW_SYSTEM = ("You are a short-video creator choosing the genre of your next video. Answer with one line: "
               "EXPLOIT <genre> to make more of what got you clicks, or EXPLORE <genre> to try something new.")
# Two worked examples teach the rule the creator should follow: exploit what earns clicks, explore when nothing does.
SLOW_EXAMPLES = (("My videos: Food 3 videos, 12 clicks; Music 1 video, 0 clicks.\n"
                  "Genres: 1. Food 2. Music 3. Travel 4. Sports\nNext video?", "EXPLOIT Food"),
                 ("My videos: Music 2 videos, 0 clicks.\n"
                  "Genres: 1. Music 2. Gaming 3. Travel 4. Pets\nNext video?", "EXPLORE Travel"))
FAST_SYSTEM = "You are a short-video creator. Write the title and three tags of your next video."
FAST_EXAMPLE = ("Plan: EXPLOIT Food/Cooking\nMy past videos: 'Five-minute noodles' (8 clicks)\nWrite TITLE and TAGS.",
                "TITLE: Ten-minute dumplings for busy nights\nTAGS: cooking, dumplings, quick")
_MODE = re.compile(r"\b(explor\w*|exploit\w*)\b", re.I)
_LABEL = re.compile(r"^\s*(title|tags?)\s*[:\-]\s*", re.I)


def genre_options(view: CreatorView, count: int = OPTIONS) -> list[str]:
    """Top-level genres to offer: own best (belief x skill) and home genres first, then untried ones in turn."""
    value = view.audience_belief * view.skill_belief
    tried = {c.genre for c in view.creations}
    own = [g for g in np.argsort(-value, kind="stable") if g in tried][:2]
    home = [view.genre_index(h.split("/")[0]) for h in view.profile.home_genres if _known(view, h)]
    ordered = list(dict.fromkeys([*own, *home]))[: count - 1]
    rest = [g for g in range(len(view.genres)) if g not in ordered]
    shift = (view.creator_id + view.step) % max(len(rest), 1)  # a different few to explore each step, no rng draw
    ordered += (rest[shift:] + rest[:shift])[: count - len(ordered)]
    return [view.genres[g] for g in ordered]


def _known(view: CreatorView, genre: str) -> bool:
    try:
        view.genre_index(genre.split("/")[0])
    except (KeyError, ValueError):
        return False
    return True


def own_summary(view: CreatorView) -> str:
    """'Food 3 videos, 12 clicks; ...' over the genres this creator made something in (own feedback only)."""
    made = np.bincount([c.genre for c in view.creations], minlength=len(view.genres))
    clicks = np.bincount([c.genre for c in view.creations], weights=view.clicks, minlength=len(view.genres))
    parts = [f"{view.genres[g]} {made[g]} video{'s' if made[g] != 1 else ''}, {clicks[g]:.0f} clicks"
             for g in np.argsort(-clicks, kind="stable") if made[g]]
    return "; ".join(parts[:3]) or "none yet"


def slow_messages(view: CreatorView, options: Sequence[str]) -> list[Message]:
    """The compact slow-thinker prompt: own results, a numbered genre list, one worked example first."""
    listed = " ".join(f"{k}. {name}" for k, name in enumerate(options, 1))
    # A 135M model mostly echoes the last worked example, so the example nearest the creator's own situation
    # (its videos earned clicks or not) goes last: nearest-neighbour few-shot, from the creator's own feedback only.
    earned = float(np.sum(view.clicks)) > 0
    examples = SLOW_EXAMPLES[::-1] if earned else SLOW_EXAMPLES
    shots = [message for question, answer in examples for message in (user(question), assistant(answer))]
    return [system(SLOW_SYSTEM), *shots, user(f"My videos: {own_summary(view)}.\nGenres: {listed}\nNext video?")]


def parse_slow(reply: str, options: Sequence[str], resolver: GenreResolver,
               tried: set[str]) -> tuple[str, tuple[str, ...]]:
    """(mode, category path) from a line like 'EXPLORE 3', 'exploit Food/Cooking' or just 'Travel'.

    The mode is read from the genre chosen (EXPLOIT when the creator has made it before, else EXPLORE), whatever
    word the model wrote: a 135M model's EXPLORE/EXPLOIT word follows the prompt's wording rather than its own
    history, while its genre pick is its own. ValueError when no genre can be found.
    """
    line = next((part for part in reply.splitlines() if part.strip()), "")
    mode_match = _MODE.search(line)
    rest = line[mode_match.end():] if mode_match else line
    category = _genre_in(rest, options, resolver) or _genre_in(line, options, resolver)
    if category is None:
        raise ValueError(f"no genre from the list in the reply {reply[:60]!r}")
    return ("EXPLOIT" if category[0] in tried else "EXPLORE"), category


def _genre_in(text: str, options: Sequence[str], resolver: GenreResolver) -> tuple[str, ...] | None:
    """A genre picked by list number, by a name the resolver knows, or by an offered name inside the text."""
    leading = re.match(r"\s*(\d+)\b", text)
    if leading and 1 <= int(leading.group(1)) <= len(options):
        return (options[int(leading.group(1)) - 1],)
    head = re.split(r"\s\d", text.strip())[0]  # 'Gaming 2. Lifestyle' -> 'Gaming' (the model ran on into the list)
    cleaned = re.sub(r"^[\s\d.:)\-]+", "", head).strip().strip(".,!\"'")
    try:
        return resolver.resolve(cleaned)
    except ValueError:
        pass
    lowered = text.lower()
    return next(((name,) for name in options if name.lower() in lowered), None)


def fast_messages(view: CreatorView, decision: SlowDecision, examples: Sequence[int]) -> list[Message]:
    """The compact fast-thinker prompt: the plan and a few own past titles with their clicks."""
    past = ", ".join(f"{view.creations[i].title!r} ({view.clicks[i]:.0f} clicks)" for i in examples) or "none yet"
    return [system(FAST_SYSTEM), user(FAST_EXAMPLE[0]), assistant(FAST_EXAMPLE[1]),
            user(f"Plan: {decision.mode} {'/'.join(decision.category)}\nMy past videos: {past}\nWrite TITLE and TAGS.")]


def parse_fast(reply: str, decision: SlowDecision, taxonomy: Taxonomy) -> ItemDraft:
    """An ItemDraft from 'TITLE: ...' / 'TAGS: a, b' lines (a bare first line is the title); ValueError if none."""
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    title_line = next((line for line in lines if line.lower().startswith("title")), lines[0] if lines else "")
    title = _LABEL.sub("", title_line).strip().strip("\"'*").strip()[:100]
    if len(re.findall(r"\w+", title)) < 2 or has_word_loop(title) or title.lower().startswith("tags"):
        raise ValueError(f"no usable title in the reply {reply[:60]!r}")
    if title == _LABEL.sub("", FAST_EXAMPLE[1].splitlines()[0]):
        raise ValueError("the reply copied the worked example's title")
    tag_line = next((line for line in lines if line.lower().startswith("tag")), "")
    tags = tuple(dict.fromkeys(t.strip(" #.*\"'").lower() for t in re.split(r"[,#;]", _LABEL.sub("", tag_line))
                               if t.strip(" #.*\"'")))[:5]
    category = _with_subcategory(decision.category, f"{title} {' '.join(tags)}", taxonomy)
    description = f"{title} - a {'/'.join(category)} video."
    return ItemDraft(category, title, tags, description, decision.mode == "EXPLORE")


def _with_subcategory(category: Sequence[str], text: str, taxonomy: Taxonomy) -> tuple[str, ...]:
    """The planned path, narrowed to a subcategory whose name the title or tags mention."""
    if len(category) > 1:
        return tuple(category)
    lowered = text.lower()
    top = taxonomy.top(category[0])
    sub = next((s.name for s in top.subcategories if s.name.lower() in lowered), None)
    return (top.name, sub) if sub else (top.name,)


# ---------------------------------------------------------------- the compact stages of LLMCreator


def _ask(policy: LLMCreator, conversations: list[list[Message]], max_tokens: int, step: int, stop: tuple[str, ...],
         tags: list[dict]) -> list[str] | None:
    """One batched call (None when the backend failed, so every creator takes its fallback)."""
    options = task_options(policy._options(step, max_tokens), max_tokens, stop=stop)
    try:
        return policy.model.chat_batch(conversations, options, tags=tags)
    except ChatBackendError as err:
        logger.warning("llm creators: backend failed (%s); using fallbacks", err)
        return None


def think_slow_compact(policy: LLMCreator, states: Sequence[CreatorView],
                       rng: np.random.Generator) -> list[SlowDecision]:
    """EXPLORE/EXPLOIT + genre per creator from one short line each; an unreadable line takes the rule."""
    from sandbox.creators.llm import SlowDecision

    offered = [genre_options(s) for s in states]
    tags = [{"creator": s.creator_id, "step": s.step, "stage": "slow", "style": "compact"} for s in states]
    replies = _ask(policy, [slow_messages(s, o) for s, o in zip(states, offered)], policy.config.compact_tokens_slow,
                   states[0].step, ("\n",), tags)
    decisions = []
    for k, state in enumerate(states):
        try:
            if replies is None:
                raise ValueError("the backend failed")
            mode, category = parse_slow(replies[k], offered[k], policy.resolver,
                                        {c.category[0] for c in state.creations})
            decisions.append(SlowDecision(mode, category, f"compact: {replies[k].strip()[:200]}"))  # type: ignore[arg-type]
        except ValueError as err:
            decisions.append(policy._fallback_decision(state, rng, err))
    policy.decisions.extend(decisions)
    return decisions


def think_fast_compact(policy: LLMCreator, states: Sequence[CreatorView], decisions: Sequence[SlowDecision],
                       rng: np.random.Generator) -> list[ItemDraft | None]:
    """The item per creator from TITLE/TAGS lines, with its own most relevant past titles shown."""
    from sandbox.creators.llm import retrieve_own_examples

    conversations = [fast_messages(s, d, retrieve_own_examples(s, d.category, policy.config.retrieval_k,
                                                               policy.config.recency_decay))
                     for s, d in zip(states, decisions)]
    tags = [{"creator": s.creator_id, "step": s.step, "stage": "fast", "style": "compact"} for s in states]
    replies = _ask(policy, conversations, policy.config.compact_tokens_fast, states[0].step, ("\n\n",), tags)
    drafts: list[ItemDraft | None] = []
    for k, (state, decision) in enumerate(zip(states, decisions)):
        try:
            if replies is None:
                raise ValueError("the backend failed")
            drafts.append(parse_fast(replies[k], decision, policy.taxonomy))
        except ValueError as err:
            drafts.append(policy._fallback_draft(state, decision, rng, err))
    return drafts
