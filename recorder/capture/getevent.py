"""Parse `getevent -lp` / `getevent -lt` text: axis ranges and multi-touch protocol B (slots) into finger contacts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from recorder.errors import PersonaActError

AXIS_X, AXIS_Y = "ABS_MT_POSITION_X", "ABS_MT_POSITION_Y"
_AXIS_RE = re.compile(r"(ABS_MT_POSITION_[XY]|ABS_MT_SLOT)\s*:\s*value -?\d+, min (-?\d+), max (-?\d+)")
_DEVICE_RE = re.compile(r"^add device \d+:\s*(\S+)")
# `[   51234.567890] /dev/input/event3: EV_ABS       ABS_MT_POSITION_X    00000438`; the device path is absent
# when getevent watches a single device.
_LINE_RE = re.compile(r"^\[\s*(\d+\.\d+)\]\s+(?:(/dev/\S+):\s+)?(EV_\w+|[0-9a-f]{4})\s+(\w+)\s+(\S+)\s*$")
RELEASED = 0xFFFFFFFF  # ABS_MT_TRACKING_ID -1: the finger in this slot lifted


class GeteventError(PersonaActError, ValueError):
    """`getevent` output the recorder cannot use; the message says what to check on the phone."""


@dataclass(frozen=True)
class TouchAxes:
    """The touch panel's raw coordinate ranges and the screen size they map onto."""

    x: tuple[int, int]
    y: tuple[int, int]
    size: tuple[int, int]
    device: str | None = None
    slots: int = 1

    def __post_init__(self) -> None:
        for name in ("x", "y"):
            lo, hi = getattr(self, name)
            if hi <= lo:
                raise GeteventError(f"touch axis {name}: max {hi} must exceed min {lo} (from `getevent -lp`)")
        if min(self.size) <= 0:
            raise GeteventError(f"screen size must be positive, got {self.size}")

    def to_pixels(self, raw_x: int, raw_y: int) -> tuple[int, int]:
        """Scale raw panel coordinates to screen pixels (panels report their own resolution)."""
        (xl, xh), (yl, yh) = self.x, self.y
        w, h = self.size
        return round((raw_x - xl) * (w - 1) / (xh - xl)), round((raw_y - yl) * (h - 1) / (yh - yl))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (stored in the capture header)."""
        return {"x": list(self.x), "y": list(self.y), "size": list(self.size), "device": self.device, "slots": self.slots}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TouchAxes:
        """Inverse of `to_dict`."""
        return cls(tuple(data["x"]), tuple(data["y"]), tuple(data["size"]), data.get("device"),  # type: ignore[arg-type]
                   int(data.get("slots", 1)))  # type: ignore[call-overload]


def parse_axes(text: str, size: tuple[int, int]) -> TouchAxes:
    """The multi-touch panel in `getevent -lp` output (the first device with both position axes)."""
    device: str | None = None
    found: dict[str, dict[str, tuple[int, int]]] = {}
    for line in text.splitlines():
        header = _DEVICE_RE.match(line.strip())
        if header:
            device = header.group(1)
            continue
        for match in _AXIS_RE.finditer(line):
            found.setdefault(device or "", {})[match.group(1)] = (int(match.group(2)), int(match.group(3)))
    for path, axes in found.items():
        if AXIS_X in axes and AXIS_Y in axes:
            slots = axes.get("ABS_MT_SLOT", (0, 0))[1] + 1
            return TouchAxes(axes[AXIS_X], axes[AXIS_Y], size, path or None, slots)
    raise GeteventError("`getevent -lp` shows no multi-touch panel (ABS_MT_POSITION_X/Y); unlock the phone and "
                        "check USB debugging is allowed (some phones also need 'USB debugging (Security settings)')")


@dataclass(frozen=True)
class RawEvent:
    """One `getevent -lt` line: device uptime, device path, type, code and value."""

    t_s: float
    device: str | None
    type: str
    code: str
    value: str


def parse_line(line: str) -> RawEvent | None:
    """One labelled getevent line, or None for anything else (headers, blank lines, a torn last line)."""
    match = _LINE_RE.match(line.strip())
    if not match:
        return None
    t, device, kind, code, value = match.groups()
    return RawEvent(float(t), device, kind, code, value)


@dataclass(frozen=True)
class TouchPoint:
    """Where one finger was at a moment (seconds on the device's uptime clock, pixels)."""

    t_s: float
    x: int
    y: int


@dataclass(frozen=True)
class Contact:
    """One finger from touch-down to lift: its slot, tracking id and path; `complete` is False if it never lifted."""

    slot: int
    tracking_id: int
    points: tuple[TouchPoint, ...]
    complete: bool = True

    @property
    def start(self) -> TouchPoint:
        """Where and when the finger went down."""
        return self.points[0]

    @property
    def end(self) -> TouchPoint:
        """Where and when it lifted (or was last seen)."""
        return self.points[-1]

    @property
    def duration_s(self) -> float:
        """Time the finger was down."""
        return self.end.t_s - self.start.t_s


@dataclass(frozen=True)
class TouchEvent:
    """One finger change as it happens: down, move or up of the finger in `slot`, at `t_s` (device uptime), pixels."""

    t_s: float
    kind: str
    x: int
    y: int
    slot: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("down", "move", "up"):
            raise ValueError(f"TouchEvent.kind must be down, move or up, got {self.kind!r}")


@dataclass
class _Slot:
    tracking_id: int | None = None
    released_id: int | None = None
    x: int | None = None
    y: int | None = None
    points: list[TouchPoint] = field(default_factory=list)
    dirty: bool = False


class MultiTouchParser:
    """Protocol B state machine: slots, tracking ids and SYN_REPORT frames; feed lines, collect finished contacts."""

    def __init__(self, axes: TouchAxes, keep_events: bool = False):
        self.axes = axes
        self._slots: dict[int, _Slot] = {}
        self._current = 0
        self._ended: list[Contact] = []
        # Per-finger changes for live streams (`feed_events`); off when only finished contacts are wanted.
        self._keep_events = keep_events
        self._events: list[TouchEvent] = []
        self._dropping = False
        self.lines = 0
        self.dropped_frames = 0

    def _slot(self) -> _Slot:
        return self._slots.setdefault(self._current, _Slot())

    def feed(self, line: str) -> list[Contact]:
        """Consume one line; return the contacts whose finger lifted at this line's SYN_REPORT."""
        event = parse_line(line)
        if event is None or (self.axes.device and event.device and event.device != self.axes.device):
            return []
        self.lines += 1
        if event.code == "SYN_DROPPED":  # the kernel buffer overflowed: discard until the next SYN_REPORT
            self._dropping, self.dropped_frames = True, self.dropped_frames + 1
            return []
        if event.code == "SYN_REPORT":
            return self._report(event.t_s)
        if self._dropping:
            return []
        self._event(event)
        return []

    def feed_events(self, line: str) -> list[TouchEvent]:
        """Consume one line; return the per-finger changes (down, move, up) its SYN_REPORT completed."""
        if not self._keep_events:
            raise ValueError("MultiTouchParser(keep_events=True) is needed for feed_events")
        self.feed(line)
        events, self._events = self._events, []
        return events

    def _emit(self, t_s: float, kind: str, slot: int, point: TouchPoint) -> None:
        if self._keep_events:
            self._events.append(TouchEvent(t_s, kind, point.x, point.y, slot))

    def _event(self, event: RawEvent) -> None:
        value = int(event.value, 16) if re.fullmatch(r"[0-9a-fA-F]+", event.value) else 0
        if event.code == "ABS_MT_SLOT":
            self._current = value
        elif event.code == "ABS_MT_TRACKING_ID":
            slot = self._slot()
            if value == RELEASED:
                slot.released_id, slot.tracking_id = slot.tracking_id, None
            else:
                if slot.points:  # a new finger in a slot whose lift we never saw
                    self._ended.append(Contact(self._current, slot.tracking_id or -1, tuple(slot.points), False))
                    self._emit(event.t_s, "up", self._current, slot.points[-1])
                self._slots[self._current] = _Slot(tracking_id=value, x=slot.x, y=slot.y)
            self._slot().dirty = True
        elif event.code in (AXIS_X, AXIS_Y):
            slot = self._slot()
            if event.code == AXIS_X:
                slot.x = value
            else:
                slot.y = value
            slot.dirty = True

    def _report(self, t_s: float) -> list[Contact]:
        if self._dropping:
            self._dropping = False
            return []
        for number, slot in list(self._slots.items()):
            if not slot.dirty:
                continue
            slot.dirty = False
            if slot.tracking_id is None:
                if slot.points:
                    self._ended.append(_lifted(number, slot, t_s))
                    self._emit(t_s, "up", number, slot.points[-1])
                self._slots[number] = _Slot(x=slot.x, y=slot.y)
            elif slot.x is not None and slot.y is not None:
                slot.points.append(TouchPoint(t_s, *self.axes.to_pixels(slot.x, slot.y)))
                self._emit(t_s, "down" if len(slot.points) == 1 else "move", number, slot.points[-1])
        ended, self._ended = self._ended, []
        return ended

    def finish(self) -> list[Contact]:
        """Contacts still down when the stream ended (marked incomplete)."""
        left = [Contact(n, s.tracking_id or -1, tuple(s.points), False) for n, s in self._slots.items() if s.points]
        self._slots = {}
        return left


def _lifted(number: int, slot: _Slot, t_s: float) -> Contact:
    last = slot.points[-1]
    points = tuple(slot.points) + ((TouchPoint(t_s, last.x, last.y),) if t_s > last.t_s else ())
    return Contact(number, slot.released_id if slot.released_id is not None else -1, points, True)


def parse_contacts(lines: Iterable[str], axes: TouchAxes) -> Iterator[Contact]:
    """All finger contacts in a stream of `getevent -lt` lines, in lift order (unfinished ones last)."""
    parser = MultiTouchParser(axes)
    for line in lines:
        yield from parser.feed(line)
    yield from parser.finish()


def parse_touches(lines: Iterable[str], axes: TouchAxes) -> Iterator[TouchEvent]:
    """Per-finger down/move/up changes in a stream of `getevent -lt` lines, as each SYN_REPORT completes them."""
    parser = MultiTouchParser(axes, keep_events=True)
    for line in lines:
        yield from parser.feed_events(line)
