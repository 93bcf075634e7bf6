"""SandboxFeed: a fresh sandbox account driven from outside through the Feed protocol, on a virtual clock."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from personas.policy import Decision, PersonaLike
from recorder.feed import Clock, FeedError, Observation, VirtualClock
from recorder.trace import Category, Step, VideoMeta
from sandbox.platform import Platform
from sandbox.profiles import Knobs
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
    followed: bool = False
    not_interested: bool = False


class SandboxFeed:
    """The Feed protocol over a fresh outside account; every video ends up in the platform's interaction log.

    The account is served batches of `batch_size` videos (default: the config's profile.batch_size); its profile
    is updated after every video, so each batch reflects the engagement with the previous ones. The world (and the
    recommender's retraining schedule) advances one step every `advance_every` videos (0 = never by itself).
    """

    def __init__(self, platform: Platform, account: str = "audit", clock: Clock | None = None,
                 batch_size: int | None = None, advance_every: int = 0, click_watch_s: float = 5.0,
                 knobs: Knobs | None = None):
        if advance_every < 0:
            raise ValueError(f"advance_every must be >= 0, got {advance_every}")
        self.platform = platform
        self.account = account
        self.user = platform.add_account(account, knobs)
        self.clock = clock or VirtualClock()
        self.batch_size = batch_size or platform.config.profile.batch_size
        self.advance_every, self.click_watch_s = advance_every, click_watch_s
        self.position = 0
        self._queue: list[int] = []
        self._shown = _Shown(self._next_item())
        self._shown_at = self.clock.now()

    @property
    def knobs(self) -> Knobs:
        """This account's knobs."""
        return self.platform.profiles.account_knobs(self.user)

    def _next_item(self) -> int:
        if not self._queue:
            self._queue = self._fetch()
        return self._queue.pop(0)

    def _fetch(self) -> list[int]:
        for _ in range(3):  # an exhausted pool refills when the world advances
            slate = self.platform.serve(np.array([self.user]), self.batch_size)[0]
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

    def follow(self) -> bool:
        """Follow the current video's creator (their later videos rank higher for this account)."""
        self._shown.followed = True
        return True

    def not_interested(self) -> bool:
        """Mark the current video "not interested": a strong negative signal for its category."""
        self._shown.not_interested = True
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
        values = (True, np.float32(s.watch_s), clicked, s.liked, bool(s.comments), s.shared, s.followed,
                  s.not_interested)
        self.platform.record(np.array([self.user]), np.array([[s.item]]), Responses(*(np.array([[v]]) for v in values)))

    def close(self) -> None:
        """Log the last video."""
        self._log_current()


def transcript(title: str, description: str, tags: tuple[str, ...]) -> str:
    """What the video 'says': its title, description and tags as speech."""
    spoken = f"{title}. {description}".strip()
    return f"{spoken} {' '.join(tags)}".strip()


class GenreViewer:
    """A Policy: long watches (and sometimes likes) on favourite top-level categories, quick skips otherwise."""

    def __init__(self, favourites: set[str] | frozenset[str], seed: int = 0, like_rate: float = 0.3,
                 long_s: float = 12.0, skip_s: float = 1.5):
        self.favourites = frozenset(favourites)
        self.like_rate, self.long_s, self.skip_s = like_rate, long_s, skip_s
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed: int) -> None:
        """Restart the random stream (the audit runner reseeds per step for exact resumes)."""
        self.rng = np.random.default_rng(seed)

    def act(self, persona: PersonaLike, observation: Observation, history: Sequence[Step]) -> Decision:
        """Watch a favourite long (like with probability like_rate); skip anything else quickly."""
        fav = observation.category is not None and observation.category.top in self.favourites
        watch = float(self.rng.lognormal(np.log(self.long_s if fav else self.skip_s), 0.6))
        return Decision(round(watch, 2), like=bool(fav and self.rng.random() < self.like_rate))


def genre_viewer(favourites: set[str], seed: int = 0) -> GenreViewer:
    """The favourite-category viewer used by the ground-truth checks."""
    return GenreViewer(favourites, seed)
