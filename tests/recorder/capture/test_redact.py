"""Redaction of the screen recording: non-feed stretches black and silent, feed kept, recorded, idempotent, cut files."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from device.profiles import load_profile
from device.virtual import hierarchy as hv
from recorder.capture.assemble import assemble
from recorder.capture.redact import REDACTION, UNREDACTED, Mark, blanks, redact_capture, strip_other_screens
from recorder.capture.session import FRAMES, HEADER, MEDIA, UI, pack_xml, read_capture, unpack_xml
from recorder.files import sha256_file
from recorder.trace import VideoMeta

PROFILE = load_profile("douyin")
SIZE = (1080, 2400)
W, H, FPS, SECONDS, RATE = 64, 48, 10, 6.0, 48_000
SHIFT = 0.3  # host seconds = media seconds + SHIFT (what frames.jsonl tells the redactor)
COLOUR = (200, 60, 40)
CHAT = ('<?xml version="1.0"?><hierarchy rotation="0"><node index="0" text="Are you coming tonight? call 0612345678" '
        'class="android.widget.TextView" package="com.ss.android.ugc.aweme" bounds="[0,200][1080,400]" /></hierarchy>')


def feed_xml(share: bool = False) -> str:
    meta = VideoMeta(author="chef", caption="noodles #food", hashtags=("food",), like_count=10, comment_count=2)
    boxes = hv.video_boxes(PROFILE, meta, False, SIZE) + (hv.share_boxes(PROFILE, SIZE) if share else [])
    return hv.to_xml(boxes, SIZE, PROFILE.package)


def write_media(path: Path, noise: bool = False) -> None:
    """SECONDS of a flat colour at FPS (H.264) and a 440 Hz stereo tone or noise (Opus), PTS from 0 in milliseconds."""
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        audio = out.add_stream("libopus", rate=RATE)
        audio.codec_context.layout, audio.codec_context.format = "stereo", "flt"
        image = np.zeros((H, W, 3), dtype=np.uint8) + np.array(COLOUR, dtype=np.uint8)
        for i in range(int(SECONDS * FPS)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i * 1000 // FPS, Fraction(1, 1000)
            out.mux(video.encode(frame))
        t = np.arange(int(SECONDS * RATE)) / RATE
        tone = (0.2 * np.random.default_rng(0).standard_normal(len(t)) if noise
                else 0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone), 960):
            chunk = np.repeat(tone[start:start + 960][None, :], 2, axis=0).T.reshape(1, -1).copy()
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
            out.mux(audio.encode(frame))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))


def build_capture(folder: Path, chat_at: tuple[float, ...] = (2.43, 2.93), failed_at: tuple[float, ...] = (),
                  share_at: tuple[float, ...] = ()) -> Path:
    """A capture folder: header, frames.jsonl on the host clock, ui.jsonl every 0.5 s with a chat in the middle."""
    capture = folder / "capture"
    capture.mkdir(parents=True)
    (capture / HEADER).write_text(json.dumps({"kind": "capture", "schema_version": 1, "screen": list(SIZE),
                                              "started_at": "2026-01-01T00:00:00+00:00"}))
    with (capture / FRAMES).open("w") as f:
        for i in range(int(SECONDS * FPS)):
            media_s = i / FPS
            f.write(json.dumps({"h": round(media_s + SHIFT + (0.004 if i % 3 else 0.0), 6), "pts": int(media_s * 1e6),
                                "thumb": "00" * 192}) + "\n")
    with (capture / UI).open("w") as f:
        for k in range(12):
            h = round(0.43 + 0.5 * k, 2)  # off the frame grid: no frame sits on a blank edge
            if any(abs(h - t) < 1e-9 for t in failed_at):
                f.write(json.dumps({"h": h, "error": "dump timed out"}) + "\n")
                continue
            xml = CHAT if any(abs(h - t) < 1e-9 for t in chat_at) else feed_xml(h in share_at)
            f.write(json.dumps({"h": h, "d": 0.05, "z": pack_xml(xml)}) + "\n")
    write_media(capture / MEDIA)
    return capture


def decoded(path: Path) -> tuple[list[tuple[float, np.ndarray]], np.ndarray, list[float]]:
    """Video frames as (media s, RGB mean), mono audio at 48 kHz laid on its PTS, and the audio frame times."""
    frames, pieces, times = [], [], []
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            frames.append((float(frame.pts * frame.time_base), frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(0)))
        container.seek(0)
        for frame in container.decode(container.streams.audio[0]):
            t = float(frame.pts * frame.time_base)
            times.append(t)
            pieces.append((int(round(t * RATE)), frame.to_ndarray().reshape(frame.layout.nb_channels, -1)[0]))
    audio = np.zeros(max(at + len(s) for at, s in pieces))
    for at, samples in pieces:
        audio[at:at + len(samples)] = samples
    return frames, audio, times


def rms(audio: np.ndarray, lo: float, hi: float) -> float:
    part = audio[int(lo * RATE):int(hi * RATE)]
    return float(np.sqrt(np.mean(part ** 2)))


@pytest.fixture(scope="module")
def redacted(tmp_path_factory):
    capture = build_capture(tmp_path_factory.mktemp("rec"))
    original = sha256_file(capture / MEDIA)
    report = redact_capture(capture, PROFILE, keep_unredacted=True)
    return capture, report, original


def test_chat_interval_is_black_and_silent_feed_kept(redacted):
    capture, report, _ = redacted
    frames, audio, _ = decoded(capture / MEDIA)
    assert len(frames) == int(SECONDS * FPS)  # every frame kept in place, only its picture changed
    assert [round(t, 3) for t, _ in frames] == [round(i / FPS, 3) for i in range(len(frames))]
    # Chat seen at host 2.43 and 2.93; feed at 1.93 and 3.43 (+0.05 dump): blank host [1.93, 3.48] = media [1.63, 3.18].
    chat = [m for t, m in frames if 1.63 <= t <= 3.18]
    feed = [m for t, m in frames if 0.2 <= t < 1.6 or 3.2 < t < 5.6]
    assert chat and all(m.max() < 8 for m in chat)
    assert feed and all(np.abs(m - COLOUR).max() < 10 for m in feed)
    # -50 dB and less under the 0.28 tone: the Opus decoder's own decay of the last kept sound, exact zeros after.
    assert rms(audio, 1.64, 3.17) < 1e-3 and rms(audio, 1.7, 3.1) < 3e-4 and not audio[int(2.4 * RATE):int(3.0 * RATE)].any()
    assert rms(audio, 0.3, 1.6) > 0.2 and rms(audio, 3.2, 5.6) > 0.2
    # Before the first feed sample (host 0.48) and after the last (host 5.93) nothing is known: blanked too.
    assert all(m.max() < 8 for t, m in frames if t <= 0.18 or t >= 5.63)
    assert report is not None and not report.problems


def test_redaction_record(redacted):
    capture, report, original = redacted
    data = json.loads((capture / REDACTION).read_text())
    assert data["media_sha256"] == sha256_file(capture / MEDIA) != original
    assert data["video_frames"] == 60 and data["feed_samples"] == 10 and data["ui_samples"] == 12
    first, chat, last = data["blanks"]
    assert first["start_h"] is None and first["end_h"] == pytest.approx(0.48)
    assert chat["screens"] == ["other"] and (chat["start_h"], chat["end_h"]) == pytest.approx((1.93, 3.48))
    assert (chat["start_media_s"], chat["end_media_s"]) == pytest.approx((1.63, 3.18), abs=1e-3)
    assert last["start_h"] == pytest.approx(5.93) and last["end_h"] is None
    assert data["video_frames_blanked"] == 2 + 15 + 3  # media 0.0-0.1, 1.7-3.1, 5.7-5.9
    assert data["audio_samples_silenced"] == pytest.approx((0.18 + 1.55 + 0.37) * RATE, rel=0.02)
    assert data["unredacted"] == UNREDACTED and sha256_file(capture / UNREDACTED) == original


def test_second_run_does_nothing(redacted):
    capture, _, _ = redacted
    before = (capture / MEDIA).stat().st_mtime_ns, (capture / REDACTION).read_text()
    again = redact_capture(capture, PROFILE)
    assert again is not None and again.already
    assert ((capture / MEDIA).stat().st_mtime_ns, (capture / REDACTION).read_text()) == before


def test_failed_dump_counts_as_not_feed_and_raw_file_is_not_kept(tmp_path):
    capture = build_capture(tmp_path, chat_at=(), failed_at=(3.93,))
    report = redact_capture(capture, PROFILE)
    assert report is not None and report.unredacted is None and not (capture / UNREDACTED).exists()
    middle = [b for b in report.blanks if b.start_h is not None and b.end_h is not None]
    assert [(b.start_h, b.end_h, b.screens) for b in middle] == [(3.43, pytest.approx(4.48), ("failed dump",))]
    frames, audio, _ = decoded(capture / MEDIA)
    assert all(m.max() < 8 for t, m in frames if 3.13 <= t <= 4.18)
    assert rms(audio, 3.14, 4.17) < 1e-3 and rms(audio, 1.0, 3.0) > 0.2


def test_cut_file_redacts_what_decodes_and_reports_the_rest(tmp_path):
    capture = build_capture(tmp_path)
    data = (capture / MEDIA).read_bytes()
    (capture / MEDIA).write_bytes(data[: len(data) * 6 // 10])  # the recorder was killed mid-cluster
    report = redact_capture(capture, PROFILE)
    assert report is not None and any("cut short" in p or "stopped" in p for p in report.problems), report.problems
    frames, _, _ = decoded(capture / MEDIA)
    assert 10 < len(frames) < 60 and report.video_frames == len(frames)
    assert all(m.max() < 8 for t, m in frames if 1.63 <= t <= 3.18)
    assert json.loads((capture / REDACTION).read_text())["problems"] == report.problems


def test_undecodable_file_is_not_kept(tmp_path):
    capture = build_capture(tmp_path)
    (capture / MEDIA).write_bytes(b"\x1aE\xdf\xa3 not a real matroska file" * 10)
    report = redact_capture(capture, PROFILE)
    assert report is not None and not (capture / MEDIA).exists() and report.problems
    assert redact_capture(capture, PROFILE) is None  # nothing left to redact


def _mark(h: float, screen: str) -> Mark:
    return Mark(h, h + 0.1, screen)


def test_blanks_bracketing_rules():
    assert [b.bounds() for b in blanks([])] == [(-math.inf, math.inf)]
    assert [b.bounds() for b in blanks([_mark(1, "video"), _mark(2, "other")])] == [(-math.inf, math.inf)]
    marks = [_mark(1, "video"), _mark(2, "ad"), _mark(3, "popup"), _mark(4, "live"), _mark(4.5, "live"),
             _mark(5, "share sheet"), _mark(6, "failed dump"), _mark(7, "video"), _mark(8, "video")]
    got = [(b.bounds(), b.screens) for b in blanks(marks)]
    assert got == [((-math.inf, 1.1), ("before the first feed sample",)), ((2, 4.1), ("popup",)),
                   ((4.5, 7.1), ("failed dump", "share sheet")), ((8, math.inf), ("after the last feed sample",))]
    # A lone feed sample between two other screens brackets nothing: the two blanks overlap inside it and merge.
    merged = blanks([_mark(1, "video"), _mark(2, "video"), _mark(3, "other"), _mark(4, "video"), _mark(5, "other"),
                     _mark(6, "video"), _mark(7, "video")])
    assert [b.bounds() for b in merged] == [(-math.inf, 1.1), (2, 6.1), (7, math.inf)]


def trace_folder(tmp_path: Path) -> Path:
    """A trace folder around the synthetic capture, segmented as `record start` would leave it before redaction."""
    from datetime import UTC, datetime

    from recorder.capture.recorder import finalise
    from recorder.store import TraceWriter
    from recorder.trace import Consent, TraceHeader

    folder = tmp_path / "trace"
    build_capture(folder)
    header = TraceHeader(trace_id="P01-test", recorded_by="human", platform="douyin",
                         started_at=datetime(2026, 1, 1, tzinfo=UTC), consent=Consent(consented=True, notes="test"))
    TraceWriter.create(folder, header).close()
    finalise(folder, PROFILE)
    return folder


def test_process_redacts_first_and_takes_no_key_frame_from_a_black_stretch(tmp_path):
    import cv2

    from recorder.capture.process import ProcessConfig, process_trace
    from recorder.store import read_trace

    folder = trace_folder(tmp_path)
    unredacted = process_trace(folder, ProcessConfig(transcribe=False, categorise=False))
    assert any("not redacted" in p for p in unredacted.problems) and not (folder / "capture" / REDACTION).exists()
    for jpg in (folder / "frames").glob("*.jpg"):
        jpg.unlink()  # taken from the raw file: the run without the profile is what the warning is about
    report = process_trace(folder, ProcessConfig(frame_interval_s=1.0, transcribe=False, categorise=False), rules=PROFILE)
    assert report.redacted and (folder / "capture" / REDACTION).is_file()
    done = json.loads((folder / "trace.json").read_text())["extra"]["redaction"]
    assert (done["video_frames_blanked"], done["hierarchies_stripped"]) == (20, 2)
    step = read_trace(folder).steps[0]
    assert step.extra["screen"] == "video" and len(step.frames) == 6  # the one due inside the chat moved past it
    for rel in step.frames:
        image = cv2.imread(str(folder / rel))
        assert image.mean() > 40, rel
    assert process_trace(folder, ProcessConfig(transcribe=False, categorise=False), rules=PROFILE).redacted is False


def test_chat_hierarchies_are_emptied_and_segmentation_is_unchanged(tmp_path):
    capture = build_capture(tmp_path)
    before = assemble(read_capture(capture), PROFILE)
    assert strip_other_screens(capture, PROFILE) == 2
    records = [json.loads(line) for line in (capture / UI).read_text().splitlines()]
    assert [r["h"] for r in records if r.get("stripped") == "other"] == [2.43, 2.93]
    assert not any("tonight" in unpack_xml(r["z"]) for r in records)
    after = assemble(read_capture(capture), PROFILE)
    assert [s.to_dict() for s in after.steps] == [s.to_dict() for s in before.steps] and len(after.steps) == 1
    assert strip_other_screens(capture, PROFILE) == 0


def test_timeline_maps_host_blanks_onto_media_time():
    from recorder.capture.redact import Blank, Timeline

    line = Timeline([Blank(None, 1.0, ()), Blank(2.0, 3.0, ()), Blank(5.0, None, ())], offset_s=0.5)
    assert [line.blanked(t) for t in (0.4, 0.6, 1.4, 1.6, 2.6, 4.4, 4.6)] == [True, False, False, True, False, False, True]
    mask = line.silence(0.0, 10, 2)  # media 0.0, 0.5, ... 4.5 s
    assert mask.tolist() == [True, True, False, True, True, True, False, False, False, True]  # edges inclusive
    assert Timeline([Blank(2.0, 3.0, ())], offset_s=None).blanked(100.0)  # no clock: nothing can be placed


def test_encoder_failure_leaves_the_raw_file_and_says_so(tmp_path, monkeypatch):
    from recorder.capture import transcode
    from recorder.capture.redact import RedactionError

    capture = build_capture(tmp_path)
    raw = sha256_file(capture / MEDIA)
    monkeypatch.setattr(transcode, "VIDEO_CODEC", "no_such_encoder")
    with pytest.raises(RedactionError, match="still the raw recording"):
        redact_capture(capture, PROFILE)
    assert sha256_file(capture / MEDIA) == raw and not (capture / REDACTION).exists()
    assert sorted(p.name for p in capture.iterdir()) == sorted([FRAMES, HEADER, MEDIA, UI])


def test_share_sheet_hides_the_picture_but_keeps_the_videos_sound(tmp_path):
    capture = build_capture(tmp_path, chat_at=(), share_at=(2.93,))
    report = redact_capture(capture, PROFILE)
    assert report is not None
    middle = [b for b in report.blanks if b.start_h is not None and b.end_h is not None]
    assert [(b.screens, b.silent) for b in middle] == [(("share sheet",), False)]
    frames, audio, _ = decoded(capture / MEDIA)
    assert all(m.max() < 8 for t, m in frames if 2.13 <= t <= 3.18)  # contacts on screen: black
    assert rms(audio, 2.2, 3.1) > 0.2  # the video still plays under the sheet
    assert json.loads((capture / REDACTION).read_text())["blanks"][1]["silent"] is False


def test_redaction_keeps_the_audio_where_it_was_to_the_sample(tmp_path):
    from recorder.capture.process import ASR_RATE, decode_audio

    capture = build_capture(tmp_path)
    write_media(capture / MEDIA, noise=True)  # noise: a lag of any size shows in the correlation (a tone repeats)
    before = decode_audio(tmp_path).astype(float)
    redact_capture(capture, PROFILE)
    after = decode_audio(tmp_path).astype(float)
    lo, hi = int(0.4 * ASR_RATE), int(1.5 * ASR_RATE)  # kept: between the first feed sample and the chat
    lags = range(-160, 161)  # +-10 ms
    best = max(lags, key=lambda k: float(np.dot(before[lo:hi], after[lo + k:hi + k])))
    assert best == 0 and len(after) == len(before)
