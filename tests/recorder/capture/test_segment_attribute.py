"""Segmentation with jittery metadata and lost touches; attribution of taps, including one that misses a button."""

from __future__ import annotations

from recorder.capture.attribute import attribute
from recorder.capture.gestures import Gesture
from recorder.capture.hierarchy import UiState
from recorder.capture.segment import Segment, frame_changes, segment
from recorder.trace import VideoMeta

H = 2400
CONTROLS = {"like": (930, 1248, 1058, 1392), "comment": (930, 1440, 1058, 1584), "share": (930, 1824, 1058, 1968)}


def video(name: str, liked: bool = False, panel: str | None = None, typed: str = "", kind: str = "video",
          caption: str | None = None) -> UiState:
    controls = dict(CONTROLS)
    if panel == "comment":
        controls.update(send=(864, 2208, 1036, 2328), input=(43, 2208, 842, 2328))
    if panel == "share":
        controls.update(share_action=(64, 1968, 324, 2160))
    meta = VideoMeta(author=name, caption=caption if caption is not None else f"video by {name}",
                     is_ad=kind == "ad", is_live=kind == "live")
    return UiState(kind, meta, liked, True, panel, typed, controls)


def swipe_up(t: float, duration: float = 0.2) -> Gesture:
    return Gesture("swipe", t, t + duration, 540, 1900, 540, 500)


def tap(t: float, x: int, y: int, kind: str = "tap") -> Gesture:
    return Gesture(kind, t, t + 0.06, x, y, x, y)


def test_segments_follow_confirmed_swipes_and_ignore_jitter():
    states = [(0.5, video("a")), (1.0, video("a", caption="video by")),  # half-drawn caption: jitter
              (1.5, video("a")), (2.5, video("a")),  # a dump of the old video right after the swipe
              (3.0, video("b")), (3.5, video("b")), (4.0, None), (4.5, video("b")),
              (6.5, video("c")), (7.0, video("c"))]
    gestures = [swipe_up(2.2), swipe_up(6.0)]
    changes = [2.45, 6.25]
    segs = segment(states, gestures, changes, H, end_h=8.0, start_h=0.0)
    assert [s.meta.author for s in segs] == ["a", "b", "c"]
    assert [round(s.start_h, 2) for s in segs] == [0.0, 2.4, 6.2]
    assert [round(s.watch_s, 2) for s in segs] == [2.4, 3.8, 1.8]
    assert segs[1].evidence == ("swipe", "frame", "key")


def test_swipe_without_frame_change_or_key_change_is_not_a_video():
    states = [(0.5, video("a")), (1.5, video("a")), (3.0, video("a")), (3.5, video("a"))]
    bounce = segment(states, [swipe_up(2.0)], [2.3], H, end_h=4.0, start_h=0.0)  # frame moved, key did not
    assert len(bounce) == 1
    states += [(5.5, video("b")), (6.0, video("b"))]
    no_frame = segment(states, [swipe_up(2.0), swipe_up(5.0)], [5.3], H, end_h=7.0, start_h=0.0)
    assert [s.meta.author for s in no_frame] == ["a", "b"] and round(no_frame[1].start_h, 1) == 5.2
    short = Gesture("swipe", 5.0, 5.2, 540, 1300, 540, 1100)  # too short to move the feed: the key change decides
    assert [s.evidence for s in segment(states, [short], [5.3], H, end_h=7.0, start_h=0.0)] == [("start",), ("frame", "key")]


def test_key_change_with_lost_swipe_is_recovered_from_frames():
    states = [(0.5, video("a")), (1.0, video("a")), (2.0, video("b")), (2.5, video("b")), (3.0, video("b"))]
    segs = segment(states, [], [1.6], H, end_h=4.0, start_h=0.0)
    assert [s.meta.author for s in segs] == ["a", "b"] and segs[1].start_h == 1.6
    assert segs[1].evidence == ("frame", "key")
    lone_glitch = [(0.5, video("a")), (1.0, video("x")), (1.5, video("a"))]
    assert len(segment(lone_glitch, [], [1.0], H, end_h=2.0, start_h=0.0)) == 1


def test_fast_scrolling_between_dumps_keeps_each_video():
    states = [(0.5, video("a")), (1.0, video("a")), (3.0, video("c"))]
    segs = segment(states, [swipe_up(1.2), swipe_up(1.8)], [1.5, 2.1], H, end_h=4.0, start_h=0.0)
    assert [s.meta.author for s in segs] == ["a", None, "c"]
    assert segs[1].key is None


def test_ads_and_lives_are_kept_and_labelled():
    states = [(0.5, video("a")), (1.5, video("brand", kind="ad")), (3.0, video("host", kind="live"))]
    segs = segment(states, [swipe_up(1.0), swipe_up(2.5)], [1.3, 2.8], H, end_h=4.0, start_h=0.0)
    assert [s.kind for s in segs] == ["video", "ad", "live"] and segs[1].meta.is_ad and segs[2].meta.is_live


def seg(key_author: str = "a", start: float = 0.0, end: float = 10.0) -> Segment:
    return Segment(start, end, video(key_author).key, video(key_author).meta)


def test_tap_on_like_confirmed_by_state_flip():
    states = [(1.0, video("a")), (2.0, video("a", liked=True))]
    readings, actions = attribute(seg(), states, [tap(1.5, 990, 1300)])
    assert [(a.name, a.at_s) for a in actions] == [("like", 1.5)]
    assert readings[0].target == "like" and readings[0].confirmed


def test_tap_that_misses_the_button_is_no_like():
    # 10 px left of the like control: it lands on the video (a pause); the state does not flip.
    states = [(1.0, video("a")), (2.0, video("a"))]
    readings, actions = attribute(seg(), states, [tap(1.5, 920, 1300)])
    assert actions == () and readings[0].target == "video" and not readings[0].confirmed
    # A like tap whose state never flips (the app did not register it) is not a like either.
    readings, actions = attribute(seg(), states, [tap(1.5, 990, 1300)])
    assert actions == () and readings[0].target == "like" and not readings[0].confirmed


def test_double_tap_on_video_likes_but_single_tap_does_not():
    states = [(1.0, video("a")), (2.0, video("a", liked=True))]
    _, actions = attribute(seg(), states, [tap(1.4, 500, 900, "double_tap")])
    assert [a.name for a in actions] == ["like"]
    _, actions = attribute(seg(), [(1.0, video("a")), (2.0, video("a"))], [tap(1.4, 500, 900)])
    assert actions == ()


def test_like_then_unlike_leaves_no_like():
    states = [(1.0, video("a")), (2.0, video("a", liked=True)), (3.0, video("a"))]
    _, actions = attribute(seg(), states, [tap(1.5, 990, 1300), tap(2.5, 990, 1300)])
    assert actions == ()


def test_comment_text_and_share_are_captured():
    states = [(1.0, video("a")), (2.0, video("a", panel="comment")), (3.0, video("a", panel="comment", typed="so good")),
              (4.0, video("a")), (5.0, video("a", panel="share")), (6.0, video("a"))]
    gestures = [tap(1.5, 990, 1500), tap(3.5, 950, 2260), tap(4.5, 990, 1900), tap(5.5, 200, 2050)]
    readings, actions = attribute(seg(), states, gestures)
    assert [(a.name, a.text) for a in actions] == [("comment", "so good"), ("share", None)]
    assert [r.target for r in readings] == ["comment", "send", "share", "share_action"]


def test_like_seen_without_a_tap_is_inferred():
    _, actions = attribute(seg(), [(1.0, video("a")), (2.0, video("a", liked=True))], [])
    assert [(a.name, a.at_s) for a in actions] == [("like", 2.0)]


def test_frame_changes_compare_with_a_slightly_older_frame():
    flat, other = bytes([100] * 64), bytes([30] * 64)
    thumbs = [(i * 0.1, flat) for i in range(10)] + [(1.0 + i * 0.1, other) for i in range(10)]
    assert frame_changes(thumbs) == [1.0]
    noisy = [(i * 0.1, bytes([100 + (i % 3)] * 64)) for i in range(20)]
    assert frame_changes(noisy) == []
