"""The Device interface every phone driver implements, what a preflight reports, and the errors callers recover from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from recorder.capture.getevent import TouchAxes, TouchEvent
from recorder.errors import PersonaActError


class DeviceError(RuntimeError, PersonaActError):
    """The phone did not do what was asked; the message says what to do."""


class DeviceDisconnected(DeviceError):
    """The phone went away (cable, adb restart); reconnect with backoff and carry on."""


class HierarchyTimeout(DeviceError):
    """Every hierarchy dump attempt timed out (uiautomator waiting for idle on a playing video)."""


class PreflightError(DeviceError):
    """The phone is not ready for a run (locked, screen off, app missing...)."""


@dataclass(frozen=True)
class Preflight:
    """What a phone reported before a run."""

    serial: str
    sdk: int
    width: int
    height: int
    density: int
    screen_on: bool
    unlocked: bool
    package: str
    app_version: str | None
    touch_axes: TouchAxes  # the multi-touch panel's ranges, scaled onto width x height

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"screen size must be positive, got {self.width}x{self.height}")


@runtime_checkable
class Device(Protocol):
    """A phone the toolkit can drive."""

    serial: str

    def connect(self) -> None:
        """Attach to the phone (and start its UI automation service)."""
        ...

    def preflight(self, package: str) -> Preflight:
        """Check the phone is ready to run `package`; raise PreflightError saying what to fix."""
        ...

    def app_start(self, package: str, activity: str | None = None) -> None:
        """Launch an app."""
        ...

    def app_stop(self, package: str) -> None:
        """Force-stop an app."""
        ...

    def app_current(self) -> tuple[str, str]:
        """(package, activity) in front."""
        ...

    def screenshot(self) -> Any:
        """The screen as an OpenCV BGR image."""
        ...

    def hierarchy(self) -> str:
        """The UI hierarchy XML (with a timeout and bounded retries)."""
        ...

    def tap(self, x: int, y: int) -> None:
        """Tap a point."""
        ...

    def double_tap(self, x: int, y: int) -> None:
        """Tap a point twice quickly."""
        ...

    def long_press(self, x: int, y: int, seconds: float = 0.8) -> None:
        """Press and hold a point."""
        ...

    def swipe(self, fx: int, fy: int, tx: int, ty: int, seconds: float = 0.2) -> None:
        """Drag a finger from one point to another."""
        ...

    def back(self) -> None:
        """Press the back key."""
        ...

    def type_text(self, text: str) -> None:
        """Type into the focused field."""
        ...

    def touch_events(self, max_events: int | None = None) -> Iterator[TouchEvent]:
        """Stream the touchscreen's per-finger events (down/move/up with their slot) in screen pixels."""
        ...

    def push(self, local: Path, remote: str) -> int:
        """Copy a file onto the phone; returns its size."""
        ...

    def pull(self, remote: str, local: Path) -> int:
        """Copy a file off the phone; returns its size."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
