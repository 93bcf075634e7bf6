"""Read `getevent -lp` axis ranges and `getevent -lt` lines back into touches in screen pixels."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from recorder.capture.getevent import parse_axes as parse_panel

_LINE_RE = re.compile(r"^\[\s*(\d+\.\d+)\]\s+(\S+):\s+(EV_\w+)\s+(\w+)\s+(\S+)")


@dataclass(frozen=True)
class TouchEvent:
    """One finger change: down, move or up, at `t_s` (device uptime) and (x, y) in screen pixels."""

    t_s: float
    kind: str
    x: int
    y: int


def parse_axes(text: str) -> dict[str, tuple[int, int]]:
    """Axis ranges (min, max) of the multi-touch panel from `getevent -lp` (parsed by recorder.capture.getevent)."""
    axes = parse_panel(text, (1, 1))  # the size does not matter for the ranges
    return {"ABS_MT_POSITION_X": axes.x, "ABS_MT_POSITION_Y": axes.y}


def parse_touches(lines: Iterable[str], axes: dict[str, tuple[int, int]], size: tuple[int, int]) -> Iterator[TouchEvent]:
    """Fold `getevent -lt` lines (protocol B, slot 0) into down/move/up events at each SYN_REPORT."""
    x = y = 0
    state, changed = "up", None
    for line in lines:
        m = _LINE_RE.match(line.strip())
        if not m:
            continue
        t, _, kind, code, value = m.groups()
        if code in axes:
            lo, hi = axes[code]
            scale = size[0] - 1 if code.endswith("X") else size[1] - 1
            pixel = round((int(value, 16) - lo) * scale / max(1, hi - lo))
            x, y = (pixel, y) if code.endswith("X") else (x, pixel)
            changed = changed or "move"
        elif code == "ABS_MT_TRACKING_ID":
            changed = "up" if value == "ffffffff" else "down"
        elif code == "SYN_REPORT" and changed:
            kind_out = changed if changed != "move" or state != "up" else "down"
            state = "up" if kind_out == "up" else "down"
            yield TouchEvent(float(t), kind_out, x, y)
            changed = None
