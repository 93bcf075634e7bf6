"""The MKV remux: Opus packets stamped as the phone stamps them decode at the device time they were captured."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from device.scrcpy_media import Muxer, opus_pre_skip_us
from recorder.capture.process import ASR_RATE, decode_audio
from recorder.capture.session import CAPTURE_DIR, MEDIA

RATE, CHUNK, BASE_US = 48_000, 960, 1_000_000


def _record(folder: Path, signal: np.ndarray) -> None:
    """Encode `signal` as a phone does (20 ms Opus packets stamped with their input's capture time) plus a video."""
    mux = Muxer(folder / CAPTURE_DIR / MEDIA, 64, 64, "opus")
    video = av.CodecContext.create("libx264", "w")
    video.width = video.height = 64
    video.pix_fmt, video.time_base, video.framerate = "yuv420p", Fraction(1, 1_000_000), Fraction(10, 1)
    video.options = {"preset": "ultrafast", "tune": "zerolatency", "bf": "0"}
    video.flags |= av.codec.context.Flags.global_header
    video.open()
    mux.set_config("video", bytes(video.extradata))
    audio = av.CodecContext.create("libopus", "w")
    audio.sample_rate, audio.layout, audio.format, audio.time_base = RATE, "stereo", "s16", Fraction(1, RATE)
    audio.open()
    head = bytes(audio.extradata)
    mux.set_config("audio", head)
    pre_skip = int.from_bytes(head[10:12], "little")
    for i in range(len(signal) // CHUNK):
        if i % 5 == 0:
            image = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="bgr24").reformat(format="yuv420p")
            image.pts = BASE_US + i * 20_000
            for packet in video.encode(image):
                mux.write("video", bytes(packet), int(packet.pts), bool(packet.is_keyframe))
        frame = av.AudioFrame.from_ndarray(np.repeat(signal[i * CHUNK:(i + 1) * CHUNK], 2).reshape(1, -1), format="s16",
                                           layout="stereo")
        frame.sample_rate, frame.pts = RATE, i * CHUNK
        for packet in audio.encode(frame):
            chunk = (int(packet.pts) + pre_skip) // CHUNK  # the input chunk this packet encodes
            mux.write("audio", bytes(packet), BASE_US + chunk * 20_000, False)
    mux.close()


def test_pre_skip_is_read_from_the_opus_head():
    head = b"OpusHead" + bytes([1, 2]) + (312).to_bytes(2, "little") + (48_000).to_bytes(4, "little") + bytes(3)
    assert opus_pre_skip_us(head) == 6500
    assert opus_pre_skip_us(b"\x00" * 19) == 0 and opus_pre_skip_us(b"OpusHead") == 0


def test_audio_decodes_at_the_device_time_it_was_captured(tmp_path):
    (tmp_path / CAPTURE_DIR).mkdir()
    signal = np.zeros(150 * CHUNK, np.int16)
    burst = 75 * CHUNK + 123  # input sample where a loud burst starts: device time 1 s + burst / 48 kHz
    signal[burst:burst + 4800] = (np.random.default_rng(0).standard_normal(4800) * 8000).astype(np.int16)
    _record(tmp_path, signal)
    audio = decode_audio(tmp_path)
    found = np.flatnonzero(np.abs(audio.astype(np.int32)) > 2000)[0] / ASR_RATE
    # Without the pre-skip shift the burst decodes 6.5 ms late; the container keeps milliseconds.
    assert abs(found - (BASE_US / 1e6 + burst / RATE)) < 0.0015
