"""A phone as a CaptureSource: getevent for touches, uiautomator2 for hierarchies, scrcpy for screen and audio."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from device.android import AndroidDevice
from device.base import DeviceError
from device.getevent import read_axes, stream_lines
from device.scrcpy import SERVER_VERSION, ScrcpyClient, ScrcpyOptions, find_server_jar
from recorder.capture.source import FrameSink, MediaStatus, SourceInfo


class PhoneCaptureSource:
    """Captures from an AndroidDevice (real or virtual); one hierarchy dump at a time."""

    def __init__(self, device: AndroidDevice, package: str, scrcpy_jar: Path | None = None,
                 options: ScrcpyOptions | None = None):
        self.device, self.package = device, package
        self.jar_path, self.options = scrcpy_jar, options or ScrcpyOptions()
        self._info: SourceInfo | None = None
        self._client: ScrcpyClient | None = None
        self._dump_lock = threading.Lock()  # never two UiAutomation clients at once

    @property
    def _adb(self) -> Any:
        if self.device._adb is None:
            raise DeviceError(f"phone {self.device.serial} is not connected; call connect() first")
        return self.device._adb

    def describe(self) -> SourceInfo:
        """Preflight the phone (screen on, unlocked, app installed) and read its touch panel."""
        if self._info is None:
            pre = self.device.preflight(self.package)
            size = (pre.width, pre.height)
            try:
                axes = read_axes(self._adb, size)
            except DeviceError:
                axes = None
            model = self.device.shell("getprop ro.product.model").strip() or None
            self._info = SourceInfo(self.device.serial, pre.sdk, size, axes, pre.app_version, model)
        return self._info

    def touch_lines(self, stop: threading.Event) -> Iterator[str]:
        """`getevent -lt` lines until stopped."""
        yield from stream_lines(self._adb, stop)

    def hierarchy(self) -> str:
        """One compressed dump with the device's timeout and retries."""
        with self._dump_lock:
            return self.device.hierarchy()

    def current_activity(self) -> str | None:
        """The activity in front."""
        try:
            return self.device.app_current()[1]
        except DeviceError:
            return None

    def start_media(self, path: Path, on_frame: FrameSink, clock: Callable[[], float]) -> MediaStatus:
        """Start scrcpy (exact v3.3.4) and record into `path`."""
        info = self.describe()
        self._client = ScrcpyClient(self._adb, find_server_jar(self.jar_path), self.options, info.sdk, clock)
        stream = self._client.start(path, on_frame)
        return MediaStatus(True, stream.audio_codec is not None, stream.width, stream.height,
                           f"scrcpy {SERVER_VERSION}", tuple(stream.warnings))

    def stop_media(self) -> None:
        """Stop scrcpy and finish the file."""
        if self._client is not None:
            self._client.stop()
            self._client = None
