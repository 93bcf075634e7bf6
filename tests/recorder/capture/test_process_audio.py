"""Per-video audio: Opus frames stamped with capture jitter decode into one continuous track, real gaps stay gaps."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from recorder.capture.process import ASR_RATE, decode_audio
from recorder.capture.session import CAPTURE_DIR, MEDIA

RATE, FRAME = 48_000, 960


def _write_tone(folder: Path, stamps_ms: list[int]) -> None:
    """An MKV whose 20 ms Opus frames of a 440 Hz tone carry the given millisecond stamps."""
    path = folder / CAPTURE_DIR / MEDIA
    path.parent.mkdir(parents=True)
    t = np.arange(len(stamps_ms) * FRAME) / RATE
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libopus", rate=RATE)
        stream.codec_context.layout, stream.codec_context.format = "mono", "s16"
        stream.codec_context.time_base = Fraction(1, RATE)
        packets = []
        for i in range(len(stamps_ms) + 3):
            chunk = tone[i * FRAME:(i + 1) * FRAME]
            frame = av.AudioFrame.from_ndarray(np.pad(chunk, (0, FRAME - len(chunk))).reshape(1, -1), format="s16",
                                               layout="mono")
            frame.sample_rate, frame.pts = RATE, i * FRAME
            packets += stream.encode(frame)
        packets += stream.encode(None)
        for packet, stamp in zip(packets, stamps_ms, strict=False):
            packet.pts = packet.dts = stamp
            packet.time_base = Fraction(1, 1000)
            container.mux(packet)


def _zero_runs(samples: np.ndarray, at_least: int) -> int:
    """How many runs of at least `at_least` exact zeros `samples` holds."""
    zero = np.concatenate([[0], (samples == 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(zero))
    return int(np.sum(edges[1::2] - edges[::2] >= at_least))


def test_jittered_stamps_decode_without_clicks(tmp_path):
    rng = np.random.default_rng(0)
    stamps = [1000 + 20 * i + int(rng.integers(-2, 3)) for i in range(100)]  # 2 s, capture jitter of +-2 ms
    _write_tone(tmp_path, stamps)
    audio = decode_audio(tmp_path)
    body = audio[int(1.1 * ASR_RATE):int(2.9 * ASR_RATE)]
    assert _zero_runs(body, 4) == 0  # each frame at its own stamp left a gap or an overlap at most boundaries
    assert abs(len(audio) / ASR_RATE - 3.0) < 0.05


def test_a_real_gap_in_the_capture_is_kept(tmp_path):
    stamps = [1000 + 20 * i for i in range(50)] + [1000 + 20 * i + 500 for i in range(50, 100)]  # 0.5 s dropout
    _write_tone(tmp_path, stamps)
    audio = decode_audio(tmp_path)
    assert _zero_runs(audio[int(1.5 * ASR_RATE):int(2.5 * ASR_RATE)], int(0.4 * ASR_RATE)) == 1
    assert abs(len(audio) / ASR_RATE - 3.5) < 0.05


def test_a_late_first_stamp_does_not_move_the_run(tmp_path):
    # The first packet was stamped 15 ms late (the capture thread started slowly); the other 99 keep a 20 ms cadence.
    stamps = [1015] + [1000 + 20 * i for i in range(1, 100)]
    _write_tone(tmp_path, stamps)
    audio = decode_audio(tmp_path)
    onset = np.flatnonzero(np.abs(audio.astype(np.int32)) > 2000)[0] / ASR_RATE
    # The cadence puts the tone at 1.0065 s (the packets' stamps plus Opus's 6.5 ms pre-skip); the first stamp alone
    # would put it 15 ms later.
    assert abs(onset - 1.0065) < 0.002
