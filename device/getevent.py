"""Read the phone's touch panel over adb: `getevent -lp` axis ranges and a `getevent -lt` line stream."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from device.base import DeviceError
from recorder.capture.getevent import GeteventError, TouchAxes, parse_axes


def read_axes(adb_device: Any, size: tuple[int, int]) -> TouchAxes:
    """The multi-touch panel's ranges, scaled onto a screen of `size` (raises DeviceError saying what to check)."""
    try:
        return parse_axes(adb_device.shell("getevent -lp", timeout=10), size)
    except GeteventError as err:
        raise DeviceError(str(err)) from err


def stream_lines(adb_device: Any, stop: threading.Event, poll_s: float = 0.2) -> Iterator[str]:
    """`getevent -lt` lines as they arrive until `stop` is set or the phone closes the stream."""
    stream = adb_device.shell("getevent -lt", stream=True)
    conn = stream.conn
    conn.settimeout(poll_s)
    pending = b""
    try:
        while not stop.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", "replace").rstrip("\r")
    finally:
        stream.close()
