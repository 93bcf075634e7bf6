"""What the interviewer model is shown: the person's cited examples, and the question and judging prompts."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from personas.analysis import UNKNOWN_CATEGORY, BehaviourFeatures, Example
from personas.interview.outline import Section
from personas.interview.transcript import Turn
from personas.models import Message, system, user

# Each prompt names its task on the first line, so logs (and scripted test models) can tell them apart.
TASK_QUESTION = "TASK: ask_question"
TASK_JUDGE = "TASK: judge_section"
INTERVIEWER_SYSTEM = (
    "You are a warm, curious interviewer studying why a person watches short videos the way they do. "
    "You ask one short, open question at a time, in the second person, about their own viewing. "
    "Refer to their actual videos by caption and watch time when it helps. Never repeat a question."
)
_EXAMPLE_KINDS = ("longest_watched", "quick_skipped", "liked", "category_spread")
_CAPTION_CHARS = 60


@dataclass(frozen=True)
class CitedExample:
    """A representative video with a short id (E1, E2, ...) the interviewer can cite."""

    id: str
    kinds: tuple[str, ...]
    example: Example

    @property
    def title(self) -> str:
        """The caption (shortened), or the author and category when there is no caption."""
        caption = (self.example.caption or "").strip()
        if caption:
            return caption if len(caption) <= _CAPTION_CHARS else caption[: _CAPTION_CHARS - 1] + "…"
        who = f" by {self.example.author}" if self.example.author else ""
        what = "" if self.example.category in ("", UNKNOWN_CATEGORY) else f"{self.example.category} "
        return f"a {what}video{who}"

    @property
    def named(self) -> bool:
        """Whether the title tells this video apart (a caption or a creator), not just 'a video'."""
        return bool((self.example.caption or "").strip() or self.example.author)

    def describe(self) -> str:
        """One line for the prompt: id, title, creator, category, watch time, liked."""
        by = f" by @{self.example.author}" if self.example.author else ""
        liked = ", liked" if self.example.liked else ""
        return (f'{self.id}: "{self.title}"{by} [{self.example.category}] watched {self.example.watch_s:.1f} s{liked} '
                f"({', '.join(k.replace('_', ' ') for k in self.kinds)})")


def build_catalogue(features: BehaviourFeatures, limit: int = 12) -> tuple[CitedExample, ...]:
    """Number the analyser's representative examples (each video once, with every kind it stands for)."""
    kinds: dict[tuple[str, int], list[str]] = {}
    examples: dict[tuple[str, int], Example] = {}
    for kind in _EXAMPLE_KINDS:
        for example in getattr(features.examples, kind):
            key = (example.trace_id, example.step_index)
            examples.setdefault(key, example)
            kinds.setdefault(key, []).append(kind)
    keys = list(examples)[:limit]
    return tuple(CitedExample(f"E{i}", tuple(kinds[key]), examples[key]) for i, key in enumerate(keys, start=1))


def contrast_hint(catalogue: Sequence[CitedExample], used: Sequence[str] = ()) -> tuple[str, tuple[str, ...]]:
    """A "watched X for 40 s but skipped Y in 1 s" sentence, rotating to the least-cited examples."""
    long = [c for c in catalogue if "longest_watched" in c.kinds or "liked" in c.kinds]
    short = [c for c in catalogue if "quick_skipped" in c.kinds]
    least_used = lambda items: min(items, key=lambda c: list(used).count(c.id))  # noqa: E731 (min keeps order on ties)
    if not long or not short:
        return "", ()
    first, second = least_used(long), least_used(short)
    if first.id == second.id:
        return "", ()
    if first.named or second.named:
        text = (f'you watched "{first.title}" for {seconds(first.example.watch_s)} but skipped '
                f'"{second.title}" after {seconds(second.example.watch_s)}')
    else:  # nothing to name them by: the durations alone make the contrast
        text = (f"you watched one video for {seconds(first.example.watch_s)} but skipped another "
                f"after {seconds(second.example.watch_s)}")
    return text, (first.id, second.id)


def seconds(value: float) -> str:
    """A watch time as people say it: tenths below 10 s, whole seconds above.

    >>> seconds(0.34), seconds(41.2)
    ('0.3 s', '41 s')
    """
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def question_messages(section: Section, features: BehaviourFeatures, catalogue: Sequence[CitedExample],
                      turns: Sequence[Turn], hint: str) -> list[Message]:
    """The request for the next question: section goals, the person's behaviour and examples, the talk so far."""
    asked = "\n".join(f"- {t.question}" for t in turns) or "- (none yet)"
    this_section = "\n".join(f"Q: {t.question}\nA: {t.answer}" for t in turns if t.section == section.id and t.answered)
    body = "\n".join([
        TASK_QUESTION,
        f"Section: {section.title} ({section.id})",
        "Goals of this section:\n" + _bullets(section.goals),
        "Question directions:\n" + _bullets(section.directions),
        "What their recorded viewing shows:\n" + features.summary(),
        "Their example videos:\n" + ("\n".join(c.describe() for c in catalogue) or "(none)"),
        f"A contrast you may use: {hint}." if hint else "",
        "Questions already asked (do not repeat any of them, nor ask the same thing in other words):\n" + asked,
        "Answers in this section so far:\n" + (this_section or "(none yet)"),
        'Reply with only a JSON object: {"question": "<one question to the person>", "cites": ["E1"]} '
        "where cites lists the ids of the example videos the question mentions (may be empty). "
        "Mention videos by their caption, not by id.",
    ])
    return [system(INTERVIEWER_SYSTEM), user("\n\n".join(part for part in body.split("\n\n") if part))]


def judge_messages(section: Section, turns: Sequence[Turn]) -> list[Message]:
    """The request asking whether the answers in a section already meet its goals."""
    talk = "\n".join(f"Q: {t.question}\nA: {t.answer}" for t in turns if t.answered)
    body = "\n\n".join([
        TASK_JUDGE,
        f"Section: {section.title} ({section.id})",
        "Goals:\n" + _bullets(section.goals),
        "Interview so far in this section:\n" + (talk or "(nothing)"),
        'Have the answers covered every goal well enough to move on? Reply with only a JSON object: '
        '{"goals_met": true or false, "missing": ["<goal still open>", ...]}',
    ])
    return [system("You judge interview progress strictly and reply in JSON."), user(body)]


def fallback_question(section: Section, turn_number: int, hint: str) -> str:
    """A plain question from the outline itself, used when the model gives nothing usable."""
    goal = section.goals[turn_number % len(section.goals)]
    opening = f"In your recordings {hint}. " if hint else ""
    return f"{opening}About {section.title.lower()}: I'd like to understand {goal}. Could you tell me about that?"


def normalise(text: str) -> str:
    """Lower-case text without punctuation or repeated spaces, for duplicate checks.

    >>> normalise("  Why did you SKIP it?! ")
    'why did you skip it'
    """
    table = str.maketrans({c: " " for c in string.punctuation + "，。？！、：；“”‘’（）"})
    return " ".join(text.lower().translate(table).split())


def _tokens(text: str) -> set[str]:
    # CJK text has no spaces: treat each CJK character as a token, words otherwise.
    return set(re.findall(r"[\u4e00-\u9fff]|[^\s\u4e00-\u9fff]+", normalise(text)))


def similarity(first: str, second: str) -> float:
    """How alike two questions are, in [0, 1]: the larger of the sequence ratio and token overlap.

    >>> similarity("Why did you skip the cat video?", "why did you skip the cat video") == 1.0
    True
    >>> similarity("Why did you skip the cat video?", "How often do you share videos with friends?") < 0.5
    True
    """
    a, b = normalise(first), normalise(second)
    ratio = SequenceMatcher(None, a, b).ratio()
    ta, tb = _tokens(a), _tokens(b)
    jaccard = len(ta & tb) / len(ta | tb) if ta | tb else 1.0
    return max(ratio, jaccard)


def find_duplicate(question: str, previous: Sequence[str], threshold: float) -> str | None:
    """The earlier question `question` nearly repeats, if any."""
    return next((q for q in previous if similarity(question, q) >= threshold), None)


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items)
