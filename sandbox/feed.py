"""SandboxFeed: a fresh sandbox account driven from outside through the Feed protocol, on a virtual clock."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from recorder.feed import Clock, FeedError, Observation, VirtualClock
from recorder.store import TraceWriter
from recorder.trace import Action, Category, Step, TraceHeader, VideoMeta
from sandbox.platform import Platform, add_external_account
from sandbox.users import Responses

FRAME_SIZE = (360, 640)  # width, height of a portrait phone frame


def render_frame(platform: Platform, item: int, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """A key frame drawn with OpenCV: the genre colour, title, author and category, deterministic per item."""
    width, height = size
    cat = platform.catalogue
    record = cat.item(item)
    colour = np.array(cat.taxonomy.colour(record.category), np.float32)
    shade = np.linspace(1.0, 0.45, height, dtype=np.float32)[:, None, None]
    frame = np.broadcast_to(colour * shade, (height, width, 3)).astype(np.uint8).copy()
    rng = np.random.default_rng(item)  # decoration varies per item but never between renders
    for _ in range(3):
        centre = (int(rng.integers(width)), int(rng.integers(height // 4, 3 * height // 4)))
        cv2.circle(frame, centre, int(rng.integers(20, 80)), (255, 255, 255), 2, cv2.LINE_AA)
    lines = textwrap.wrap(_ascii(record.title), 22)[:4]
    for i, line in enumerate(lines):
        cv2.putText(frame, line, (16, height - 150 + 26 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.65, (255, 255, 255), 2,
                    cv2.LINE_AA)
    cv2.putText(frame, f"@creator{record.creator:04d}", (16, height - 40), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                (230, 230, 230), 1, cv2.LINE_AA)
    cv2.putText(frame, " / ".join(record.category), (16, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1,
                cv2.LINE_AA)
    return frame


def _ascii(text: str) -> str:
    """OpenCV's Hershey fonts draw ASCII only."""
    return text.encode("ascii", "replace").decode("ascii")


@dataclass
class _Shown:
    item: int
    watch_s: float = 0.0
    liked: bool = False
    comments: list[str] = field(default_factory=list)
    shared: bool = False


class SandboxFeed:
    """The Feed protocol over a sandbox account; every video ends up in the platform's interaction log."""

    def __init__(self, platform: Platform, account: str = "audit", clock: Clock | None = None, slate_size: int = 5,
                 advance_every: int = 0, click_watch_s: float = 5.0):
        self.platform = platform
        self.account = account
        self.user = add_external_account(platform)
        platform.external[account] = self.user
        self.clock = clock or VirtualClock()
        self.slate_size, self.advance_every, self.click_watch_s = slate_size, advance_every, click_watch_s
        self.position = 0
        self._queue: list[int] = []
        self._shown = _Shown(self._next_item())
        self._shown_at = self.clock.now()

    def _next_item(self) -> int:
        if not self._queue:
            self._queue = self._fetch()
        return self._queue.pop(0)

    def _fetch(self) -> list[int]:
        for _ in range(3):  # an exhausted pool refills when the world advances
            slate = self.platform.serve(np.array([self.user]), self.slate_size)[0]
            items = [int(i) for i in slate if i >= 0]
            if items:
                return items
            self.platform.run_step()
        raise FeedError(f"sandbox account {self.account!r}: no unseen videos left even after advancing the world")

    def current(self) -> Observation:
        """The video on screen: metadata, category, a rendered key frame and a transcript."""
        item = self.platform.catalogue.item(self._shown.item)
        meta = VideoMeta(video_id=f"sbx-{item.item_id}", author=f"creator{item.creator:04d}",
                         caption=f"{item.title} " + " ".join(f"#{t}" for t in item.tags), hashtags=item.tags,
                         like_count=int(self.platform.catalogue.clicks[item.item_id]),
                         duration_s=round(item.duration_s, 2))
        return Observation(self.position, self._shown_at, meta, Category(item.category, "platform", 1.0),
                           transcript(item.title, item.description, item.tags),
                           render_frame(self.platform, item.item_id), self._shown.liked)

    def watch(self, seconds: float) -> None:
        """Stay on the video for `seconds` of virtual time."""
        self.clock.sleep(seconds)
        self._shown.watch_s += seconds

    def like(self) -> bool:
        """Like the current video."""
        self._shown.liked = True
        return True

    def comment(self, text: str) -> bool:
        """Comment on the current video."""
        if not text.strip():
            raise FeedError("a comment needs text")
        self._shown.comments.append(text)
        return True

    def share(self) -> bool:
        """Share the current video."""
        self._shown.shared = True
        return True

    def next(self) -> Observation:
        """Log what was done to the current video, then show the next one."""
        self._log_current()
        self.position += 1
        if self.advance_every and self.position % self.advance_every == 0:
            self.platform.run_step()
        self._shown = _Shown(self._next_item())
        self._shown_at = self.clock.now()
        return self.current()

    def _log_current(self) -> None:
        s = self._shown
        duration = float(self.platform.catalogue.duration[s.item])
        clicked = s.liked or s.watch_s >= min(self.click_watch_s, 0.5 * duration)
        r = Responses(*(np.array([[v]]) for v in (True, np.float32(s.watch_s), clicked, s.liked, bool(s.comments),
                                                      s.shared)))
        self.platform.record(np.array([self.user]), np.array([[s.item]]), r)

    def close(self) -> None:
        """Log the last video."""
        self._log_current()


def transcript(title: str, description: str, tags: tuple[str, ...]) -> str:
    """What the video 'says': its title, description and tags as speech."""
    spoken = f"{title}. {description}".strip()
    return f"{spoken} {' '.join(tags)}".strip()


@dataclass(frozen=True)
class ViewDecision:
    """What an outside viewer does with one video."""

    watch_s: float
    like: bool = False
    comment: str | None = None
    share: bool = False


def record_session(feed: SandboxFeed, viewer: Callable[[Observation], ViewDecision], videos: int, folder: Path,
                   trace_id: str, started_at: datetime | None = None) -> Path:
    """Drive the feed for `videos` videos with `viewer` and write them as a Trace (recorded_by='sandbox')."""
    header = TraceHeader(trace_id, "sandbox", "sandbox", started_at or feed.clock.now(), persona_id=feed.account,
                         extra={"recommender": feed.platform.pipeline.name, "seed": feed.platform.config.seed})
    with TraceWriter.create(folder, header) as writer:
        obs = feed.current()
        for index in range(videos):
            decision = viewer(obs)
            actions = _act(feed, decision)
            frame = writer.add_file(cv2.imencode(".png", obs.frame)[1].tobytes(), "frame", f"{index:05d}.png")
            writer.append(Step(index, obs.shown_at, decision.watch_s, actions, obs.meta, obs.category, obs.transcript,
                               (frame,), extra={"item": obs.meta.video_id}))
            obs = feed.next() if index + 1 < videos else obs
        feed.close()
        writer.update_header(ended_at=feed.clock.now())
    return Path(folder)


def _act(feed: SandboxFeed, decision: ViewDecision) -> tuple[Action, ...]:
    actions: list[Action] = []
    feed.watch(decision.watch_s)
    if decision.like and feed.like():
        actions.append(Action("like", at_s=decision.watch_s))
    if decision.comment and feed.comment(decision.comment):
        actions.append(Action("comment", text=decision.comment, at_s=decision.watch_s))
    if decision.share and feed.share():
        actions.append(Action("share", at_s=decision.watch_s))
    return actions


def genre_viewer(favourites: set[str], rng: np.random.Generator) -> Callable[[Observation], ViewDecision]:
    """A simple outside viewer: long watches and likes on favourite top-level categories, quick skips otherwise."""

    def decide(obs: Observation) -> ViewDecision:
        fav = obs.category is not None and obs.category.top in favourites
        watch = float(rng.lognormal(np.log(12.0 if fav else 1.5), 0.6))
        return ViewDecision(round(watch, 2), like=fav and rng.random() < 0.3)

    return decide
