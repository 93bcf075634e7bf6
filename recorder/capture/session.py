"""The raw capture folder `record start` writes (append-only streams on one host clock) and its tolerant reader.

Layout of `<trace>/capture/`:
  capture.json   header: app, participant, consent, screen size, touch axes, audio status, scrcpy version, the
                 wall-clock time of host second 0 (`started_at`); every `h` below is seconds on the host's
                 monotonic clock since that origin.
  touch.jsonl    {"h": host_s, "l": "<getevent -lt line>"} per line (device uptime stays inside the line)
  ui.jsonl       {"h": host_s, "d": dump_s, "z": base64(zlib(xml))} per hierarchy sample, already anonymised,
                 or {"h": host_s, "error": "..."} for a failed dump
  frames.jsonl   {"h": host_s, "pts": device_pts_us, "thumb": "<8x8 BGR thumbnail, hex>"} per decoded video frame
  screen.mkv     video (+ audio) remuxed from the scrcpy stream without re-encoding, device PTS kept (audio moved
                 earlier by the Opus pre-skip, so it plays when it was captured); when recording stops it is
                 re-encoded with everything not known to be the feed blanked (redact.py, redaction.json)
A crash can cut any of these mid-line or mid-cluster: readers report that and keep everything before it.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder.errors import PersonaActError

CAPTURE_DIR = "capture"
HEADER = "capture.json"
TOUCH, UI, FRAMES, MEDIA = "touch.jsonl", "ui.jsonl", "frames.jsonl", "screen.mkv"


class CaptureError(PersonaActError, ValueError):
    """A capture folder cannot be read; the message names the file."""


def pack_xml(xml: str) -> str:
    """Compress a hierarchy dump for ui.jsonl (dumps are 20-200 kB of repetitive XML)."""
    return base64.b64encode(zlib.compress(xml.encode("utf-8"), 6)).decode("ascii")


def unpack_xml(packed: str) -> str:
    """Inverse of `pack_xml`."""
    return zlib.decompress(base64.b64decode(packed)).decode("utf-8")


@dataclass(frozen=True)
class UiSample:
    """One hierarchy sample: when it was asked for, how long it took, and the XML (None when the dump failed)."""

    h: float
    xml: str | None
    dump_s: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class FrameSample:
    """One decoded video frame: host time, device PTS (microseconds) and an 8x8 BGR thumbnail."""

    h: float
    pts: int
    thumb: bytes


@dataclass
class Capture:
    """A capture folder read back; `problems` lists truncated or malformed lines (the rest is kept)."""

    folder: Path
    header: dict[str, Any]
    touch: list[tuple[float, str]] = field(default_factory=list)
    ui: list[UiSample] = field(default_factory=list)
    frames: list[FrameSample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def media(self) -> Path | None:
        """The screen recording, if one was written."""
        path = self.folder / MEDIA
        return path if path.is_file() else None

    @property
    def end_h(self) -> float:
        """The last host time any stream saw (the stop time when the header has one)."""
        stop = self.header.get("stopped_h")
        if isinstance(stop, (int, float)):
            return float(stop)
        times = [t for t, _ in self.touch[-1:]] + [s.h for s in self.ui[-1:]] + [f.h for f in self.frames[-1:]]
        return max(times, default=0.0)


def _lines(path: Path, problems: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        return
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if not line.endswith("\n"):
                problems.append(f"{path.name} line {number}: truncated (the capture stopped mid-write); "
                                "ignored, everything before it is kept")
                return
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                problems.append(f"{path.name} line {number}: not valid JSON ({err.msg}); ignored")
                continue
            if isinstance(record, dict):
                yield number, record


def read_capture(folder: str | Path) -> Capture:
    """Read a capture folder, keeping every complete record and reporting the rest."""
    folder = Path(folder)
    header_path = folder / HEADER
    if not header_path.is_file():
        raise CaptureError(f"{header_path}: missing; is {folder} a capture folder written by `personaact record start`?")
    try:
        header = json.loads(header_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CaptureError(f"{header_path}: not valid JSON ({err})") from err
    capture = Capture(folder, header)
    problems = capture.problems
    for number, rec in _lines(folder / TOUCH, problems):
        if isinstance(rec.get("h"), (int, float)) and isinstance(rec.get("l"), str):
            capture.touch.append((float(rec["h"]), rec["l"]))
        else:
            problems.append(f"{TOUCH} line {number}: lacks h or l; ignored")
    for number, rec in _lines(folder / UI, problems):
        capture.ui.append(_ui_sample(rec, number, problems))
    for number, rec in _lines(folder / FRAMES, problems):
        try:
            capture.frames.append(FrameSample(float(rec["h"]), int(rec["pts"]), bytes.fromhex(str(rec["thumb"]))))
        except (KeyError, TypeError, ValueError):
            problems.append(f"{FRAMES} line {number}: lacks h, pts or thumb; ignored")
    capture.ui.sort(key=lambda s: s.h)
    return capture


def _ui_sample(rec: dict[str, Any], number: int, problems: list[str]) -> UiSample:
    h = float(rec.get("h", 0.0))
    if "z" not in rec:
        return UiSample(h, None, float(rec.get("d", 0.0)), str(rec.get("error", "no dump")))
    try:
        return UiSample(h, unpack_xml(rec["z"]), float(rec.get("d", 0.0)))
    except (ValueError, zlib.error) as err:
        problems.append(f"{UI} line {number}: hierarchy cannot be decompressed ({err}); ignored")
        return UiSample(h, None, 0.0, "corrupt")


class ClockMap:
    """Maps a device clock onto the host clock: offset = min(host receipt - device time) (least-delayed sample)."""

    def __init__(self) -> None:
        self.offset: float | None = None

    def observe(self, device_s: float, host_s: float) -> None:
        """One event stamped `device_s` by the phone arrived at `host_s`."""
        delta = host_s - device_s
        if self.offset is None or delta < self.offset:
            self.offset = delta

    def to_host(self, device_s: float) -> float:
        """Host time of a device timestamp."""
        if self.offset is None:
            raise CaptureError("no device timestamps observed yet; cannot map device time to host time")
        return device_s + self.offset
