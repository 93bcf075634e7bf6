"""getevent parsing: axis ranges and protocol-B frames back to screen pixels."""

from __future__ import annotations

import pytest

from device.touch import parse_axes, parse_touches
from device.virtual.touch import TouchScreen, describe_axes


def test_axes_from_getevent_lp():
    assert parse_axes(describe_axes()) == {"ABS_MT_POSITION_X": (0, 4095), "ABS_MT_POSITION_Y": (0, 9599)}
    with pytest.raises(ValueError, match="multi-touch"):
        parse_axes("add device 1: /dev/input/event0\n  name: \"gpio-keys\"\n")


def test_swipe_round_trips_through_getevent_lines():
    screen = TouchScreen((1080, 2400))
    q = screen.listen()
    screen.gesture([(540, 1800), (540, 600)], 0.2, steps=4)
    lines = [q.get_nowait() for _ in range(q.qsize())]
    events = list(parse_touches(lines, parse_axes(describe_axes()), (1080, 2400)))
    assert [e.kind for e in events] == ["down", "move", "move", "move", "move", "up"]
    assert (events[0].x, events[0].y) == (540, 1800) and (events[-2].x, events[-2].y) == (540, 600)
    assert events[-1].t_s >= events[0].t_s
