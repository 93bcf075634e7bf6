"""Acceptance against the sandbox: `device virtual`'s composition (SandboxFeed behind the virtual phone)."""

from __future__ import annotations

from typer.testing import CliRunner

from device.android import AndroidDevice
from device.cli import VirtualConfig, build_virtual, device_app
from device.counts import displayed
from device.phone_feed import PhoneFeed
from device.virtual.hierarchy import caption_with_tags
from recorder.feed import ScaledClock


def test_phone_reads_the_sandbox_and_likes_reach_it(monkeypatch):
    server, phone = build_virtual(VirtualConfig(users=50, creators=8, time_scale=1000.0))
    with server:
        monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(server.port))
        device = AndroidDevice(phone.serial, adb_port=server.port, dump_timeout_s=2.0)
        device.connect()
        feed = PhoneFeed(device, phone.profile, clock=ScaledClock(1000.0))
        for _ in range(20):
            truth = phone.observation.meta
            obs = feed.current()
            assert (obs.meta.author, obs.meta.caption, obs.meta.hashtags, obs.meta.like_count) == (
                truth.author, caption_with_tags(truth), truth.hashtags, displayed(truth.like_count, "zh"))
            feed.next()
        assert feed.like() is True
        assert phone.feed._shown.liked is True  # the sandbox counts it when the video is logged


def test_cli_serves_for_a_bounded_time():
    result = CliRunner().invoke(device_app, ["virtual", "--duration-s", "0.3", "--set", "users=30", "--set", "creators=5"])
    assert result.exit_code == 0, result.output
    assert "ANDROID_ADB_SERVER_PORT=" in result.output
