"""Attribute taps to what they hit in the latest hierarchy and keep only those the next dumps confirm.

A tap on the like control counts when the liked state flips; a double tap on the video when it turns liked;
a tap on send when the comment panel held typed text and then closed (that text is the comment); a tap on the
share sheet's action when the sheet closes. A tap that misses every control lands on the video surface and is
no action (a pause). A liked state that turns on with no tap seen (a lost touch line) is still a like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recorder.capture.gestures import Gesture
from recorder.capture.segment import Segment, TimedState
from recorder.trace import Action


@dataclass(frozen=True)
class Attribution:
    """One gesture's reading: what it hit, whether the screen confirmed it, and the action it became."""

    gesture: Gesture
    target: str | None
    confirmed: bool
    action: Action | None = None


def _before(states: Sequence[TimedState], t: float, key: str | None) -> TimedState | None:
    best = None
    for h, s in states:
        if h > t:
            break
        if s is not None and s.kind in ("video", "ad", "live", "popup") and (key is None or s.key in (key, None)):
            best = (h, s)
    return best


def _after(states: Sequence[TimedState], t: float, until: float) -> list[TimedState]:
    return [(h, s) for h, s in states if t < h <= until and s is not None]


def _confirm(target: str, gesture: Gesture, before: TimedState, after: list[TimedState]) -> tuple[bool, Action | None]:
    _, was = before
    assert was is not None
    for _, now in after:
        assert now is not None
        if target in ("like", "video") and was.liked is not None and now.liked is not None and now.liked != was.liked:
            if target == "video" and gesture.kind != "double_tap":
                return False, None
            return True, Action("like") if now.liked else None
        if target == "comment" and now.panel == "comment":
            return True, None
        if target == "send" and was.panel == "comment" and was.typed and (now.panel != "comment" or not now.typed):
            return True, Action("comment", text=was.typed)
        if target == "share" and now.panel == "share":
            return True, None
        if target == "share_action" and was.panel == "share" and now.panel != "share":
            return True, Action("share")
        if target == "dismiss" and now.kind != "popup":
            return True, None
    return False, None


def attribute(segment: Segment, states: Sequence[TimedState], gestures: Sequence[Gesture],
              confirm_window_s: float = 3.0) -> tuple[list[Attribution], tuple[Action, ...]]:
    """The segment's taps read against its dumps, and the confirmed actions (at_s after the video appeared)."""
    states = sorted(states, key=lambda s: s[0])
    readings: list[Attribution] = []
    actions: list[Action] = []
    taps = [g for g in gestures if g.kind in ("tap", "double_tap") and segment.start_h <= g.start_s < segment.end_h]
    # The typed text may change between dumps: the state just before the send tap carries the latest text.
    for gesture in taps:
        before = _before(states, gesture.start_s, segment.key)
        if before is None:
            readings.append(Attribution(gesture, None, False))
            continue
        target = before[1].control_at(gesture.x, gesture.y) if before[1] else None
        horizon = min(segment.end_h + 0.5, gesture.end_s + confirm_window_s)
        ok, action = _confirm(target, gesture, before, _after(states, gesture.end_s, horizon)) if target else (False, None)
        if action is not None:
            action = Action(action.name, action.text, at_s=round(max(0.0, gesture.start_s - segment.start_h), 3))
            actions.append(action)
        if ok and target == "like" and action is None:  # an unlike cancels the like given earlier on this video
            actions = [a for a in actions if a.name != "like"]
        readings.append(Attribution(gesture, target, ok, action))
    like_taps = any(r.confirmed and r.target in ("like", "video") for r in readings)
    if not like_taps and not any(a.name == "like" for a in actions):
        inferred = _unexplained_like(segment, states)
        if inferred is not None:
            actions.append(inferred)
    return readings, tuple(sorted(actions, key=lambda a: a.at_s or 0.0))


def _unexplained_like(segment: Segment, states: Sequence[TimedState]) -> Action | None:
    own = [(h, s) for h, s in states if segment.start_h <= h < segment.end_h and s is not None
           and s.key == segment.key and s.liked is not None]
    for (_, a), (h, b) in zip(own, own[1:], strict=False):
        if a.liked is False and b.liked is True:
            return Action("like", at_s=round(max(0.0, h - segment.start_h), 3))
    return None
