"""The policy prompt and action grammar (versioned): one format for training, GRPO rollouts, evaluation and audits.

Prompt (version ``PROMPT_VERSION``): a system turn that states the task and the reply grammar, then one user turn
with the persona card, the session's last H videos with what the viewer did, and the current video (K key frames
as images, capped in pixels, then transcript and metadata). Reply grammar: one JSON object

    {"watch_seconds": <number >= 0>, "like": <bool>, "comment": <bool>, "share": <bool>, "comment_text": <str>?,
     "follow": true?, "not_interested": true?}   (the last two only when the trace records them)

`parse_reply` is strict first (exactly that object and nothing else), then lenient (the first JSON-ish object in
the text, truthy strings, numbers in strings, missing flags as false, a bare ``watch_seconds: N``). Text neither
accepts is *unparseable*: counted in `FormatStats`, never fatal (the caller decides the fallback decision).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from personas.policy.base import Decision
from recorder.trace import Step, VideoMeta

PROMPT_VERSION = "personaact-policy-v1"
REPLY_KEYS = ("watch_seconds", "like", "comment", "share")
OPTIONAL_KEYS = ("comment_text", "follow", "not_interested")  # the flags appear in targets only when true
MAX_TRANSCRIPT_CHARS = 400
MAX_CAPTION_CHARS = 160

SYSTEM_PROMPT = (
    "You simulate one specific person scrolling a short-video feed. Given who they are, what they just watched "
    "and the current video, predict what THEY do with the current video. Reply with one JSON object and nothing "
    'else: {"watch_seconds": <seconds they stay on it, a number>, "like": true|false, "comment": true|false, '
    '"share": true|false} and, only when comment is true, "comment_text": "<their comment>".'
)
REPLY_EXAMPLE = '{"watch_seconds": 4.2, "like": false, "comment": false, "share": false}'



@dataclass(frozen=True)
class VideoView:
    """What the prompt says about one video: metadata, category, transcript and how many frames follow."""

    meta: VideoMeta = field(default_factory=VideoMeta)
    category: str | None = None
    transcript: str | None = None
    n_frames: int = 0

    @classmethod
    def of_step(cls, step: Step, n_frames: int = 0) -> VideoView:
        """The view of a recorded step."""
        category = "/".join(step.category.path) if step.category else None
        return cls(step.meta, category, step.transcript, n_frames)


@dataclass(frozen=True)
class PolicyPrompt:
    """A rendered prompt: the system text, the user text and where the user turn's images go (first, in order)."""

    system: str
    user: str
    n_images: int = 0
    version: str = PROMPT_VERSION

    def trl_messages(self) -> list[dict[str, Any]]:
        """Conversational TRL/transformers form: image placeholders first, then the text (images in a column)."""
        content: list[dict[str, Any]] = [{"type": "image"} for _ in range(self.n_images)]
        content.append({"type": "text", "text": self.user})
        return [{"role": "system", "content": [{"type": "text", "text": self.system}]},
                {"role": "user", "content": content}]

    def chat_messages(self, images: Sequence[Any] = ()) -> list[Any]:
        """personas.models messages (images as ImageParts: file paths or encoded bytes) for any chat backend."""
        from personas.models.base import ImagePart, Message, TextPart

        parts: list[Any] = [p if isinstance(p, ImagePart) else ImagePart(data=p, mime="image/jpeg") for p in images]
        user_content: Any = tuple(parts + [TextPart(self.user)]) if parts else self.user
        return [Message("system", self.system), Message("user", user_content)]


def describe_video(view: VideoView) -> str:
    """Metadata lines of one video (unknown fields left out)."""
    meta = view.meta
    lines = []
    if view.category:
        lines.append(f"category: {view.category}")
    if meta.author:
        lines.append(f"author: {meta.author}")
    if meta.caption:
        lines.append(f"caption: {_clip(meta.caption, MAX_CAPTION_CHARS)}")
    if meta.hashtags:
        lines.append("hashtags: " + " ".join(f"#{t.lstrip('#')}" for t in meta.hashtags[:8]))
    counts = [f"{n} {k}" for k, n in (("likes", meta.like_count), ("comments", meta.comment_count),
                                        ("shares", meta.share_count)) if n is not None]
    if counts:
        lines.append("popularity: " + ", ".join(counts))
    if meta.duration_s is not None:
        lines.append(f"video length: {meta.duration_s:.0f} s")
    if meta.is_ad or meta.is_live:
        lines.append("kind: " + ("ad" if meta.is_ad else "live room"))
    if view.transcript:
        lines.append(f"transcript: {_clip(view.transcript, MAX_TRANSCRIPT_CHARS)}")
    return "\n".join(lines) if lines else "(no metadata)"


def describe_step(step: Step) -> str:
    """One history line: the video in brief and what the viewer did."""
    view = VideoView.of_step(step)
    what = view.category or (step.meta.caption and _clip(step.meta.caption, 60)) or "a video"
    did = [a.name for a in step.actions if a.name in ("like", "comment", "share", "follow", "not_interested")]
    return f"{what} -> watched {step.watch_s:.1f} s" + (f", {', '.join(did)}" if did else "")


def build_prompt(persona_card: str, history: Sequence[Step], current: VideoView, history_len: int = 5) -> PolicyPrompt:
    """The prompt for deciding on `current` after `history` (oldest first; the last `history_len` are shown)."""
    shown = list(history)[-history_len:] if history_len > 0 else []
    lines = ["## Who you are", persona_card.strip() or "(no persona card: act like a typical viewer)", "",
             f"## Your last {len(shown)} videos in this session (oldest first)"]
    lines += [f"{i + 1}. {describe_step(s)}" for i, s in enumerate(shown)] or ["(this is the first video)"]
    frames = f" ({current.n_frames} frame{'s' if current.n_frames != 1 else ''} shown above)" if current.n_frames else ""
    lines += ["", f"## Current video{frames}", describe_video(current), "",
              f"Reply with the JSON object only, in this form: {REPLY_EXAMPLE}"]
    return PolicyPrompt(SYSTEM_PROMPT, "\n".join(lines), current.n_frames)


def format_reply(decision: Decision) -> str:
    """The target text of a decision (training labels), in the grammar's key order.

    >>> format_reply(Decision(12.345, like=True))
    '{"watch_seconds": 12.35, "like": true, "comment": false, "share": false}'
    """
    data: dict[str, Any] = {"watch_seconds": round(decision.watch_s, 2), "like": decision.like,
                            "comment": decision.comment, "share": decision.share}
    if decision.comment and decision.comment_text:
        data["comment_text"] = decision.comment_text
    for flag in ("follow", "not_interested"):
        if getattr(decision, flag):
            data[flag] = True
    return json.dumps(data, ensure_ascii=False)


@dataclass(frozen=True)
class ParsedReply:
    """A parsed reply: the decision (None when unparseable) and which parser accepted it."""

    decision: Decision | None
    mode: str  # strict | lenient | failed

    @property
    def ok(self) -> bool:
        """Whether a decision came out."""
        return self.decision is not None


def parse_reply(text: str) -> ParsedReply:
    """Strict parse, else lenient, else failed (never raises).

    >>> parse_reply('{"watch_seconds": 3, "like": false, "comment": false, "share": true}').mode
    'strict'
    >>> parse_reply('Sure! {"watch_seconds": "4.5s", "like": "yes"}').decision.watch_s
    4.5
    >>> parse_reply("no idea").mode
    'failed'
    """
    text = text if isinstance(text, str) else ""
    strict = _strict(text)
    if strict is not None:
        return ParsedReply(strict, "strict")
    lenient = _lenient(text)
    return ParsedReply(lenient, "lenient") if lenient is not None else ParsedReply(None, "failed")


def _strict(text: str) -> Decision | None:
    try:
        obj = json.loads(text.strip())
    except (json.JSONDecodeError, ValueError, RecursionError):  # a reply nested absurdly deep is just not strict JSON
        return None
    if not isinstance(obj, dict) or set(obj) - set(REPLY_KEYS) - set(OPTIONAL_KEYS) or any(k not in obj for k in REPLY_KEYS):
        return None
    watch = obj["watch_seconds"]
    if isinstance(watch, bool) or not isinstance(watch, (int, float)) or not math.isfinite(watch) or watch < 0:
        return None
    if not all(isinstance(obj[k], bool) for k in REPLY_KEYS[1:]) or \
            not all(isinstance(obj.get(k, False), bool) for k in ("follow", "not_interested")):
        return None
    note = obj.get("comment_text")
    if note is not None and (not isinstance(note, str) or not note.strip() or not obj["comment"]):
        return None
    return Decision(float(watch), like=obj["like"], comment=obj["comment"], share=obj["share"], comment_text=note,
                    follow=obj.get("follow", False), not_interested=obj.get("not_interested", False))


_TRUE = {"true", "yes", "y", "1", "是", "对"}
_WATCH = re.compile(r"watch[_ ]?(?:seconds|time|s)?\W{0,4}?(\d+(?:\.\d+)?)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _lenient(text: str) -> Decision | None:
    from personas.models.json_mode import JSONExtractError, extract_json_object

    try:
        obj: Mapping[str, Any] = {str(k).lower(): v for k, v in extract_json_object(text).items()}
    except (JSONExtractError, ValueError, AttributeError):
        obj = {}
    watch = _number(obj.get("watch_seconds", obj.get("watch_s", obj.get("watch"))))
    if watch is None:
        found = _WATCH.search(text)
        watch = float(found.group(1)) if found else None
    if watch is None or watch < 0 or not math.isfinite(watch):
        return None
    flags = {k: _flag(obj.get(k)) for k in (*REPLY_KEYS[1:], "follow", "not_interested")}
    note = obj.get("comment_text")
    note = str(note).strip() if flags["comment"] and note is not None and str(note).strip() else None
    return Decision(watch, like=flags["like"], comment=flags["comment"], share=flags["share"], comment_text=note,
                    follow=flags["follow"], not_interested=flags["not_interested"])


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    found = _NUMBER.search(str(value))
    return float(found.group()) if found else None


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value > 0
    return isinstance(value, str) and value.strip().lower() in _TRUE


@dataclass
class FormatStats:
    """Counts of replies by parse mode (mutable: a policy updates it per call)."""

    strict: int = 0
    lenient: int = 0
    failed: int = 0

    def add(self, parsed: ParsedReply) -> None:
        """Count one reply."""
        setattr(self, parsed.mode, getattr(self, parsed.mode) + 1)

    @property
    def calls(self) -> int:
        """Replies counted."""
        return self.strict + self.lenient + self.failed

    def failure_rate(self) -> float:
        """Share of unparseable replies (0 when none were counted)."""
        return self.failed / self.calls if self.calls else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"strict": self.strict, "lenient": self.lenient, "failed": self.failed, "calls": self.calls,
                "failure_rate": self.failure_rate()}


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
