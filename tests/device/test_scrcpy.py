"""scrcpy client: jar checks, version rules, audio fallback, and a real stream from the virtual phone into an MKV."""

from __future__ import annotations

import time

import adbutils
import av
import pytest

from device.scrcpy import SERVER_SHA256, ScrcpyClient, ScrcpyError, ScrcpyOptions, find_server_jar
from device.virtual.scrcpy import parse_server_command


def test_shipped_jar_is_found_and_checked(tmp_path):
    jar = find_server_jar()
    assert jar.name == "scrcpy-server-v3.3.4"
    fake = tmp_path / "scrcpy-server-v3.3.5"
    fake.write_bytes(b"not the release")
    with pytest.raises(ScrcpyError, match="exactly v3.3.4"):
        find_server_jar(fake)
    with pytest.raises(ScrcpyError, match="no such file"):
        find_server_jar(tmp_path / "missing.jar")
    assert len(SERVER_SHA256) == 64


def test_server_arguments_follow_the_android_version():
    options = ScrcpyOptions()
    args, warning = options.server_args("0000abcd", 33)
    assert {"audio=true", "audio_source=playback", "audio_dup=true", "tunnel_forward=true"} <= set(args) and warning is None
    args, warning = options.server_args("0000abcd", 31)
    assert "audio_source=output" in args and "mutes" in warning
    args, warning = options.server_args("0000abcd", 29)
    assert "audio=false" in args and "video only" in warning
    assert parse_server_command("CLASSPATH=/x app_process / com.genymobile.scrcpy.Server 3.3.4 scid=1 audio=false") == (
        "3.3.4", {"scid": "1", "audio": "false"})


def _client(rig, sdk: int = 33, **options) -> ScrcpyClient:
    adb = adbutils.AdbClient(host="127.0.0.1", port=rig.server.port).device(rig.phone.serial)
    origin = time.monotonic()
    return ScrcpyClient(adb, find_server_jar(), ScrcpyOptions(max_size=800, max_fps=8, **options), sdk,
                        lambda: time.monotonic() - origin)


def test_virtual_phone_streams_video_and_audio_into_mkv(rig, tmp_path):
    client = _client(rig)
    frames: list[tuple[float, int]] = []
    info = client.start(tmp_path / "screen.mkv", lambda h, pts, image: frames.append((h, pts)))
    assert (info.width, info.height, info.audio_codec) == (360, 800, "opus")
    time.sleep(1.5)
    rig.phone.swipe(540, 1900, 540, 500, 0.2)
    time.sleep(1.0)
    client.stop()
    assert len(frames) >= 8
    assert all(b[1] > a[1] for a, b in zip(frames, frames[1:], strict=False))  # device PTS increase
    with av.open(str(tmp_path / "screen.mkv")) as container:
        kinds = sorted(s.type for s in container.streams)
        decoded = sum(1 for _ in container.decode(video=0))
    assert kinds == ["audio", "video"] and decoded >= 8


def test_below_android_11_records_video_only_with_a_warning(rig, tmp_path):
    client = _client(rig, sdk=29)
    info = client.start(tmp_path / "screen.mkv")
    time.sleep(0.8)
    client.stop()
    assert info.audio_codec is None and any("video only" in w for w in info.warnings)
    with av.open(str(tmp_path / "screen.mkv")) as container:
        assert [s.type for s in container.streams] == ["video"]


def test_a_server_of_another_version_is_refused(rig, monkeypatch, tmp_path):
    monkeypatch.setattr("device.scrcpy.SERVER_VERSION", "3.3.3")
    client = _client(rig)
    with pytest.raises(ScrcpyError, match="does not match the client"):
        client.start(tmp_path / "screen.mkv", timeout_s=3.0)
    client.stop()
