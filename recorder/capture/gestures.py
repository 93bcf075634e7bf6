"""Classify finger contacts into gestures: tap, double tap, long press, swipe (direction, speed), multi-finger."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from recorder.capture.getevent import Contact

GESTURE_KINDS = ("tap", "double_tap", "long_press", "swipe", "multi_touch")
DIRECTIONS = ("up", "down", "left", "right")


@dataclass(frozen=True)
class GestureConfig:
    """Thresholds, in pixels and seconds; Android's ViewConfiguration defaults scaled to a ~440 dpi phone."""

    tap_slop_px: float = 48.0  # movement below this is still a tap (8 dp touch slop at 2.75x, with margin)
    long_press_s: float = 0.5  # ViewConfiguration.getLongPressTimeout
    double_tap_s: float = 0.5  # lift-to-down gap; apps like Douyin accept slower double taps than Android's 0.3 s
    double_tap_slop_px: float = 275.0  # 100 dp between the two taps

    def __post_init__(self) -> None:
        for name in ("tap_slop_px", "long_press_s", "double_tap_s", "double_tap_slop_px"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"gesture.{name} must be a number > 0, got {value!r}")


@dataclass(frozen=True)
class Gesture:
    """One gesture: kind, start and end time (device uptime seconds), start and end point in pixels."""

    kind: str
    start_s: float
    end_s: float
    x: int
    y: int
    end_x: int
    end_y: int
    fingers: int = 1
    complete: bool = True

    def __post_init__(self) -> None:
        if self.kind not in GESTURE_KINDS:
            raise ValueError(f"unknown gesture {self.kind!r}; known: {', '.join(GESTURE_KINDS)}")

    @property
    def distance_px(self) -> float:
        """Straight-line distance from start to end."""
        return math.hypot(self.end_x - self.x, self.end_y - self.y)

    @property
    def direction(self) -> str | None:
        """Where a swipe went: up, down, left or right (the dominant axis); None for other gestures."""
        if self.kind != "swipe":
            return None
        dx, dy = self.end_x - self.x, self.end_y - self.y
        if abs(dy) >= abs(dx):
            return "up" if dy < 0 else "down"
        return "left" if dx < 0 else "right"

    @property
    def speed_px_s(self) -> float:
        """Mean speed of a swipe (0 for stationary gestures)."""
        duration = self.end_s - self.start_s
        return self.distance_px / duration if duration > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"kind": self.kind, "start_s": round(self.start_s, 6), "end_s": round(self.end_s, 6), "x": self.x,
                "y": self.y, "end_x": self.end_x, "end_y": self.end_y, "fingers": self.fingers,
                "direction": self.direction, "speed_px_s": round(self.speed_px_s, 1), "complete": self.complete}


def _single(contact: Contact, config: GestureConfig) -> Gesture:
    start, end = contact.start, contact.end
    moved = max(math.hypot(p.x - start.x, p.y - start.y) for p in contact.points)
    if moved > config.tap_slop_px:
        kind = "swipe"
    elif contact.duration_s >= config.long_press_s:
        kind = "long_press"
    else:
        kind = "tap"
    return Gesture(kind, start.t_s, end.t_s, start.x, start.y, end.x, end.y, 1, contact.complete)


def _groups(contacts: Sequence[Contact]) -> list[list[Contact]]:
    """Contacts whose down-time spans overlap belong to one gesture (two fingers pinching are one gesture)."""
    groups: list[list[Contact]] = []
    group_end = -math.inf
    for contact in sorted(contacts, key=lambda c: c.start.t_s):
        if groups and contact.start.t_s <= group_end:
            groups[-1].append(contact)
            group_end = max(group_end, contact.end.t_s)
        else:
            groups.append([contact])
            group_end = contact.end.t_s
    return groups


def classify(contacts: Iterable[Contact], config: GestureConfig | None = None) -> list[Gesture]:
    """Gestures in time order; two quick taps close together become one double tap."""
    config = config or GestureConfig()
    gestures: list[Gesture] = []
    for group in _groups([c for c in contacts if c.points]):
        if len(group) > 1:
            first, last = group[0], max(group, key=lambda c: c.end.t_s)
            gestures.append(Gesture("multi_touch", first.start.t_s, last.end.t_s, first.start.x, first.start.y,
                                    first.end.x, first.end.y, len(group), all(c.complete for c in group)))
            continue
        gesture = _single(group[0], config)
        previous = gestures[-1] if gestures else None
        if gesture.kind == "tap" and previous is not None and previous.kind == "tap" and _pairs(previous, gesture, config):
            gestures[-1] = Gesture("double_tap", previous.start_s, gesture.end_s, previous.x, previous.y,
                                   gesture.end_x, gesture.end_y, 1, gesture.complete)
        else:
            gestures.append(gesture)
    return gestures


def _pairs(first: Gesture, second: Gesture, config: GestureConfig) -> bool:
    gap = second.start_s - first.end_s
    close = math.hypot(second.x - first.x, second.y - first.y) <= config.double_tap_slop_px
    return 0 <= gap <= config.double_tap_s and close
