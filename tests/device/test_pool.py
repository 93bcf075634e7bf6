"""One worker per phone: the device pool runs a job on every phone at once and keeps each phone's error."""

from __future__ import annotations

import threading

import pytest

from device.android import DevicePool, list_devices


def test_pool_runs_one_worker_per_phone(rig_factory):
    rigs = [rig_factory("douyin", serial="phone-a"), rig_factory("tiktok", serial="phone-b")]
    threads: dict[str, str] = {}

    def read_three_authors(device):
        threads[device.serial] = threading.current_thread().name
        feed = next(r for r in rigs if r.device is device).phone_feed()
        authors = [feed.current().meta.author]
        for _ in range(2):
            authors.append(feed.next().meta.author)
        return authors

    results = DevicePool([r.device for r in rigs]).run(read_three_authors)
    assert results == {"phone-a": ["creator_0", "创作者1号", "creator_2"],
                       "phone-b": ["creator_0", "创作者1号", "creator_2"]}
    assert len(set(threads.values())) == 2


def test_pool_keeps_each_phones_error(rig_factory):
    rigs = [rig_factory("douyin", serial="phone-a"), rig_factory("douyin", serial="phone-b")]

    def job(device):
        if device.serial == "phone-b":
            raise RuntimeError("phone-b fell off the desk")
        return device.serial

    results = DevicePool([r.device for r in rigs]).run(job)
    assert results["phone-a"] == "phone-a"
    assert isinstance(results["phone-b"], RuntimeError)
    with pytest.raises(ValueError, match="device list"):
        DevicePool([])


def test_list_devices_sees_the_virtual_phone(rig):
    attached = list_devices(port=rig.server.port)
    assert [(d.serial, d.state) for d in attached] == [(rig.phone.serial, "device")]
