"""Acceptance: the real AndroidDevice (adbutils + uiautomator2 over sockets) against the virtual phone."""

from __future__ import annotations

import cv2
import pytest

from device.counts import displayed
from device.phone_feed import LoginWallError
from device.virtual.hierarchy import caption_with_tags


def truth(rig, position: int):
    """What the screen should show for the feed's video at `position` (counts after the app's rounding)."""
    meta = rig.feed.trace.steps[position].meta
    style = rig.phone.profile.count_style
    return (meta.author, caption_with_tags(meta), meta.hashtags, displayed(meta.like_count, style),
            displayed(meta.comment_count, style), displayed(meta.share_count, style))


def seen(obs):
    """The same fields as read off the phone."""
    m = obs.meta
    return m.author, m.caption, m.hashtags, m.like_count, m.comment_count, m.share_count


@pytest.mark.parametrize("app", ["douyin", "tiktok", "kuaishou", "bilibili"])
def test_twenty_videos_match_ground_truth(rig_factory, app):
    rig = rig_factory(app)
    feed = rig.phone_feed()
    assert feed.preflight.sdk == 33 and (feed.preflight.width, feed.preflight.height) == (1080, 2400)
    assert feed.preflight.app_version == "29.3.0" and feed.preflight.touch_axes.x == (0, 4095)
    obs = feed.current()
    for position in range(20):
        assert obs.screen == "video" and obs.position == position
        assert seen(obs) == truth(rig, position)
        obs = feed.next()
    assert rig.feed.position == 20
    watched = [e for e in rig.feed.events if e[1] == "watch"]
    assert len(watched) == 20 and all(seconds >= 0 for _, _, seconds in watched)


def test_like_registers_in_the_feed_and_flips_state(rig):
    feed = rig.phone_feed()
    assert feed.current().liked is False
    assert feed.like() is True
    assert rig.feed.liked == {0} and feed.current().liked is True
    assert feed.like() is True and rig.feed.liked == {0}  # already liked: no second tap (it would unlike)
    feed.next()
    rig.device.double_tap(540, 1000)  # double-tap on the video likes it too
    assert feed.current().liked is True and rig.feed.liked == {0, 1}


def test_comment_and_share_reach_the_feed(rig):
    feed = rig.phone_feed()
    assert feed.comment("拍得真好") is True
    assert feed.share() is True
    actions = [(e[1], e[2]) for e in rig.feed.events if e[1] in ("comment", "share")]
    assert actions == [("comment", "拍得真好"), ("share", None)]


def test_popups_are_dismissed_and_surfaced(rig):
    feed = rig.phone_feed()
    for name in ("teen_mode", "privacy", "update", "permission", "rating"):
        rig.phone.inject("popup", popup=name)
        assert feed.current().screen == "video"
    assert [d for _, kind, d in feed.incidents if kind == "popup"] == ["teen_mode", "privacy", "update", "permission", "rating"]
    assert rig.phone.state.popup is None


@pytest.mark.parametrize("kind", ["ad", "live"])
def test_ads_and_live_rooms_are_labelled_and_skipped(rig, kind):
    feed = rig.phone_feed()
    feed.next()
    rig.phone.inject(kind)
    obs = feed.current()
    assert obs.screen == kind and (obs.meta.is_ad if kind == "ad" else obs.meta.is_live)
    obs = feed.next()  # skipping the inserted item reveals the feed's video that waited behind it
    assert obs.screen == "video" and seen(obs) == truth(rig, 1)


def test_crash_restarts_the_app(rig):
    feed = rig.phone_feed()
    rig.phone.inject("crash")
    assert rig.device.app_current()[0] == "com.android.launcher3"
    assert feed.current().screen == "video"
    assert [k for _, k, _ in feed.incidents] == ["crash"]
    assert rig.device.app_current()[0] == "com.ss.android.ugc.aweme"


def test_hanging_dump_times_out_and_retries(rig):
    rig.phone.inject("hang")
    feed = rig.phone_feed()
    assert seen(feed.current()) == truth(rig, 0)
    assert rig.device.dump_timeouts == 1


def test_disconnect_reconnects(rig_factory):
    rig = rig_factory("douyin", disconnect_s=2.5)  # longer than adbutils' own retries
    feed = rig.phone_feed()
    rig.phone.inject("disconnect")
    obs = feed.next()
    assert seen(obs) == truth(rig, 1)
    assert "reconnect" in [k for _, k, _ in feed.incidents]


def test_login_wall_is_a_clear_error(rig):
    feed = rig.phone_feed()
    rig.phone.inject("login_wall")
    with pytest.raises(LoginWallError, match="log in on the phone"):
        feed.current()


def test_screenshot_is_an_opencv_image_that_changes(rig):
    first = rig.device.screenshot()
    assert first.shape == (2400, 1080, 3)
    rig.device.swipe(540, 1800, 540, 600)
    second = rig.device.screenshot()
    assert cv2.absdiff(first, second).mean() > 1.0


def test_touch_events_follow_gestures(rig):
    import threading

    events = []
    reader = threading.Thread(target=lambda: events.extend(rig.device.touch_events(max_events=2, idle_timeout_s=5)))
    reader.start()
    from device.virtual.server import wait_until

    assert wait_until(lambda: rig.phone.touch._listeners, 5)
    rig.device.tap(300, 700)
    reader.join(10)
    assert [e.kind for e in events] == ["down", "up"]
    assert abs(events[0].x - 300) <= 1 and abs(events[0].y - 700) <= 1


def test_touch_events_keep_two_fingers_apart(rig):
    import threading

    from device.virtual.server import wait_until

    events = []
    reader = threading.Thread(target=lambda: events.extend(rig.device.touch_events(max_events=6, idle_timeout_s=5)))
    reader.start()
    assert wait_until(lambda: rig.phone.touch._listeners, 5)
    rig.phone.touch.multi_gesture([[(400, 1200), (200, 1200)], [(700, 1200), (900, 1200)]], 0.2, steps=1)
    reader.join(10)
    by_slot = {slot: [(e.kind, e.x) for e in events if e.slot == slot] for slot in (0, 1)}
    assert [k for k, _ in by_slot[0]] == ["down", "move", "up"] and [k for k, _ in by_slot[1]] == ["down", "move", "up"]
    assert [x for _, x in by_slot[0]] == [400, 200, 200] and [x for _, x in by_slot[1]] == [700, 900, 900]


def test_push_and_pull_files(rig, tmp_path):
    source = tmp_path / "a.bin"
    source.write_bytes(b"persona" * 1000)
    assert rig.device.push(source, "/sdcard/Download/a.bin") == 7000
    assert rig.device.pull("/sdcard/Download/a.bin", tmp_path / "b.bin") == 7000
    assert (tmp_path / "b.bin").read_bytes() == source.read_bytes()
