"""A scripted participant: drives the virtual phone by gestures with human-like timing noise and logs the ground truth.

It swipes through the feed, likes by double tap or the like button, comments (typed text), shares, sometimes taps
beside a button or pinches, dismisses popups, and meets inserted ads and live rooms. Every view it saw is logged:
when it appeared (host monotonic seconds), its metadata key as the screen shows it, and what the participant did.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from device.virtual import hierarchy as hv
from device.virtual.phone import VirtualPhone
from recorder.feed import ReplayFeed
from recorder.trace import Category, Step, Trace, TraceHeader, VideoMeta

WORDS = ("pizza", "guitar", "football", "rocket", "garden", "dolphin", "volcano", "piano", "coffee", "mountain",
         "robot", "camera", "basketball", "chocolate", "bicycle", "ocean", "tiger", "kitchen", "planet", "violin",
         "penguin", "sandwich", "tennis", "castle", "elephant", "rainbow", "airplane", "banana", "dragon", "forest")
TOPICS = (("Food", "Cooking"), ("Music", "Pop"), ("Sports", "Football"), ("Knowledge", "Science"), ("Travel", "Nature"))
# What each video says: its key words in a short natural phrase (Whisper hears words in context better than alone),
# short enough (~2.3 s of espeak-ng speech) to be heard in full before most swipes.
SPEECH = "The {} and the {}."
COMMENTS = ("love this", "so cool", "great video", "nice one", "amazing work", "haha good")


def keyword_feed(n: int, seed: int = 0) -> ReplayFeed:
    """A feed of `n` videos whose transcripts say two key words each (step.extra['keywords'] holds them)."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    steps = []
    for i in range(n):
        a, b = rng.sample(WORDS, 2)
        meta = VideoMeta(video_id=f"v{i}", author=f"creator_{i}", caption=f"clip {i} about {a} #{b}", hashtags=(b,),
                         like_count=rng.randint(10, 200_000), comment_count=rng.randint(0, 5000),
                         share_count=rng.randint(0, 900), favorite_count=rng.randint(0, 900))
        steps.append(Step(i, start + timedelta(seconds=10 * i), 5.0, meta=meta, category=Category(TOPICS[i % len(TOPICS)]),
                          transcript=SPEECH.format(a, b),
                          extra={"keywords": [a, b]}))
    header = TraceHeader("scripted-feed", "sandbox", "douyin", start)
    return ReplayFeed(Trace(header, tuple(steps)))


@dataclass(frozen=True)
class ParticipantConfig:
    """How the participant behaves; watch times are feed seconds, divided by the phone's time scale on the wall."""

    videos: int = 200
    seed: int = 0
    watch_median_s: float = 6.0
    watch_sigma: float = 0.6
    min_watch_wall_s: float = 0.9  # the recorder needs a few hierarchy samples per video
    reaction_wall_s: float = 0.45  # pause between steps of an interaction (humans take ~1 s; scaled, floored)
    p_like: float = 0.25
    p_double_tap: float = 0.5
    p_comment: float = 0.08
    p_share: float = 0.06
    p_miss: float = 0.08
    p_pinch: float = 0.03
    p_popup: float = 0.02
    p_ad: float = 0.04
    p_live: float = 0.02

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name.startswith("p_") and not 0.0 <= value <= 1.0:
                raise ValueError(f"participant.{name} must lie in [0, 1], got {value}")
        if self.videos < 1:
            raise ValueError(f"participant.videos must be >= 1, got {self.videos}")


@dataclass
class View:
    """Ground truth of one screen the participant saw."""

    start: float
    key: str
    kind: str
    position: int
    keywords: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    end: float = 0.0
    # Whether the phone played this video's whole speech (so every key word) before the swipe; None: not known
    # (no audio stream). Videos swiped away earlier cannot have their key words in any transcript.
    words_played: bool | None = None


class ScriptedParticipant:
    """Browses `config.videos` feed videos on `phone` (plus inserted ads and lives), logging a View for each."""

    def __init__(self, phone: VirtualPhone, config: ParticipantConfig, log_path: Path | None = None):
        self.phone, self.config, self.log_path = phone, config, log_path
        self.rng = random.Random(config.seed)
        self.views: list[View] = []
        w, h = phone.size
        self._centre = {name: _centre(hv.box(name, phone.size).bounds) for name in ("like", "comment", "share", "send",
                                                                                   "share_action", "button")}
        self._video_point = (w // 2, int(h * 0.45))

    def _wait(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def _reaction(self) -> float:
        return self.config.reaction_wall_s * self.rng.uniform(0.9, 1.5)

    def _jitter(self, point: tuple[int, int], px: int = 12) -> tuple[int, int]:
        return point[0] + self.rng.randint(-px, px), point[1] + self.rng.randint(-px, px)

    def _open_view(self, start: float) -> None:
        with self.phone.lock:
            meta, _ = self.phone._shown_meta()
            kind = self.phone._screen_kind()
            position = self.phone.observation.position
            step_keywords = []
            if kind == "video":
                step = self.phone.feed.trace.steps[position % len(self.phone.feed.trace.steps)]  # type: ignore[attr-defined]
                step_keywords = list(step.extra.get("keywords", []))
        key = f"{meta.author or ''}\x1f{hv.caption_with_tags(meta)}"
        if self.views:
            self.views[-1].end = start
        self.views.append(View(start, key, kind, position, step_keywords))

    def _act(self, name: str, text: str | None = None) -> None:
        view = self.views[-1]
        view.actions.append({"name": name, "text": text, "at_s": round(time.monotonic() - view.start, 3)})

    def run(self) -> list[View]:
        """Browse until `config.videos` feed videos were seen; returns (and logs) the ground truth."""
        self._open_view(time.monotonic())
        while sum(v.kind == "video" for v in self.views) < self.config.videos or self.views[-1].kind != "video":
            self._watch_one()
            if sum(v.kind == "video" for v in self.views) >= self.config.videos and self.views[-1].kind == "video":
                break
            self._swipe_next()
        self.views[-1].end = time.monotonic()
        self._mark_played()
        if self.log_path is not None:
            self.log_path.write_text("".join(json.dumps(asdict(v), ensure_ascii=False) + "\n" for v in self.views),
                                     encoding="utf-8")
        return self.views

    def _mark_played(self) -> None:
        """Fill each video view's `words_played` from the phone's log of speech played (when it has audio)."""
        time.sleep(0.1)  # the audio loop logs the last 20 ms chunk it played before the swipe
        spoken = dict(self.phone.spoken)
        if not spoken:
            return
        for view in self.views:
            if view.kind == "video" and view.keywords:
                played, length = spoken.get(f"video:{view.position}", (0.0, 0.0))
                view.words_played = length > 0 and played >= length

    def _watch_one(self) -> None:
        c = self.config
        view = self.views[-1]
        watch = math.exp(math.log(c.watch_median_s) + c.watch_sigma * self.rng.gauss(0, 1)) / self.phone.time_scale
        deadline = view.start + max(c.min_watch_wall_s, watch)
        self._wait(self.rng.uniform(0.25, 0.45) * (deadline - view.start))
        if view.kind == "video":
            self._interact()
        elif self.rng.random() < c.p_miss:
            self.phone.tap(*self._jitter(self._video_point))
        self._wait(deadline - time.monotonic())

    def _interact(self) -> None:
        c, rng = self.config, self.rng
        if rng.random() < c.p_popup:
            self.phone.inject("popup")
            self._wait(self._reaction())
            self.phone.tap(*self._jitter(self._centre["button"], 8))
            self._wait(self._reaction())
        if rng.random() < c.p_miss:  # a tap just left of the like button: the video pauses, nothing else
            like = hv.box("like", self.phone.size).bounds
            self.phone.tap(like[0] - rng.randint(8, 30), _centre(like)[1])
            self._wait(self._reaction())
        if rng.random() < c.p_pinch:
            x, y = self._video_point
            self.phone.touch.multi_gesture([[(x - 60, y), (x - 200, y)], [(x + 60, y), (x + 200, y)]], 0.25)
            self._wait(self._reaction())
        if rng.random() < c.p_like:
            self._like()
        if rng.random() < c.p_comment:
            self._comment()
        if rng.random() < c.p_share:
            self._share()

    def _like(self) -> None:
        if self.rng.random() < self.config.p_double_tap:
            x, y = self._jitter(self._video_point, 40)
            self.phone.tap(x, y, hold_ms=self.rng.randint(50, 90))
            self._wait(self.rng.uniform(0.12, 0.22))
            self.phone.tap(x + self.rng.randint(-15, 15), y + self.rng.randint(-15, 15), hold_ms=self.rng.randint(50, 90))
        else:
            self.phone.tap(*self._jitter(self._centre["like"]))
        self._act("like")
        self._wait(self._reaction())

    def _comment(self) -> None:
        text = f"{self.rng.choice(COMMENTS)} {self.rng.randint(1, 99)}"
        self.phone.tap(*self._jitter(self._centre["comment"]))
        self._wait(self._reaction())
        self.phone.type_text(text)
        self._wait(self._reaction() * 1.5)
        self.phone.tap(*self._jitter(self._centre["send"], 8))
        self._act("comment", text)
        self._wait(self._reaction())

    def _share(self) -> None:
        self.phone.tap(*self._jitter(self._centre["share"]))
        self._wait(self._reaction())
        self.phone.tap(*self._jitter(self._centre["share_action"], 8))
        self._act("share")
        self._wait(self._reaction())

    def _swipe_next(self) -> None:
        w, h = self.phone.size
        fx, fy = self._jitter((w // 2, int(h * 0.78)), 30)
        ty = int(h * self.rng.uniform(0.18, 0.32))
        duration = self.rng.uniform(0.12, 0.3)
        with self.phone.lock:  # the switch and an inserted ad happen together, as the app shows them
            switched = time.monotonic()
            self.phone.swipe(fx, fy, fx + self.rng.randint(-40, 40), ty, duration_s=duration)
            roll = self.rng.random()
            if roll < self.config.p_ad:
                self.phone.inject("ad")
            elif roll < self.config.p_ad + self.config.p_live:
                self.phone.inject("live")
            self._open_view(switched)


def _centre(bounds: tuple[int, int, int, int]) -> tuple[int, int]:
    return (bounds[0] + bounds[2]) // 2, (bounds[1] + bounds[3]) // 2


def read_views(path: Path) -> list[View]:
    """Ground truth written by a participant run."""
    return [View(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
