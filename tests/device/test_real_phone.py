"""Run these with a phone attached: `PERSONAACT_PHONE=SERIAL PERSONAACT_APP=douyin pytest -m phone tests/device`."""

from __future__ import annotations

import os

import pytest

from device.android import AndroidDevice
from device.phone_feed import PhoneFeed
from device.profiles import load_profile

pytestmark = pytest.mark.phone


@pytest.fixture
def phone_feed():
    serial = os.environ.get("PERSONAACT_PHONE")
    if not serial:
        pytest.skip("set PERSONAACT_PHONE to the serial from `personaact device list`")
    device = AndroidDevice(serial)
    device.connect()
    feed = PhoneFeed(device, load_profile(os.environ.get("PERSONAACT_APP", "douyin")), settle_s=1.0)
    yield feed
    feed.close()


def test_reads_three_videos_from_the_real_app(phone_feed):
    seen = []
    obs = phone_feed.current()
    for _ in range(3):
        assert obs.meta.author, f"no author read on screen {obs.screen}; dump it with `personaact device dump`"
        seen.append(obs.meta.author)
        obs = phone_feed.next()
    assert phone_feed.preflight.screen_on and phone_feed.preflight.unlocked
