"""Record a participant: stream touches, sample hierarchies and record the screen into a capture folder, then segment.

Every stream is stamped on one host clock: `time.monotonic()` minus the origin taken at start (capture.json keeps
the wall time of that origin). Device times (getevent uptime, video PTS) are stored beside it, never instead.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from recorder.capture.anonymise import Anonymiser
from recorder.capture.assemble import Assembly, assemble
from recorder.capture.hierarchy import ScreenRules
from recorder.capture.redact import Redaction, redact_capture, strip_other_screens
from recorder.capture.session import CAPTURE_DIR, FRAMES, HEADER, MEDIA, TOUCH, UI, pack_xml, read_capture
from recorder.capture.source import CaptureSource, MediaStatus
from recorder.errors import PersonaActError
from recorder.files import atomic_write_bytes, write_json_atomic
from recorder.store import HEADER_FILE, STEPS_FILE, TraceWriter
from recorder.trace import Consent, TraceHeader

log = logging.getLogger(__name__)
CAPTURE_SCHEMA = 1


class RecordingError(PersonaActError, RuntimeError):
    """A recording cannot start or finish; the message says what to do."""


@dataclass(frozen=True)
class RecordConfig:
    """How to record: hierarchy sampling interval, whether to record the screen, who the participant is."""

    participant: str
    app: str
    consent_note: str
    hierarchy_interval_s: float = 1.0
    media: bool = True
    account_names: tuple[str, ...] = ()
    keep_unredacted: bool = False  # keep the raw screen.mkv beside the redacted one (needs the participant's consent)

    def __post_init__(self) -> None:
        if not self.participant.strip():
            raise RecordingError("--participant must name the participant (a study id, not their real name)")
        if not self.consent_note.strip():
            raise RecordingError("--consent must describe the consent given (e.g. 'signed form v2, 2026-03-01'); "
                                 "record only people who agreed")
        if self.hierarchy_interval_s <= 0:
            raise RecordingError(f"--hierarchy-interval must be > 0 seconds, got {self.hierarchy_interval_s}")


@dataclass
class RecordStatus:
    """Live counters for the status line."""

    elapsed_s: float = 0.0
    touch_lines: int = 0
    dumps: int = 0
    dump_failures: int = 0
    frames: int = 0
    warnings: list[str] = field(default_factory=list)


def _thumb(image: Any) -> str:
    import cv2

    # Colour, not grey: two videos of equal brightness but different hues must still differ.
    return cv2.resize(image, (8, 8), interpolation=cv2.INTER_AREA).tobytes().hex()


class Recorder:
    """One recording into `folder` (a new trace folder): start, poll `status`, then `stop` to finalise."""

    def __init__(self, source: CaptureSource, rules: ScreenRules, folder: Path, config: RecordConfig):
        self.source, self.rules, self.folder, self.config = source, rules, Path(folder), config
        self.capture = self.folder / CAPTURE_DIR
        self.status = RecordStatus()
        self.anonymiser = Anonymiser(config.account_names)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._origin = 0.0
        self._locks = {name: threading.Lock() for name in (TOUCH, UI, FRAMES)}
        self._files: dict[str, IO[str]] = {}
        self.media: MediaStatus | None = None
        self.header: dict[str, Any] = {}
        self.redaction: Redaction | None = None

    def clock(self) -> float:
        """Seconds on the host's monotonic clock since the recording started."""
        return time.monotonic() - self._origin

    def start(self) -> None:
        """Write the headers and start the touch, hierarchy and media streams."""
        if self.folder.exists() and any(self.folder.iterdir()):
            raise RecordingError(f"--out {self.folder} is not empty; pick a new folder (recordings are never overwritten)")
        info = self.source.describe()
        self.capture.mkdir(parents=True, exist_ok=True)
        started = datetime.now(UTC)
        self._origin = time.monotonic()
        self.header = {"kind": "capture", "schema_version": CAPTURE_SCHEMA, "app": self.config.app,
                       "participant": self.config.participant, "consent": self.config.consent_note,
                       "started_at": started.isoformat(), "serial": info.serial, "sdk": info.sdk,
                       "screen": list(info.size), "touch_axes": info.axes.to_dict() if info.axes else None,
                       "hierarchy_interval_s": self.config.hierarchy_interval_s, "warnings": []}
        if info.axes is None:
            self.header["warnings"].append("no touch panel readable through getevent: taps and swipes not recorded")
        for name in (TOUCH, UI, FRAMES):
            self._files[name] = (self.capture / name).open("a", encoding="utf-8")
        self._write_trace_header(started, info.app_version, info.model or info.serial)
        self._spawn(self._touch_loop)
        self._spawn(self._ui_loop)
        if self.config.media:
            try:
                self.media = self.source.start_media(self.capture / MEDIA, self._on_frame, self.clock)
                self.header["media"] = {"video": self.media.video, "audio": self.media.audio, "server": self.media.server,
                                        "size": [self.media.width, self.media.height]}
                self.header["warnings"] += list(self.media.warnings)
            except PersonaActError as err:
                self.header["warnings"].append(f"no screen recording: {err}")
        self.status.warnings = list(self.header["warnings"])
        write_json_atomic(self.capture / HEADER, self.header)

    def _write_trace_header(self, started: datetime, app_version: str | None, device: str) -> None:
        header = TraceHeader(trace_id=f"{self.config.participant}-{started.strftime('%Y%m%dT%H%M%S')}",
                             recorded_by="human", platform=self.config.app, started_at=started, app_version=app_version,
                             device=device, persona_id=self.config.participant, collector=self.config.participant,
                             consent=Consent(consented=True, anonymised=False, notes=self.config.consent_note),
                             extra={"source": "personaact record"})
        TraceWriter.create(self.folder, header).close()

    def _spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=target.__name__, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _append(self, name: str, record: dict[str, Any]) -> None:
        with self._locks[name]:
            handle = self._files[name]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()

    def _touch_loop(self) -> None:
        try:
            for line in self.source.touch_lines(self._stop):
                self._append(TOUCH, {"h": round(self.clock(), 6), "l": line.rstrip("\n")})
                self.status.touch_lines += 1
                if self._stop.is_set():
                    break
        except PersonaActError as err:
            self.status.warnings.append(f"touch stream ended: {err}")
            return
        if not self._stop.is_set():
            self.status.warnings.append("touch stream ended before the recording stopped (cable or adb restart?): "
                                        "later taps and swipes are missing")

    def _ui_loop(self) -> None:
        interval = self.config.hierarchy_interval_s
        next_at = self.clock()
        while not self._stop.is_set():
            asked = self.clock()
            try:
                xml = self.source.hierarchy()
                record = {"h": round(asked, 6), "d": round(self.clock() - asked, 4),
                          "z": pack_xml(self.anonymiser.scrub_xml(xml))}
                self.status.dumps += 1
            except PersonaActError as err:
                record = {"h": round(asked, 6), "error": str(err)[:200]}
                self.status.dump_failures += 1
            self._append(UI, record)
            next_at = max(next_at + interval, self.clock())
            self._stop.wait(max(0.0, next_at - self.clock()))

    def _on_frame(self, host_s: float, pts: int, image: Any) -> None:
        self._append(FRAMES, {"h": round(host_s, 6), "pts": pts, "thumb": _thumb(image)})
        self.status.frames += 1

    def poll(self) -> RecordStatus:
        """The counters now (for the live status line)."""
        self.status.elapsed_s = self.clock()
        return self.status

    def stop(self, progress: Callable[[int], None] | None = None) -> Assembly:
        """Stop every stream, close the files, segment the capture into the trace's steps and redact the recording.

        Redaction runs here, not later, so the unfiltered screen recording lives on disk only while this runs;
        `progress` is advanced once per video frame re-encoded.
        """
        self.header["stopped_h"] = round(self.clock(), 6)
        self._stop.set()
        if self.media is not None:
            self.source.stop_media()
        for thread in self._threads:
            thread.join(timeout=10)
        for handle in self._files.values():
            handle.close()
        self.header["warnings"] = list(dict.fromkeys(self.header["warnings"] + self.status.warnings))
        write_json_atomic(self.capture / HEADER, self.header)
        result = finalise(self.folder, self.rules)
        try:
            self.redaction = redact_recording(self.folder, self.rules, self.config.keep_unredacted, progress)
        except PersonaActError as err:  # the steps are written: report it, `record process` redacts first
            result.problems.append(str(err))
        return result


def finalise(folder: Path, rules: ScreenRules) -> Assembly:
    """(Re)segment a trace folder's capture into its steps.jsonl (atomic, idempotent) and note problems in its header."""
    capture = read_capture(Path(folder) / CAPTURE_DIR)
    result = assemble(capture, rules)
    body = "".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in result.steps)
    atomic_write_bytes(Path(folder) / STEPS_FILE, body.encode("utf-8"))
    header_path = Path(folder) / HEADER_FILE
    data = json.loads(header_path.read_text(encoding="utf-8"))
    extra = dict(data.get("extra") or {})
    extra.update({"capture_warnings": capture.header.get("warnings", []), "capture_problems": result.problems[:50],
                  "media": capture.header.get("media")})
    if capture.header.get("stopped_h") is not None:
        started = datetime.fromisoformat(capture.header["started_at"])
        data["ended_at"] = datetime.fromtimestamp(started.timestamp() + capture.header["stopped_h"], UTC).isoformat()
    data["extra"] = {k: v for k, v in extra.items() if v is not None}
    write_json_atomic(header_path, data)
    return result


def redact_recording(folder: Path, rules: ScreenRules, keep_unredacted: bool = False,
                     progress: Callable[[int], None] | None = None) -> Redaction | None:
    """Redact a trace folder's screen recording and stored hierarchies of other screens; note it in the trace header."""
    stripped = strip_other_screens(Path(folder) / CAPTURE_DIR, rules)
    report = redact_capture(Path(folder) / CAPTURE_DIR, rules, keep_unredacted, progress)
    if not stripped and (report is None or report.already):
        return report
    header_path = Path(folder) / HEADER_FILE
    data = json.loads(header_path.read_text(encoding="utf-8"))
    extra = dict(data.get("extra") or {})
    done = dict(extra.get("redaction") or {})
    done["hierarchies_stripped"] = done.get("hierarchies_stripped", 0) + stripped
    if report is not None and not report.already:
        done.update({"video_frames": report.video_frames, "video_frames_blanked": report.video_frames_blanked,
                     "blanks": len(report.blanks), "unredacted_kept": report.unredacted is not None})
        extra["redaction_problems"] = report.problems[:50]
    extra["redaction"] = done
    data["extra"] = extra
    write_json_atomic(header_path, data)
    return report
