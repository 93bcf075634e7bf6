"""The Feed boundary (what a viewer sees and can do) and the clocks feeds run on."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from recorder.errors import PersonaActError
from recorder.trace import Category, Trace, TraceValidationError, VideoMeta

ScreenKind = Literal["video", "ad", "live", "popup", "login_wall"]
SCREEN_KINDS: tuple[str, ...] = ("video", "ad", "live", "popup", "login_wall")


@runtime_checkable
class Clock(Protocol):
    """Tells the time and waits; a virtual clock lets an 800-step audit run in seconds."""

    def now(self) -> datetime:
        """The current (time-zone aware) time on this clock."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass on this clock."""
        ...


class WallClock:
    """Real time."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Block for `seconds` of real time."""
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Time that moves only when someone sleeps: sleeping is instant."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("VirtualClock start must be time-zone aware")

    def now(self) -> datetime:
        """The virtual time."""
        return self._now

    def sleep(self, seconds: float) -> None:
        """Advance the virtual time by `seconds` without waiting."""
        if seconds < 0:
            raise ValueError(f"cannot sleep a negative time ({seconds})")
        self._now += timedelta(seconds=seconds)


class ScaledClock:
    """Real time sped up by `factor`: one wall second is `factor` clock seconds."""

    def __init__(self, factor: float, start: datetime | None = None):
        if factor <= 0:
            raise ValueError(f"time scale factor must be > 0, got {factor}")
        self.factor = factor
        self._start = start or datetime.now(UTC)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        """Start time plus scaled elapsed wall time."""
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self.factor)

    def sleep(self, seconds: float) -> None:
        """Block for `seconds / factor` of wall time."""
        if seconds > 0:
            time.sleep(seconds / self.factor)


@dataclass(frozen=True)
class Observation:
    """What the viewer sees now: the video's metadata and, when the feed can give them, frame and transcript."""

    position: int  # how many videos this feed showed before this one
    shown_at: datetime
    meta: VideoMeta = field(default_factory=VideoMeta)
    category: Category | None = None
    transcript: str | None = None
    frame: Any = None  # an OpenCV BGR image (numpy array), if rendered
    liked: bool = False
    screen: str = "video"  # ads, live rooms, popups and login walls are surfaced, not hidden

    def __post_init__(self) -> None:
        if self.position < 0:
            raise TraceValidationError("position", f"must be >= 0, got {self.position}")
        if self.screen not in SCREEN_KINDS:
            raise TraceValidationError("screen", f"unknown screen {self.screen!r}; known: {', '.join(SCREEN_KINDS)}")


class FeedError(RuntimeError, PersonaActError):
    """The feed could not do what was asked (e.g. the like did not register)."""


@runtime_checkable
class Feed(Protocol):
    """A short-video feed: phones (PhoneFeed) and the sandbox (SandboxFeed) implement this."""

    clock: Clock

    def current(self) -> Observation:
        """The video on screen now."""
        ...

    def watch(self, seconds: float) -> None:
        """Stay on the current video for `seconds`."""
        ...

    def like(self) -> bool:
        """Like the current video; True when the like registered."""
        ...

    def comment(self, text: str) -> bool:
        """Post a comment on the current video; True when it was posted."""
        ...

    def share(self) -> bool:
        """Share the current video; True when it was shared."""
        ...

    def follow(self) -> bool:
        """Follow the current video's author; True when the follow registered."""
        ...

    def not_interested(self) -> bool:
        """Tell the platform "not interested" in the current video (a strong negative signal); True when it took."""
        ...

    def next(self) -> Observation:
        """Move to the next video and return it."""
        ...

    def close(self) -> None:
        """Release whatever the feed holds."""
        ...


class ReplayFeed:
    """A Feed that replays a recorded Trace in order (for tests, dry runs and the demo)."""

    def __init__(self, trace: Trace, folder: Path | None = None, clock: Clock | None = None):
        if not trace.steps:
            raise ValueError(f"trace {trace.header.trace_id} has no steps to replay")
        self.trace = trace
        self.folder = folder
        self.clock = clock or VirtualClock(trace.steps[0].appeared_at)
        self.position = 0
        self.liked: set[int] = set()
        self.events: list[tuple[int, str, Any]] = []  # (position, action, argument)

    def current(self) -> Observation:
        """The recorded step at the current position."""
        step = self.trace.steps[self.position % len(self.trace.steps)]
        screen = "ad" if step.meta.is_ad else "live" if step.meta.is_live else "video"
        return Observation(self.position, self.clock.now(), step.meta, step.category, step.transcript,
                           self._frame(step.frames), self.position in self.liked, screen)

    def _frame(self, frames: tuple[str, ...]) -> Any:
        if not frames or self.folder is None or not (self.folder / frames[0]).is_file():
            return None
        import cv2

        return cv2.imread(str(self.folder / frames[0]))

    def watch(self, seconds: float) -> None:
        """Let `seconds` pass on the clock."""
        self.clock.sleep(seconds)
        self.events.append((self.position, "watch", seconds))

    def like(self) -> bool:
        """Record a like."""
        self.liked.add(self.position)
        self.events.append((self.position, "like", None))
        return True

    def comment(self, text: str) -> bool:
        """Record a comment."""
        self.events.append((self.position, "comment", text))
        return True

    def share(self) -> bool:
        """Record a share."""
        self.events.append((self.position, "share", None))
        return True

    def follow(self) -> bool:
        """Record a follow."""
        self.events.append((self.position, "follow", None))
        return True

    def not_interested(self) -> bool:
        """Record a "not interested"."""
        self.events.append((self.position, "not_interested", None))
        return True

    def next(self) -> Observation:
        """Advance to the next recorded step (wrapping around at the end)."""
        self.position += 1
        self.events.append((self.position, "next", None))
        return self.current()

    def close(self) -> None:
        """Nothing to release."""
