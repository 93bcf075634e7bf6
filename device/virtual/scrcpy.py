"""The virtual phone's scrcpy server: H.264 of its rendered screen and Opus of the speech of each transcript.

It answers `app_process / com.genymobile.scrcpy.Server <version> key=value...` as the real v3.3.4 server does
(refusing another version), then serves the video and audio sockets the client opens on `localabstract:scrcpy_<scid>`.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from fractions import Fraction
from typing import Any

import numpy as np

from device.scrcpy import CODEC_NUMBERS, DEVICE_NAME_BYTES, SERVER_VERSION, pack_packet
from device.virtual.phone import VirtualPhone
from device.virtual.speech import SAMPLE_RATE, speak

log = logging.getLogger(__name__)
CHUNK = 960  # Opus frames of 20 ms
PRE_SKIP = 312  # libopus' encoder delay in samples: packet PTS run this much behind the input


def parse_server_command(command: str) -> tuple[str, dict[str, str]] | None:
    """(client version, options) of a scrcpy server command line, or None when it is not one."""
    words = command.split()
    if "com.genymobile.scrcpy.Server" not in words:
        return None
    rest = words[words.index("com.genymobile.scrcpy.Server") + 1:]
    version = rest[0] if rest else ""
    options = dict(w.split("=", 1) for w in rest[1:] if "=" in w)
    return version, options


class ScrcpySession:
    """One server run: the sockets the client opens, in order (video, then audio), and the encoders behind them."""

    def __init__(self, phone: VirtualPhone, options: dict[str, str], stop: threading.Event):
        self.phone, self.options, self.stop = phone, options, stop
        self.audio = options.get("audio", "true") == "true"
        self.max_fps = max(1, int(float(options.get("max_fps", "15") or 15)))
        self.connections = 0
        self.started = time.monotonic()
        self._speech: dict[str, np.ndarray] = {}
        self._speech_lock = threading.Lock()
        self._ready: dict[str, float] = {}

    def size(self) -> tuple[int, int, int]:
        """(width, height, drawing scale) honouring max_size, dimensions multiples of 8 as scrcpy makes them."""
        w, h = self.phone.size
        max_size = int(self.options.get("max_size", "0") or 0)
        scale = max(1, -(-max(w, h) // max_size)) if max_size else 1
        return (w // scale) // 8 * 8, (h // scale) // 8 * 8, scale

    def serve(self, sock: socket.socket) -> None:
        """Serve the next socket the client opened: the first is video, the second audio."""
        self.connections += 1
        try:
            if self.connections == 1:
                sock.sendall(b"\x00" + b"PersonaAct Virtual".ljust(DEVICE_NAME_BYTES, b"\0"))
                self._video(sock)
            elif self.connections == 2 and self.audio:
                self._audio(sock)
        except OSError:
            pass

    def _pts(self) -> int:
        return int((time.monotonic() - self.started) * 1_000_000)

    def _video(self, sock: socket.socket) -> None:
        import av

        width, height, scale = self.size()
        sock.sendall(struct.pack(">III", CODEC_NUMBERS["h264"], width, height))
        encoder = av.CodecContext.create("libx264", "w")
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.time_base, encoder.framerate = Fraction(1, 1_000_000), Fraction(self.max_fps, 1)
        encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(self.max_fps * 2), "bf": "0"}
        encoder.flags |= av.codec.context.Flags.global_header
        encoder.thread_count = 1
        encoder.open()
        sock.sendall(pack_packet(bytes(encoder.extradata or b""), 0, config=True))
        period = 1.0 / self.max_fps
        next_at = time.monotonic()
        while not self.stop.is_set():
            image = self.phone.screen_frame(scale=scale, upscale=False)
            if image.shape[1] != width or image.shape[0] != height:
                image = np.ascontiguousarray(image[:height, :width])
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
            frame.pts = self._pts()
            for packet in encoder.encode(frame):
                sock.sendall(pack_packet(bytes(packet), int(packet.pts or 0), key=bool(packet.is_keyframe)))
            next_at += period
            time.sleep(max(0.0, next_at - time.monotonic()))
            if time.monotonic() - next_at > 1.0:  # a loaded machine: drop frames rather than fall behind
                next_at = time.monotonic()

    def _speech_for(self, key: str, text: str) -> np.ndarray | None:
        """The speech of `key` once synthesised (it plays from then, as a video starts once buffered), else None."""
        with self._speech_lock:
            if key in self._speech:
                return self._speech[key] if self._ready.get(key) else None
            self._speech[key] = np.zeros(0, dtype=np.int16)  # silence until synthesised
        threading.Thread(target=self._synthesise, args=(key, text), daemon=True).start()
        return None

    def _prepare_next(self) -> None:
        """Synthesise the next video's speech now, as an app preloads the next video, so it plays from its start."""
        upcoming = self.phone.upcoming_speech()
        if upcoming is not None:
            self._speech_for(*upcoming)

    def _synthesise(self, key: str, text: str) -> None:
        pcm = speak(text, self.phone.voice)
        with self._speech_lock:
            self._speech[key] = pcm
            self._ready[key] = time.monotonic()
            while len(self._speech) > 32:  # keep memory bounded over long sessions
                self._ready.pop(next(iter(self._speech)), None)
                self._speech.pop(next(iter(self._speech)))

    def _audio(self, sock: socket.socket) -> None:
        import av

        sock.sendall(struct.pack(">I", CODEC_NUMBERS["opus"]))
        encoder = av.CodecContext.create("libopus", "w")
        encoder.sample_rate, encoder.layout, encoder.format = SAMPLE_RATE, "stereo", "s16"
        encoder.time_base = Fraction(1, SAMPLE_RATE)
        encoder.open()
        sock.sendall(pack_packet(bytes(encoder.extradata or b""), 0, config=True))
        samples = 0
        start = time.monotonic()
        made: dict[int, float] = {}  # chunk number -> when it was captured, for its PTS (as AudioRecord stamps it)
        played: dict[str, int] = {}  # samples of the current video's speech already played
        while not self.stop.is_set():
            key, text, _ = self.phone.speaking()
            speech = self._speech_for(key, text) if text else None
            if key not in played:
                self._prepare_next()
            chunk = np.zeros(CHUNK, dtype=np.int16)
            begin = played.get(key, 0)
            if speech is not None:
                # A player moves through the sound sample by sample: a late loop delays it, never skips it.
                part = speech[begin:begin + CHUNK]
                chunk[:len(part)] = part
                self.phone.spoken[key] = (min(begin + CHUNK, len(speech)) / SAMPLE_RATE, len(speech) / SAMPLE_RATE)
                begin += CHUNK
            played = {key: begin}
            made[samples // CHUNK] = time.monotonic()
            frame = av.AudioFrame.from_ndarray(np.repeat(chunk, 2).reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate, frame.pts = SAMPLE_RATE, samples
            samples += CHUNK
            for packet in encoder.encode(frame):
                number = max(0, int(packet.pts or 0) + PRE_SKIP) // CHUNK
                captured = made.pop(number, None) or time.monotonic()
                for old in [n for n in made if n < number]:
                    made.pop(old)
                sock.sendall(pack_packet(bytes(packet), int((captured - self.started) * 1_000_000)))
            lag = time.monotonic() - (start + samples / SAMPLE_RATE)
            if lag > 0.1:  # a loaded machine: resume the 20 ms pace from now rather than burst (stamps would collide)
                start += lag
            time.sleep(max(0.0, start + samples / SAMPLE_RATE - time.monotonic()))


def run_server(sock: socket.socket, command: str, phone: VirtualPhone, jar: bytes | None, sessions: dict[str, Any],
               stop: threading.Event) -> None:
    """The server's shell: check the jar and version, register the session, stay open until the client leaves."""
    parsed = parse_server_command(command)
    if jar is None:
        sock.sendall(b"Error: Could not find or load main class com.genymobile.scrcpy.Server\n")
        return
    version, options = parsed or ("", {})
    if version != SERVER_VERSION:
        sock.sendall(f"[server] ERROR: The server version ({SERVER_VERSION}) does not match the client ({version})\n"
                     .encode())
        return
    name = f"scrcpy_{options.get('scid', '')}" if options.get("scid") else "scrcpy"
    session_stop = threading.Event()
    sessions[name] = ScrcpySession(phone, options, session_stop)
    sock.sendall(b"[server] INFO: Device: [personaact] PersonaAct Virtual (Android 13)\n")
    sock.settimeout(0.2)
    try:
        while not stop.is_set() and not session_stop.is_set():
            try:
                if not sock.recv(1024):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
    finally:
        session_stop.set()
        sessions.pop(name, None)
