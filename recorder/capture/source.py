"""The CaptureSource protocol: what a phone (device/) gives the recorder, without the recorder knowing about phones."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from recorder.capture.getevent import TouchAxes

FrameSink = Callable[[float, int, Any], None]  # host seconds, device PTS (us), decoded BGR image


@dataclass(frozen=True)
class SourceInfo:
    """What the phone is: serial, Android SDK level, screen size, touch axes (None without getevent), app version."""

    serial: str
    sdk: int
    size: tuple[int, int]
    axes: TouchAxes | None
    app_version: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class MediaStatus:
    """What the screen/audio stream delivers: codecs, size, version of the streaming server, warnings."""

    video: bool
    audio: bool
    width: int = 0
    height: int = 0
    server: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


@runtime_checkable
class CaptureSource(Protocol):
    """Frames, audio, touch events and hierarchy snapshots from one phone."""

    def describe(self) -> SourceInfo:
        """The phone and its touch panel (raises a PersonaActError subclass saying what to fix)."""
        ...

    def touch_lines(self, stop: threading.Event) -> Iterator[str]:
        """`getevent -lt` lines as they arrive, until `stop` is set or the stream ends."""
        ...

    def hierarchy(self) -> str:
        """One UI hierarchy dump (bounded by a timeout; never two UI automation clients at once)."""
        ...

    def current_activity(self) -> str | None:
        """The activity in front, when cheap to ask (live rooms have their own)."""
        ...

    def start_media(self, path: Path, on_frame: FrameSink, clock: Callable[[], float]) -> MediaStatus:
        """Start recording screen (and audio) into `path`, handing each decoded frame to `on_frame`."""
        ...

    def stop_media(self) -> None:
        """Stop the screen/audio stream and finish the file."""
        ...
