"""Trait levels read from interview answers by cue words (used when the chat model is too small to judge them).

Each trait has cues pointing up its scale (e.g. "share", "friend" for social sensitivity) and down it;
a negation earlier in the cue's clause ("never like, comment or share") flips it, and hedges ("sometimes", "now and then") pull
towards the middle level. Every level comes with the answer sentences it rests on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from personas.interview.small_model import sentences
from personas.interview.transcript import Turn
from personas.persona import TRAIT_LEVELS

# (cues towards the last level of the scale, cues towards the first level)
TRAIT_CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "content_vs_creator": (("creator", "follow", "channel", "whoever", "blogger", "loyal", "who made", "who posted"),
                           ("topic", "subject", "the content", "what it is about")),
    "emotion_regulation": (("calm", "stress", "relax", "cheer", "bored", "mood", "tired", "distract", "unwind", "switch off",
                            "comfort", "anxious", "lonely", "sad", "escape"),
                           ("learn", "informat", "useful", "news", "pass a few minutes")),
    "novelty_tolerance": (("new", "discover", "unfamiliar", "different", "explore", "curious", "variety", "surpris"),
                          ("same", "stick to", "usual", "familiar", "routine", "swipe away anything")),
    "social_sensitivity": (("share", "comment", "friend", "trend", "popular", "group chat", "family", "send"),
                           ("keep to myself", "private", "never like")),
}
HEDGES = ("sometimes", "now and then", "not often", "occasionally", "the odd", "a bit", "but i do", "a few")
_NEGATION = re.compile(r"\b(never|not|no|don't|dont|do not|rarely|hardly|barely|won't|can't)\b")
_CLAUSE = re.compile(r"[;:]|\bbut\b|, and\b|, so\b")  # a negation earlier in the same clause flips a cue


@dataclass(frozen=True)
class CueReading:
    """A trait level read from answers, with the sentences (and their turns) that carried the cues."""

    name: str
    level: str
    up: int
    down: int
    hedged: bool
    quotes: tuple[tuple[int, str], ...]

    def rationale(self) -> str:
        """One sentence on how the level was read."""
        hedge = ", hedged" if self.hedged else ""
        return f"read from interview cues: {self.up} towards {TRAIT_LEVELS[self.name][-1]}, {self.down} towards " \
               f"{TRAIT_LEVELS[self.name][0]}{hedge}"


def cue_polarity(sentence: str, cue: str) -> int:
    """+1 when `cue` occurs un-negated, -1 when negated earlier in its clause, 0 when absent.

    >>> cue_polarity("I never comment on anything", "comment"), cue_polarity("I share a lot", "share")
    (-1, 1)
    """
    text = sentence.lower()
    position = text.find(cue)
    if position < 0:
        return 0
    return -1 if _NEGATION.search(_CLAUSE.split(text[:position])[-1]) else 1


def read_trait(name: str, turns: Sequence[Turn]) -> CueReading | None:
    """The level of one trait the answers point to, or None when no answer mentions it."""
    ups, downs = TRAIT_CUES[name]
    up = down = 0
    hedged = False
    quotes: list[tuple[int, str, int]] = []
    for turn in (t for t in turns if t.answered):
        for sentence in sentences(turn.answer or ""):
            score = sum(cue_polarity(sentence, c) for c in ups) - sum(cue_polarity(sentence, c) for c in downs)
            hits = sum(abs(cue_polarity(sentence, c)) for c in ups + downs)
            if not hits:
                continue
            up, down = up + max(score, 0), down + max(-score, 0)
            hedged = hedged or any(h in sentence.lower() for h in HEDGES)
            quotes.append((turn.turn_id, sentence, score))
    if not quotes:
        return None
    level = _level(name, up, down, hedged)
    direction = 0 if level == TRAIT_LEVELS[name][1] else 1 if level == TRAIT_LEVELS[name][2] else -1
    # Quote the sentences that point the way the level went (all of them for the middle level).
    backing = [(t, text) for t, text, score in quotes if direction == 0 or score * direction > 0]
    unique = list({text.lower(): (t, text) for t, text in reversed(backing)}.values())[::-1]  # first turn per sentence
    return CueReading(name, level, up, down, hedged, tuple(unique[:2]))


def read_traits(turns: Sequence[Turn]) -> dict[str, CueReading]:
    """Every trait the answers speak to."""
    readings = {name: read_trait(name, turns) for name in TRAIT_LEVELS}
    return {name: reading for name, reading in readings.items() if reading is not None}


def _level(name: str, up: int, down: int, hedged: bool) -> str:
    low, middle, high = TRAIT_LEVELS[name]
    if up == down or (hedged and abs(up - down) <= 2):
        return middle
    return high if up > down else low
