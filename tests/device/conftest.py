"""Fixtures: a virtual phone on loopback serving a known feed, driven by the real AndroidDevice."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from device.android import AndroidDevice
from device.phone_feed import PhoneFeed
from device.profiles import load_profile
from device.virtual.phone import VirtualPhone
from device.virtual.server import VirtualAdbServer
from recorder.feed import ReplayFeed, ScaledClock
from recorder.trace import Category, Trace, VideoMeta
from tests.builders import make_header, make_step

TOPICS = (("Knowledge", "Science"), ("Food", "Cooking"), ("Sports", "Football"), ("Music", "Pop"))


def varied_trace(n: int = 24) -> Trace:
    """A trace whose videos differ in every field the screen shows (ground truth for parsing)."""
    steps = []
    for i in range(n):
        meta = VideoMeta(video_id=f"v{i}", author=f"创作者{i}号" if i % 2 else f"creator_{i}",
                         caption=f"第{i}条视频 video {i} #话题{i % 5} #tag{i}", hashtags=(f"话题{i % 5}", f"tag{i}"),
                         like_count=(i + 1) * 12_345 + i, comment_count=i * 987, share_count=i * 31 + 7,
                         favorite_count=i * 1_111)
        steps.append(make_step(i, meta=meta, category=Category(TOPICS[i % 4], "platform")))
    return Trace(make_header(), tuple(steps))


@dataclass
class Rig:
    """A virtual phone, its adb server and a connected AndroidDevice."""

    feed: ReplayFeed
    phone: VirtualPhone
    server: VirtualAdbServer
    device: AndroidDevice

    def phone_feed(self, **kwargs) -> PhoneFeed:
        """A PhoneFeed over the rig's device, on a clock 1000x faster than wall time."""
        return PhoneFeed(self.device, self.phone.profile, clock=ScaledClock(1000.0), **kwargs)


@pytest.fixture
def rig_factory(monkeypatch):
    """Build rigs for any app profile; every server stops at test end."""
    servers = []

    def build(app: str = "douyin", **phone_options) -> Rig:
        feed = ReplayFeed(varied_trace())
        phone = VirtualPhone(feed, load_profile(app), time_scale=1000.0, **phone_options)
        server = VirtualAdbServer(phone)
        servers.append(server)
        # Anything that falls back to adbutils' default client must reach this server, never start a real adb.
        monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(server.port))
        device = AndroidDevice(phone.serial, adb_port=server.port, dump_timeout_s=0.5, dump_retries=3,
                               call_timeout_s=10.0)
        device.connect()
        return Rig(feed, phone, server, device)

    yield build
    for server in servers:
        server.close()


@pytest.fixture
def rig(rig_factory) -> Rig:
    """A Douyin rig."""
    return rig_factory("douyin")
