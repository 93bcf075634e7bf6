"""Clocks and the replay feed (the in-package fake of the Feed protocol)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recorder.feed import Feed, Observation, ReplayFeed, ScaledClock, VirtualClock
from recorder.trace import TraceValidationError
from tests.builders import T0, make_trace


def test_virtual_clock_moves_only_when_slept():
    clock = VirtualClock(T0)
    clock.sleep(90.5)
    assert clock.now() == T0 + timedelta(seconds=90.5)
    with pytest.raises(ValueError):
        clock.sleep(-1)


def test_scaled_clock_runs_faster_than_the_wall():
    clock = ScaledClock(1000.0, start=T0)
    clock.sleep(50.0)  # 50 ms of wall time
    assert clock.now() - T0 >= timedelta(seconds=50)


def test_replay_feed_implements_the_protocol_on_virtual_time():
    feed = ReplayFeed(make_trace(3))
    assert isinstance(feed, Feed)
    first = feed.current()
    assert first.position == 0 and first.meta.video_id == "v0"
    feed.watch(12)
    assert feed.like() and feed.current().liked
    second = feed.next()
    assert second.meta.video_id == "v1" and not second.liked
    assert second.shown_at == first.shown_at + timedelta(seconds=12)
    assert [e[1] for e in feed.events] == ["watch", "like", "next"]


def test_observation_rejects_unknown_screens():
    with pytest.raises(TraceValidationError, match="screen"):
        Observation(0, T0, screen="banner")
