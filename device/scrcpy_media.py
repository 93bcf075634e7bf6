"""Remux scrcpy's H.264 and Opus packets into one MKV without re-encoding, keeping the device PTS (audio: see pre-skip)."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

MICROSECONDS = Fraction(1, 1_000_000)
OPUS_RATE = 48_000  # Opus pre-skip is counted in 48 kHz samples whatever the input rate


def opus_pre_skip_us(head: bytes) -> int:
    """The encoder delay an OpusHead declares (its pre-skip), in microseconds; 0 for anything that is not one."""
    if len(head) < 12 or head[:8] != b"OpusHead":
        return 0
    return round(int.from_bytes(head[10:12], "little") * 1_000_000 / OPUS_RATE)


class Muxer:
    """Writes packets of the video (and audio) stream; holds them until each stream's config packet has arrived."""

    def __init__(self, path: Path, width: int, height: int, audio_codec: str | None):
        self.path, self.width, self.height, self.audio_codec = path, width, height, audio_codec
        self._configs: dict[str, bytes] = {}
        self._pending: list[tuple[str, bytes, int, bool]] = []
        self._lock = threading.Lock()
        self._container: Any = None
        self._streams: dict[str, Any] = {}
        self._template: Any = None
        self._audio_shift_us = 0
        self.packets = 0

    def _expected(self) -> set[str]:
        return {"video"} | ({"audio"} if self.audio_codec else set())

    def set_config(self, kind: str, payload: bytes) -> None:
        """The codec configuration (SPS/PPS for H.264, OpusHead for Opus) of one stream."""
        with self._lock:
            self._configs.setdefault(kind, payload)

    def write(self, kind: str, payload: bytes, pts_us: int, key: bool) -> None:
        """Mux one packet (buffered until the file header can be written)."""
        with self._lock:
            self._pending.append((kind, payload, pts_us, key))
            if len(self._pending) > 2048:  # no key frame ever came: keep memory bounded
                del self._pending[:1024]
            if self._container is None:
                # Waiting for the audio config must not hold video forever: a second of packets is enough.
                has_key = any(k == "video" and key for k, _, _, key in self._pending)
                if not has_key or (not self._expected() <= set(self._configs) and len(self._pending) < 256):
                    return
                self._open()
            for item in self._pending:
                self._mux(*item)
            self._pending.clear()

    def _open(self) -> None:
        import io

        import av

        self._container = av.open(str(self.path), "w", format="matroska")
        # The stream is copied from a parse of the config + first key frame: adding an "h264" stream would open
        # an encoder whose own SPS/PPS would replace the phone's.
        first_key = next((p for k, p, _, key in self._pending if k == "video" and key), b"")
        self._template = av.open(io.BytesIO(self._configs.get("video", b"") + first_key), format="h264")
        video = self._container.add_stream_from_template(self._template.streams.video[0])
        video.time_base = MICROSECONDS
        self._streams["video"] = video
        if self.audio_codec == "opus" and "audio" in self._configs:
            audio = self._container.add_stream("libopus", rate=48000)  # its OpusHead matches the phone's 48 kHz stereo
            audio.codec_context.layout = "stereo"
            audio.time_base = MICROSECONDS
            self._streams["audio"] = audio
            # The phone stamps each Opus packet with the capture time of its input, but a packet's decoded sound
            # starts pre-skip samples earlier (the encoder delay) and demuxers place it by that convention; without
            # this shift every recording's audio lands 6.5 ms late.
            self._audio_shift_us = opus_pre_skip_us(self._configs["audio"])
        self._container.start_encoding()

    def _mux(self, kind: str, payload: bytes, pts_us: int, key: bool) -> None:
        import av

        stream = self._streams.get(kind)
        if stream is None:
            return
        packet = av.Packet(payload)
        packet.stream = stream
        packet.time_base = MICROSECONDS
        packet.pts = packet.dts = pts_us - (self._audio_shift_us if kind == "audio" else 0)
        packet.is_keyframe = key
        self._container.mux(packet)
        self.packets += 1

    def close(self) -> None:
        """Flush and close the file (nothing is written when no packet came)."""
        with self._lock:
            if self._container is None and any(k == "video" and key for k, _, _, key in self._pending):
                self._open()
                for item in self._pending:
                    self._mux(*item)
            if self._container is not None:
                self._container.close()
                self._container = None
                self._template.close()
