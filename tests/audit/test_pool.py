"""One worker per phone: the pool runs a job on every phone at once, shows one progress, keeps each phone's error."""

from __future__ import annotations

import threading

import pytest

from audit.pool import DevicePool
from device.android import list_devices
from tests.device.conftest import rig_factory  # noqa: F401 -- the virtual-phone fixture


def test_pool_runs_one_worker_per_phone(rig_factory):  # noqa: F811
    rigs = [rig_factory("douyin", serial="phone-a"), rig_factory("tiktok", serial="phone-b")]
    threads: dict[str, str] = {}
    ticks = []

    def read_three_authors(device, advance):
        threads[device.serial] = threading.current_thread().name
        feed = next(r for r in rigs if r.device is device).phone_feed()
        authors = [feed.current().meta.author]
        for _ in range(2):
            authors.append(feed.next().meta.author)
            advance(1)
            ticks.append(device.serial)
        return authors

    results = DevicePool([r.device for r in rigs]).run(read_three_authors, total=4)
    assert results == {"phone-a": ["creator_0", "创作者1号", "creator_2"],
                       "phone-b": ["creator_0", "创作者1号", "creator_2"]}
    assert len(set(threads.values())) == 2 and sorted(ticks) == ["phone-a"] * 2 + ["phone-b"] * 2


def test_a_failing_phone_does_not_stop_the_others(rig_factory):  # noqa: F811
    rigs = [rig_factory("douyin", serial="phone-a"), rig_factory("douyin", serial="phone-b")]

    def job(device, advance):
        if device.serial == "phone-b":
            raise RuntimeError("phone-b fell off the desk")
        feed = rigs[0].phone_feed()
        for _ in range(3):
            feed.next()
        return device.serial

    results = DevicePool([r.device for r in rigs]).run(job)
    assert results["phone-a"] == "phone-a"
    assert isinstance(results["phone-b"], RuntimeError)
    with pytest.raises(ValueError, match="device list"):
        DevicePool([])


def test_list_devices_sees_the_virtual_phone(rig_factory):  # noqa: F811
    rig = rig_factory("douyin")
    attached = list_devices(port=rig.server.port)
    assert [(d.serial, d.state) for d in attached] == [(rig.phone.serial, "device")]
