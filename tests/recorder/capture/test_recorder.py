"""The recorder loop against a scripted CaptureSource: headers, consent, refusal to overwrite, scrubbed storage."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from device.profiles import load_profile
from device.virtual import hierarchy as hv
from recorder.capture.getevent import parse_axes
from recorder.capture.recorder import RecordConfig, Recorder, RecordingError
from recorder.capture.session import CAPTURE_DIR, UI, read_capture
from recorder.capture.source import CaptureSource, MediaStatus, SourceInfo
from recorder.store import read_trace
from recorder.trace import VideoMeta
from tests.recorder.capture.test_getevent import LP, swipe

SIZE = (1080, 2400)
PROFILE = load_profile("douyin")


class ScriptedSource:
    """Shows video A, then (after a swipe at 0.3 s) video B by my_secret_name; no media."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.uptime0 = 1000.0

    def describe(self) -> SourceInfo:
        return SourceInfo("fake-1", 29, SIZE, parse_axes(LP, SIZE), "1.0", "Fake")

    def touch_lines(self, stop: threading.Event):
        time.sleep(0.35)
        lines = swipe(self.uptime0 + time.monotonic() - self.t0 - 0.2, 540, 1900, 540, 500, 1, duration=0.19)
        yield from lines
        stop.wait(5)

    def hierarchy(self) -> str:
        second = time.monotonic() - self.t0 > 0.36
        author = "my_secret_name" if second else "creator_a"
        meta = VideoMeta(author=author, caption=f"{author} call 13812345678")
        return hv.to_xml(hv.video_boxes(PROFILE, meta, False, SIZE), SIZE, PROFILE.package)

    def current_activity(self) -> str | None:
        return None

    def start_media(self, path: Path, on_frame, clock) -> MediaStatus:
        raise AssertionError("media is off")

    def stop_media(self) -> None:
        pass


def config(**changes) -> RecordConfig:
    base = dict(participant="P01", app="douyin", consent_note="signed form v2", hierarchy_interval_s=0.05, media=False,
                account_names=("my_secret_name",))
    base.update(changes)
    return RecordConfig(**base)


def test_recording_is_segmented_and_stored_scrubbed(tmp_path):
    source = ScriptedSource()
    assert isinstance(source, CaptureSource)
    recorder = Recorder(source, PROFILE, tmp_path / "rec", config())
    recorder.start()
    time.sleep(0.9)
    result = recorder.stop()
    trace = read_trace(tmp_path / "rec")
    assert trace.header.consent.consented and trace.header.consent.notes == "signed form v2"
    assert [s.meta.author for s in trace.steps] == ["creator_a", "[redacted]"]
    assert trace.steps[1].extra["evidence"] == ["swipe", "key"]  # no video: no frame evidence claimed
    assert any("no video frames" in p for p in result.problems)
    stored = (tmp_path / "rec" / CAPTURE_DIR / UI).read_text()
    capture = read_capture(tmp_path / "rec" / CAPTURE_DIR)
    assert capture.ui and all("my_secret_name" not in (s.xml or "") and "13812345678" not in (s.xml or "")
                              for s in capture.ui)
    assert "z" in stored and capture.header["stopped_h"] > 0.8
    with pytest.raises(RecordingError, match="not empty"):
        Recorder(ScriptedSource(), PROFILE, tmp_path / "rec", config()).start()


def test_consent_and_participant_are_required():
    with pytest.raises(RecordingError, match="--consent"):
        config(consent_note=" ")
    with pytest.raises(RecordingError, match="--participant"):
        config(participant="")
