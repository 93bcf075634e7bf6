"""Prompt formats and reply clean-up a small local chat model (e.g. the embedded 135M one) can follow.

Small models cannot hold a long prompt, write JSON or stop on their own: here every request is short,
shows one worked example as a previous chat turn, asks for plain text, and the reply is trimmed at
the first repetition. The "compact" interview style uses these; the "json" style suits larger models.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np

from personas.analysis import UNKNOWN_CATEGORY, BehaviourFeatures
from personas.interview.outline import Section
from personas.models import GenerationOptions, Message, assistant, system, user

Style = Literal["auto", "json", "compact"]
STYLES: tuple[str, ...] = ("auto", "json", "compact")
COMPACT_BACKENDS = ("embedded",)  # backends whose default model needs the compact style
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[\w']+")
_LOOP_NGRAM = 3
QUESTION_SYSTEM = ("You are a friendly interviewer asking a person about their short-video habits. "
                   "You write exactly one short question.")
QUESTION_EXAMPLE = ("Topic: what makes you swipe away quickly\nFact: you skipped a video after 1 second",
                    "You skipped a video after just 1 second. What made you swipe away so fast?")
ANSWER_SYSTEM = ("You are a person being interviewed about how you watch short videos. Answer in one or two short "
                 "sentences, in the first person, saying the facts about you in your own words.")
# The worked example carries no cue word of the trait reader either, so the model cannot copy one into every answer.
ANSWER_EXAMPLE = ("Question: What makes you open the app?\nFacts about me:\n- I watch on my lunch break.\n"
                  "- Cooking clips are my favourites and I pass recipes on to my sister.\nAnswer with the facts.",
                  "I open it on my lunch break. Cooking clips are my favourites, and I pass the best recipes on "
                  "to my sister.")


def resolve_style(style: str, backend: str) -> str:
    """'auto' becomes 'compact' for backends running a small local model, else 'json'.

    >>> resolve_style("auto", "embedded"), resolve_style("auto", "http"), resolve_style("json", "embedded")
    ('compact', 'json', 'json')
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    if style != "auto":
        return style
    return "compact" if backend in COMPACT_BACKENDS else "json"


def task_options(base: GenerationOptions | None, max_tokens: int, temperature: float | None = None,
                 stop: tuple[str, ...] = ()) -> GenerationOptions:
    """The caller's options with a tighter token cap (and, when given, a task temperature and stop strings)."""
    options = base or GenerationOptions()
    return replace(options, max_tokens=min(options.max_tokens, max_tokens),
                   temperature=options.temperature if temperature is None else temperature,
                   stop=tuple(dict.fromkeys(options.stop + stop)))


def sentences(text: str) -> list[str]:
    """Split text into sentences on ., ! and ? followed by white space.

    >>> sentences("I scroll. Do you? Yes!")
    ['I scroll.', 'Do you?', 'Yes!']
    """
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def _key(sentence: str) -> str:
    return " ".join(_WORD.findall(sentence.lower()))


def has_word_loop(sentence: str, n: int = _LOOP_NGRAM) -> bool:
    """Whether some n words repeat back to back ("scroll to scroll to"), or any n-gram occurs three times.

    >>> has_word_loop("I scroll to scroll to scroll to relax"), has_word_loop("I scroll to relax")
    (True, False)
    """
    words = _WORD.findall(sentence.lower())
    if any(len(set(words[i:i + 3])) == 1 for i in range(len(words) - 2)):
        return True
    if any(words[i:i + k] == words[i + k:i + 2 * k] for k in range(2, n + 1) for i in range(len(words) - 2 * k + 1)):
        return True
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    longer = [tuple(words[i:i + n + 1]) for i in range(len(words) - n)]
    return any(grams.count(g) >= 3 for g in set(grams)) or len(set(longer)) < len(longer)


def _grams(sentence: str, n: int = _LOOP_NGRAM + 1) -> set[tuple[str, ...]]:
    words = _WORD.findall(sentence.lower())
    return {tuple(words[i:i + n]) for i in range(max(len(words) - n + 1, 1))}


def _restates(sentence: str, kept: Sequence[str], share: float = 0.6) -> bool:
    """Whether most of the sentence's 4-word runs were said already (a near-repeat)."""
    said = set().union(*(_grams(k) for k in kept)) if kept else set()
    grams = _grams(sentence)
    return bool(grams) and len(grams & said) >= share * len(grams)


def clean_reply(text: str, max_sentences: int = 3) -> str:
    """Keep the reply up to its first repeated or looping sentence, drop a cut-off tail, cap the length.

    >>> clean_reply("I like games. I like games. I like games.")
    'I like games.'
    >>> clean_reply("I relax at night. It helps me sleep. And then I scroll to scroll to scroll")
    'I relax at night. It helps me sleep.'
    >>> clean_reply("I'm usually scrolling to watch cat videos. I'm usually scrolling to watch cat videos, I guess.")
    "I'm usually scrolling to watch cat videos."
    """
    kept: list[str] = []
    for sentence in sentences(fix_time_units(text)):
        if _key(sentence) in {_key(k) for k in kept} or has_word_loop(sentence) or _restates(sentence, kept):
            break
        kept.append(sentence)
    if len(kept) > 1 and not kept[-1].endswith((".", "!", "?")):
        kept.pop()  # generation stopped mid-sentence
    return " ".join(kept[:max_sentences])


def repeated_sentence_count(text: str) -> int:
    """How often the most frequent sentence occurs in `text` (1 for a reply without repetition)."""
    keys = [_key(s) for s in sentences(text) if _key(s)]
    return max((keys.count(k) for k in set(keys)), default=0)


def question_fact(section: Section, features: BehaviourFeatures, hint: str) -> str:
    """One behaviour fact for the section's question, in the second person (the contrast hint when fitting)."""
    f, sid = features, section.id
    minutes = float(np.median(f.temporal.session_minutes)) if f.temporal.session_minutes else 0.0
    # "around 11 am", not "11:00": small models merge a clock time with a duration ("about 13:00 minutes")
    facts = {
        "usage_context": f"your sessions last about {minutes:.0f} minutes, "
                         f"most often around {clock_phrase(f.temporal.peak_hour)}",
        "engagement_logic": f"you liked {f.like_rate:.0%} of videos, commented on {f.comment_rate:.0%} "
                            f"and shared {f.share_rate:.0%}",
        "emotion_regulation": f"your sessions last about {minutes:.0f} minutes "
                              f"and {f.long_watch_rate:.0%} of videos get a long watch",
    }
    if sid == "creator_affinity" and f.creators.top_authors:
        top = f.creators.top_authors[0]
        facts[sid] = f"you watched {top.videos} videos by {top.author}"
    known = [c for c in f.category_distribution if c != UNKNOWN_CATEGORY]
    if sid in ("exploration", "avoidance") and known:
        facts[sid] = f"you mostly watch {known[0]} and rarely {known[-1]}" if len(known) > 1 else f"you mostly watch {known[0]}"
    return facts.get(sid) or hint or f"you skip {f.quick_skip_rate:.0%} of videos within 3 seconds"


def clock_phrase(hour: int) -> str:
    """An hour of the day in words a small model will not turn into a duration.

    >>> clock_phrase(0), clock_phrase(11), clock_phrase(12), clock_phrase(23)
    ('midnight', '11 am', 'noon', '11 pm')
    """
    hour %= 24
    if hour in (0, 12):
        return "midnight" if hour == 0 else "noon"
    return f"{hour} am" if hour < 12 else f"{hour - 12} pm"


_CLOCK_DURATION = re.compile(r"\b(\d{1,2}):00\s+(seconds?|secs?|minutes?|mins?|hours?|hrs?)\b", re.I)
_CLOCK_PERIOD = re.compile(r"\b(\d{1,2}):00\s*([ap])\.?m\b", re.I)


def fix_time_units(text: str) -> str:
    """Repair a clock time glued to a duration unit, and "11:00 pm" to "11 pm".

    >>> fix_time_units("You usually scroll for about 13:00 minutes, around 11:00 pm. About 11:00 hours?")
    'You usually scroll for about 13 minutes, around 11 pm. About 11 hours?'
    """
    text = _CLOCK_DURATION.sub(r"\1 \2", text)
    return _CLOCK_PERIOD.sub(lambda m: f"{m.group(1)} {m.group(2).lower()}m", text)


def compact_question_messages(goal: str, fact: str) -> list[Message]:
    """A question request a small model follows: one worked example, then the topic and one fact."""
    return [system(QUESTION_SYSTEM), user(QUESTION_EXAMPLE[0]), assistant(QUESTION_EXAMPLE[1]),
            user(f"Topic: {goal}\nFact: {fact}")]


def parse_question(reply: str) -> str:
    """The question in a plain-text reply (a trailing '?' restored when a stop string cut it off).

    >>> parse_question('Question: "You skipped it fast. Why was that"')
    'You skipped it fast. Why was that?'
    """
    text = " ".join(reply.split()).strip().strip('"').strip()
    text = re.sub(r"^(question|q)\s*[:.-]\s*", "", text, flags=re.I).strip().strip('"').strip()
    if not text.endswith(("?", ".", "!")):
        text = text.rstrip(",;: ") + "?"  # the '?' stop string ends generation and is cut off
    text = clean_reply(text, max_sentences=3)
    if len(_WORD.findall(text)) < 4 or not text.endswith("?"):
        raise ValueError(f"no usable question in the reply {reply[:80]!r}")
    return text


def ensure_fact(question: str, fact: str) -> tuple[str, bool]:
    """Prefix the fact when the question states none of it (small models drop it); True when prefixed.

    >>> ensure_fact("Why was that?", "you skipped a video after 1 s")
    ('You skipped a video after 1 s. Why was that?', True)
    """
    numbers = re.findall(r"\d+(?:\.\d+)?", fact)
    stated = any(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", question) for n in numbers)
    if (numbers and stated) or (not numbers and _key(fact) in _key(question)):
        return question, False
    return f"{fact[0].upper()}{fact[1:]}. {question}", True


def compact_answer_messages(facts: Sequence[str], question: str) -> list[Message]:
    """An answer request a small model follows: one worked example, then the relevant facts and the question."""
    listed = "\n".join(f"- {fact}" for fact in facts)
    return [system(ANSWER_SYSTEM), user(ANSWER_EXAMPLE[0]), assistant(ANSWER_EXAMPLE[1]),
            # facts last: small models heed the end
            user(f"Question: {question}\nFacts about me:\n{listed}\nAnswer with the facts.")]
