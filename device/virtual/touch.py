"""The virtual touchscreen: the `getevent` lines a real multi-touch panel (protocol B) emits for each gesture."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence

DEVICE_PATH = "/dev/input/event3"
AXIS_MAX = {"ABS_MT_POSITION_X": 4095, "ABS_MT_POSITION_Y": 9599}  # panels report their own resolution, not pixels


def describe_axes(name: str = "fts_ts") -> str:
    """What `getevent -lp` prints for this panel."""
    rows = [("ABS_MT_SLOT", 9), ("ABS_MT_TOUCH_MAJOR", 255), ("ABS_MT_POSITION_X", AXIS_MAX["ABS_MT_POSITION_X"]),
            ("ABS_MT_POSITION_Y", AXIS_MAX["ABS_MT_POSITION_Y"]), ("ABS_MT_TRACKING_ID", 65535), ("ABS_MT_PRESSURE", 255)]
    lines = ["add device 1: /dev/input/event0", '  name:     "gpio-keys"', "  events:",
             "    KEY (0001): KEY_VOLUMEDOWN KEY_VOLUMEUP KEY_POWER", f"add device 2: {DEVICE_PATH}",
             f'  name:     "{name}"', "  events:", "    KEY (0001): BTN_TOOL_FINGER BTN_TOUCH"]
    for i, (axis, top) in enumerate(rows):
        prefix = "    ABS (0003): " if i == 0 else " " * 16
        lines.append(f"{prefix}{axis:<21} : value 0, min 0, max {top}, fuzz 0, flat 0, resolution 0")
    lines += ["  input props:", "    INPUT_PROP_DIRECT"]
    return "\n".join(lines) + "\n"


class TouchScreen:
    """Turns gestures into timestamped getevent lines and hands them to every `getevent -lt` listener."""

    def __init__(self, size: tuple[int, int]):
        self.size = size
        self._listeners: list[queue.Queue[str]] = []
        self._lock = threading.Lock()
        self._tracking_id = 0
        self._origin = time.monotonic() - 51_234.0  # a plausible uptime

    def listen(self) -> queue.Queue[str]:
        """A queue that receives every line from now on; pass it to `forget` when done."""
        q: queue.Queue[str] = queue.Queue(maxsize=10_000)
        with self._lock:
            self._listeners.append(q)
        return q

    def forget(self, q: queue.Queue[str]) -> None:
        """Stop feeding a listener."""
        with self._lock:
            if q in self._listeners:
                self._listeners.remove(q)

    def _raw(self, x: int, y: int) -> tuple[int, int]:
        w, h = self.size
        return (round(x * AXIS_MAX["ABS_MT_POSITION_X"] / (w - 1)), round(y * AXIS_MAX["ABS_MT_POSITION_Y"] / (h - 1)))

    def _line(self, t: float, kind: str, code: str, value: str) -> str:
        return f"[{t:>14.6f}] {DEVICE_PATH}: {kind:<12} {code:<20} {value}"

    def _frame(self, t: float, events: Sequence[tuple[str, str, str]]) -> list[str]:
        return [self._line(t, *e) for e in events] + [self._line(t, "EV_SYN", "SYN_REPORT", "00000000")]

    def gesture(self, points: Sequence[tuple[int, int]], duration_s: float, steps: int = 6) -> None:
        """One finger (slot 0): down at the first point, moves along the path, up at the end; the lift is now."""
        self.multi_gesture([points], duration_s, steps)

    def multi_gesture(self, paths: Sequence[Sequence[tuple[int, int]]], duration_s: float, steps: int = 6) -> None:
        """Fingers in slots 0..n-1 moving together (protocol B: one SYN_REPORT frame per moment, slots inside).

        The gesture is stamped as ending now: the phone reacts to a tap or swipe when the finger lifts.
        """
        with self._lock:
            if not self._listeners:
                return
            ids = []
            for _ in paths:
                self._tracking_id = (self._tracking_id + 1) % 65535
                ids.append(self._tracking_id)
            listeners = list(self._listeners)
        t0 = time.monotonic() - self._origin - duration_s
        routes = [_interpolate(p, steps if len(p) > 1 else 1) for p in paths]
        frames = max(len(r) for r in routes)
        lines: list[str] = []
        for i in range(frames):
            t = t0 + duration_s * i / max(1, frames - 1)
            events: list[tuple[str, str, str]] = []
            for slot, route in enumerate(routes):
                rx, ry = self._raw(*route[min(i, len(route) - 1)])
                if len(routes) > 1 or i == 0:
                    events.append(("EV_ABS", "ABS_MT_SLOT", f"{slot:08x}"))
                if i == 0:
                    events.append(("EV_ABS", "ABS_MT_TRACKING_ID", f"{ids[slot]:08x}"))
                events += [("EV_ABS", "ABS_MT_POSITION_X", f"{rx:08x}"), ("EV_ABS", "ABS_MT_POSITION_Y", f"{ry:08x}")]
                if i == 0:
                    events.append(("EV_ABS", "ABS_MT_PRESSURE", "0000003c"))
            if i == 0:
                events.append(("EV_KEY", "BTN_TOUCH", "DOWN"))
            lines += self._frame(t, events)
        lift: list[tuple[str, str, str]] = []
        for slot in range(len(routes)):
            lift += [("EV_ABS", "ABS_MT_SLOT", f"{slot:08x}"), ("EV_ABS", "ABS_MT_TRACKING_ID", "ffffffff")]
        lines += self._frame(t0 + duration_s, lift + [("EV_KEY", "BTN_TOUCH", "UP")])
        for q in listeners:
            for line in lines:
                try:
                    q.put_nowait(line)
                except queue.Full:  # a listener that stopped reading loses lines rather than stalling the phone
                    break


def _interpolate(points: Sequence[tuple[int, int]], steps: int) -> list[tuple[int, int]]:
    if len(points) == 1:
        return [points[0]]
    (fx, fy), (tx, ty) = points[0], points[-1]
    return [(round(fx + (tx - fx) * i / steps), round(fy + (ty - fy) * i / steps)) for i in range(steps + 1)]
