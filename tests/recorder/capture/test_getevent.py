"""getevent parsing on recorded-format text: axes, protocol-B slots, single and multi-touch, swipes, double taps."""

from __future__ import annotations

import pytest

from recorder.capture.gestures import GestureConfig, classify
from recorder.capture.getevent import (
    GeteventError,
    MultiTouchParser,
    TouchAxes,
    parse_axes,
    parse_contacts,
    parse_line,
    parse_touches,
)

# `getevent -lp` of a phone with a 1080x2400 screen and a panel reporting 0..4095 x 0..9599 (recorded format).
LP = """add device 1: /dev/input/event2
  name:     "gpio-keys"
  events:
    KEY (0001): KEY_VOLUMEDOWN        KEY_VOLUMEUP          KEY_POWER
  input props:
    <none>
add device 2: /dev/input/event4
  name:     "fts_ts"
  events:
    KEY (0001): BTN_TOUCH
    ABS (0003): ABS_MT_SLOT           : value 0, min 0, max 9, fuzz 0, flat 0, resolution 0
                ABS_MT_TOUCH_MAJOR    : value 0, min 0, max 255, fuzz 0, flat 0, resolution 0
                ABS_MT_POSITION_X     : value 0, min 0, max 4095, fuzz 0, flat 0, resolution 0
                ABS_MT_POSITION_Y     : value 0, min 0, max 9599, fuzz 0, flat 0, resolution 0
                ABS_MT_TRACKING_ID    : value 0, min 0, max 65535, fuzz 0, flat 0, resolution 0
  input props:
    INPUT_PROP_DIRECT
"""
SIZE = (1080, 2400)
DEV = "/dev/input/event4"


def raw(x: int, y: int) -> tuple[int, int]:
    """Pixels -> panel units of the LP panel above."""
    return round(x * 4095 / 1079), round(y * 9599 / 2399)


def frame(t: float, *events: tuple[str, str, str]) -> list[str]:
    """One SYN_REPORT frame as getevent -lt prints it."""
    lines = [f"[{t:>14.6f}] {DEV}: {kind:<12} {code:<20} {value}" for kind, code, value in events]
    return lines + [f"[{t:>14.6f}] {DEV}: EV_SYN       SYN_REPORT           00000000"]


def pos(x: int, y: int) -> list[tuple[str, str, str]]:
    rx, ry = raw(x, y)
    return [("EV_ABS", "ABS_MT_POSITION_X", f"{rx:08x}"), ("EV_ABS", "ABS_MT_POSITION_Y", f"{ry:08x}")]


def down(slot: int, tid: int, x: int, y: int) -> list[tuple[str, str, str]]:
    return [("EV_ABS", "ABS_MT_SLOT", f"{slot:08x}"), ("EV_ABS", "ABS_MT_TRACKING_ID", f"{tid:08x}"),
            ("EV_KEY", "BTN_TOUCH", "DOWN"), *pos(x, y)]


def up(slot: int) -> list[tuple[str, str, str]]:
    return [("EV_ABS", "ABS_MT_SLOT", f"{slot:08x}"), ("EV_ABS", "ABS_MT_TRACKING_ID", "ffffffff")]


def tap(t: float, x: int, y: int, tid: int, hold: float = 0.06) -> list[str]:
    return frame(t, *down(0, tid, x, y)) + frame(t + hold, *up(0), ("EV_KEY", "BTN_TOUCH", "UP"))


def swipe(t: float, fx: int, fy: int, tx: int, ty: int, tid: int, duration: float = 0.2, steps: int = 5) -> list[str]:
    lines = frame(t, *down(0, tid, fx, fy))
    for i in range(1, steps + 1):
        lines += frame(t + duration * i / steps, *pos(fx + (tx - fx) * i // steps, fy + (ty - fy) * i // steps))
    return lines + frame(t + duration + 0.008, *up(0), ("EV_KEY", "BTN_TOUCH", "UP"))


@pytest.fixture
def axes() -> TouchAxes:
    return parse_axes(LP, SIZE)


def test_axes_pick_the_multitouch_panel(axes):
    assert (axes.x, axes.y, axes.device, axes.slots) == ((0, 4095), (0, 9599), DEV, 10)
    assert axes.to_pixels(4095, 9599) == (1079, 2399)
    with pytest.raises(GeteventError, match="no multi-touch panel"):
        parse_axes(LP.split("add device 2")[0], SIZE)


def test_line_parser_accepts_labelled_lines_and_rejects_torn_ones():
    event = parse_line("[   51234.567890] /dev/input/event4: EV_ABS       ABS_MT_POSITION_X    00000438")
    assert event is not None and (event.t_s, event.code, int(event.value, 16)) == (51234.56789, "ABS_MT_POSITION_X", 0x438)
    assert parse_line("[   51234.5678") is None
    assert parse_line("add device 2: /dev/input/event4") is None


def test_single_tap_scaled_to_pixels(axes):
    contacts = list(parse_contacts(tap(100.0, 540, 1200, 7), axes))
    assert len(contacts) == 1 and contacts[0].complete and contacts[0].tracking_id == 7
    assert abs(contacts[0].start.x - 540) <= 1 and abs(contacts[0].start.y - 1200) <= 1
    assert contacts[0].duration_s == pytest.approx(0.06)
    assert [g.kind for g in classify(contacts)] == ["tap"]


def test_swipe_direction_and_speed(axes):
    gestures = classify(parse_contacts(swipe(10.0, 540, 1900, 560, 500, 1), axes))
    assert len(gestures) == 1
    g = gestures[0]
    assert (g.kind, g.direction) == ("swipe", "up")
    assert g.speed_px_s == pytest.approx(1400 / 0.208, rel=0.02)
    left = classify(parse_contacts(swipe(20.0, 900, 1200, 100, 1250, 2), axes))[0]
    assert left.direction == "left"


def test_double_tap_needs_short_gap_and_nearby_points(axes):
    quick = tap(5.0, 500, 1000, 1) + tap(5.25, 520, 1010, 2)
    assert [g.kind for g in classify(parse_contacts(quick, axes))] == ["double_tap"]
    slow = tap(5.0, 500, 1000, 1) + tap(5.9, 500, 1000, 2)
    assert [g.kind for g in classify(parse_contacts(slow, axes))] == ["tap", "tap"]
    far = tap(5.0, 100, 300, 1) + tap(5.2, 900, 2000, 2)
    assert [g.kind for g in classify(parse_contacts(far, axes))] == ["tap", "tap"]
    strict = GestureConfig(double_tap_s=0.1)
    assert [g.kind for g in classify(parse_contacts(quick, axes), strict)] == ["tap", "tap"]


def test_long_press_and_jitter_within_slop(axes):
    lines = frame(1.0, *down(0, 3, 300, 800)) + frame(1.3, *pos(310, 805)) + frame(1.8, *up(0))
    assert [g.kind for g in classify(parse_contacts(lines, axes))] == ["long_press"]
    shaky = frame(1.0, *down(0, 4, 300, 800)) + frame(1.03, *pos(312, 812)) + frame(1.07, *up(0))
    assert [g.kind for g in classify(parse_contacts(shaky, axes))] == ["tap"]


def test_multi_touch_slots_are_tracked_separately(axes):
    lines = (frame(1.0, *down(0, 10, 400, 1200))
             + frame(1.05, *down(1, 11, 700, 1200))
             + frame(1.10, ("EV_ABS", "ABS_MT_SLOT", "00000000"), *pos(300, 1200),
                     ("EV_ABS", "ABS_MT_SLOT", "00000001"), *pos(800, 1200))
             + frame(1.20, *up(0))
             + frame(1.25, *up(1), ("EV_KEY", "BTN_TOUCH", "UP")))
    contacts = list(parse_contacts(lines, axes))
    assert sorted(c.tracking_id for c in contacts) == [10, 11]
    by_id = {c.tracking_id: c for c in contacts}
    assert abs(by_id[10].end.x - 300) <= 1 and abs(by_id[11].end.x - 800) <= 1
    assert [(g.kind, g.fingers) for g in classify(contacts)] == [("multi_touch", 2)]


def test_position_unchanged_since_last_contact_is_reused(axes):
    # The kernel drops repeated values: a second tap at the same spot sends no position.
    lines = tap(1.0, 540, 1200, 1) + frame(3.0, ("EV_ABS", "ABS_MT_TRACKING_ID", "00000002")) + frame(3.05, *up(0))
    contacts = list(parse_contacts(lines, axes))
    assert len(contacts) == 2 and (contacts[1].start.x, contacts[1].start.y) == (contacts[0].start.x, contacts[0].start.y)


def test_syn_dropped_discards_the_partial_frame_and_unfinished_contact_is_flagged(axes):
    parser = MultiTouchParser(axes)
    lines = frame(1.0, *down(0, 1, 100, 100))
    lines += [f"[{1.01:>14.6f}] {DEV}: EV_ABS       ABS_MT_POSITION_X    00000fff",
              f"[{1.01:>14.6f}] {DEV}: EV_SYN       SYN_DROPPED          00000000"]
    lines += frame(1.02, *pos(110, 100))  # discarded up to this report
    lines += frame(1.05, *pos(120, 100))
    for line in lines:
        assert parser.feed(line) == []
    assert parser.dropped_frames == 1
    left = parser.finish()
    assert len(left) == 1 and not left[0].complete and max(p.x for p in left[0].points) < 200
    gestures = classify(left)
    assert gestures[0].complete is False


def test_other_devices_are_ignored(axes):
    keys = ["[     1.000000] /dev/input/event2: EV_KEY       KEY_VOLUMEDOWN       DOWN",
            "[     1.000000] /dev/input/event2: EV_SYN       SYN_REPORT           00000000"]
    assert list(parse_contacts(keys + tap(2.0, 10, 10, 1), axes))[0].start.t_s == 2.0


def test_live_events_follow_each_slot_and_close_a_finger_whose_lift_was_lost(axes):
    lines = (frame(1.0, *down(0, 10, 400, 1200)) + frame(1.05, *down(1, 11, 700, 1200))
             + frame(1.10, ("EV_ABS", "ABS_MT_SLOT", "00000001"), *pos(800, 1200))
             + frame(1.20, ("EV_ABS", "ABS_MT_SLOT", "00000000"), ("EV_ABS", "ABS_MT_TRACKING_ID", "0000000c")))
    events = [(e.kind, e.slot, e.x) for e in parse_touches(lines, axes)]
    # Slot 0 got a new tracking id without a lift: its old finger ends there and the new one starts in place.
    assert events == [("down", 0, 400), ("down", 1, 700), ("move", 1, 800), ("up", 0, 400), ("down", 0, 400)]
    with pytest.raises(ValueError, match="keep_events"):
        MultiTouchParser(axes).feed_events(lines[0])
