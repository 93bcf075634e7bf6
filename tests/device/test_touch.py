"""The device-side touch stream: `getevent` lines of the virtual panel through the shared protocol-B parser."""

from __future__ import annotations

import pytest

from device.virtual.touch import TouchScreen, describe_axes
from recorder.capture.getevent import GeteventError, parse_axes, parse_contacts, parse_touches

SIZE = (1080, 2400)


def lines_of(screen: TouchScreen, gesture) -> list[str]:
    """The getevent lines the virtual panel emits for one gesture."""
    q = screen.listen()
    gesture()
    return [q.get_nowait() for _ in range(q.qsize())]


def test_axes_from_getevent_lp():
    axes = parse_axes(describe_axes(), SIZE)
    assert (axes.x, axes.y, axes.slots, axes.device) == ((0, 4095), (0, 9599), 10, "/dev/input/event3")
    with pytest.raises(GeteventError, match="multi-touch"):
        parse_axes("add device 1: /dev/input/event0\n  name: \"gpio-keys\"\n", SIZE)


def test_swipe_round_trips_through_getevent_lines():
    screen = TouchScreen(SIZE)
    lines = lines_of(screen, lambda: screen.gesture([(540, 1800), (540, 600)], 0.2, steps=4))
    events = list(parse_touches(lines, parse_axes(describe_axes(), SIZE)))
    assert [e.kind for e in events] == ["down", "move", "move", "move", "move", "up"]
    assert {e.slot for e in events} == {0}
    assert (events[0].x, events[0].y) == (540, 1800) and (events[-2].x, events[-2].y) == (540, 600)
    assert events[-1].t_s >= events[0].t_s


def test_second_finger_does_not_corrupt_the_first_fingers_swipe():
    # Slot 0 swipes up while slot 1 pinches outwards in the same SYN_REPORT frames. A single-finger parser folds
    # slot 1's positions into the swipe; protocol B keeps each finger in its slot.
    screen = TouchScreen(SIZE)
    swipe, pinch = [(540, 1800), (540, 600)], [(700, 1200), (1000, 1200)]
    lines = lines_of(screen, lambda: screen.multi_gesture([swipe, pinch], 0.25, steps=4))
    axes = parse_axes(describe_axes(), SIZE)
    events = list(parse_touches(lines, axes))
    first = [e for e in events if e.slot == 0]
    second = [e for e in events if e.slot == 1]
    assert [e.kind for e in first] == ["down", "move", "move", "move", "move", "up"] == [e.kind for e in second]
    assert all(e.x == 540 for e in first) and [e.y for e in first[:-1]] == [1800, 1500, 1200, 900, 600]
    assert all(e.y == 1200 for e in second) and [e.x for e in second[:-1]] == [700, 775, 850, 925, 1000]
    # The live events and the recorder's finished contacts are one parse: the same path per finger.
    contacts = {c.slot: c for c in parse_contacts(lines, axes)}
    for slot, moves in ((0, first), (1, second)):
        path = [(e.t_s, e.x, e.y) for e in moves[:-1]]
        assert [(p.t_s, p.x, p.y) for p in contacts[slot].points][:len(path)] == path
        assert contacts[slot].complete and contacts[slot].end.t_s == moves[-1].t_s
