"""Compose a live recording: connect the phone, wrap it as a CaptureSource and hand it to the recorder."""

from __future__ import annotations

from pathlib import Path

from recorder.capture.recorder import RecordConfig, Recorder


def open_recorder(serial: str, participant: str, out: Path, consent: str, app: str = "douyin",
                  account_names: tuple[str, ...] = (), hierarchy_interval_s: float = 1.0, media: bool = True,
                  audio: bool = True, max_size: int = 800, max_fps: int = 15, scrcpy_server: Path | None = None,
                  adb_port: int | None = None, keep_unredacted: bool = False) -> Recorder:
    """A Recorder for phone `serial` running `app` (not started yet); checks the scrcpy jar up front when recording media."""
    from device.android import AndroidDevice
    from device.capture import PhoneCaptureSource
    from device.profiles import load_profile
    from device.scrcpy import ScrcpyOptions, find_server_jar

    config = RecordConfig(participant, app, consent, hierarchy_interval_s, media, account_names, keep_unredacted)
    profile = load_profile(app)
    jar = find_server_jar(scrcpy_server) if media else None
    device = AndroidDevice(serial, adb_port=adb_port)
    device.connect()
    source = PhoneCaptureSource(device, profile.package, jar, ScrcpyOptions(max_size, max_fps, audio=audio))
    return Recorder(source, profile, out, config)
