"""Blank the screen recording wherever it is not known to show the feed: black frames and silence, re-encoded in place.

Hierarchy samples are sparse (0.15-1 s apart), so a stretch is kept only when it lies between two consecutive feed
samples (a video, ad or live room with no share sheet open; the share sheet lists the participant's contacts, so
its picture goes, while its sound, the video still playing under it, stays when nothing else was seen in between).
From the last feed sample before any other sample (a chat, settings, a popup, another app, a failed dump) to the
end of the first feed sample after it, the screen is black and the sound silent; so is everything before the first
feed sample and after the last one. Host times map onto the media timeline through frames.jsonl (host time beside
device PTS, least-delayed frame). The result replaces screen.mkv atomically; capture/redaction.json records what was
blanked and the hash of the file written, so a second run over the same file does nothing.
"""

from __future__ import annotations

import bisect
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recorder.capture.hierarchy import FEED_SCREENS, HierarchyError, ScreenRules, UiState, read_state
from recorder.capture.session import MEDIA, UI, Capture, pack_xml, read_capture, unpack_xml
from recorder.errors import PersonaActError
from recorder.files import atomic_write_bytes, default_mode, loads_strict, sha256_file, write_json_atomic

REDACTION = "redaction.json"
UNREDACTED = "screen.unredacted.mkv"
REDACTION_SCHEMA = 1
SOUND_KEPT = ("share sheet",)  # screens whose sound is the feed's own (the video plays on under the sheet)
EMPTY_HIERARCHY = '<?xml version="1.0" encoding="UTF-8"?><hierarchy rotation="0"></hierarchy>'


class RedactionError(PersonaActError, RuntimeError):
    """The screen recording could not be re-encoded; it is still the raw file and the message says what to do."""


@dataclass(frozen=True)
class Mark:
    """One hierarchy sample on the host clock: the dump call [start_h, end_h] and the screen it showed."""

    start_h: float
    end_h: float
    screen: str  # a UiState kind, "share sheet", "failed dump" or "unreadable dump"

    @property
    def feed(self) -> bool:
        """Whether the sample showed a kept feed screen."""
        return self.screen in FEED_SCREENS


@dataclass(frozen=True)
class Blank:
    """A stretch of host time whose frames are blacked out and audio silenced; None = open-ended."""

    start_h: float | None
    end_h: float | None
    screens: tuple[str, ...]

    @property
    def silent(self) -> bool:
        """Whether the sound goes too (anything but a share sheet seen in it)."""
        return not set(self.screens) <= set(SOUND_KEPT)

    def bounds(self) -> tuple[float, float]:
        """(start, end) with open ends as infinities."""
        return (-math.inf if self.start_h is None else self.start_h, math.inf if self.end_h is None else self.end_h)


@dataclass
class Redaction:
    """What a redaction run did; written as capture/redaction.json."""

    blanks: list[Blank] = field(default_factory=list)
    offset_s: float | None = None  # host seconds minus media seconds
    ui_samples: int = 0
    feed_samples: int = 0
    video_frames: int = 0
    video_frames_blanked: int = 0
    audio_samples: int = 0
    audio_samples_silenced: int = 0
    media_bytes: int = 0
    media_sha256: str = ""
    unredacted: str | None = None
    problems: list[str] = field(default_factory=list)
    already: bool = False  # this run found the file already redacted (not stored)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record, with each blank's media times beside its host times."""
        data = asdict(self)
        data.pop("already")
        data["schema_version"] = REDACTION_SCHEMA
        data["blanks"] = [{**asdict(b), "screens": list(b.screens), "start_media_s": self._media(b.start_h),
                           "end_media_s": self._media(b.end_h), "silent": b.silent} for b in self.blanks]
        return data

    def _media(self, h: float | None) -> float | None:
        return None if h is None or self.offset_s is None else round(h - self.offset_s, 4)


def marks(capture: Capture, rules: ScreenRules) -> list[Mark]:
    """Every hierarchy sample, failed and unreadable ones included (they are not known to show the feed)."""
    out = []
    for sample in capture.ui:
        end = sample.h + sample.dump_s
        if sample.xml is None:
            out.append(Mark(sample.h, end, "failed dump"))
            continue
        try:
            state: UiState | None = read_state(sample.xml, rules)
        except HierarchyError:
            state = None
        screen = "unreadable dump" if state is None else "share sheet" if state.panel == "share" else state.kind
        out.append(Mark(sample.h, end, screen))
    return sorted(out, key=lambda m: m.start_h)


def blanks(samples: Sequence[Mark]) -> list[Blank]:
    """The stretches not bracketed by consecutive feed samples, merged, in order."""
    feed = [i for i, m in enumerate(samples) if m.feed]
    if not feed:
        return [Blank(None, None, tuple(sorted({m.screen for m in samples})) or ("no hierarchy samples",))]
    out = [Blank(None, samples[feed[0]].end_h, ("before the first feed sample",))]
    for a, b in zip(feed, feed[1:], strict=False):
        if b > a + 1:
            out.append(Blank(samples[a].start_h, samples[b].end_h, tuple(sorted({m.screen for m in samples[a + 1:b]}))))
    out.append(Blank(samples[feed[-1]].start_h, None, ("after the last feed sample",)))
    merged = [out[0]]
    for blank in out[1:]:
        last = merged[-1]
        if blank.bounds()[0] <= last.bounds()[1]:
            end = None if None in (last.end_h, blank.end_h) else max(last.end_h or 0.0, blank.end_h or 0.0)
            merged[-1] = Blank(last.start_h, end, tuple(dict.fromkeys(last.screens + blank.screens)))
        else:
            merged.append(blank)
    return merged


class Timeline:
    """Answers 'is this media time blanked?' for sorted, merged blanks (host times shifted by the clock offset)."""

    def __init__(self, spans: Sequence[Blank], offset_s: float | None, sound: bool = False):
        """The blanks of the picture, or with `sound` those of the audio (share-sheet-only blanks keep theirs)."""
        shift = 0.0 if offset_s is None else offset_s
        spans = [b for b in spans if b.silent] if sound else spans
        # Without a clock offset nothing can be placed: everything is blanked.
        pairs = [b.bounds() for b in spans] if offset_s is not None else [(-math.inf, math.inf)]
        self.starts = [lo - shift for lo, _ in pairs]
        self.ends = [hi - shift for _, hi in pairs]

    def blanked(self, t: float) -> bool:
        """Whether media second `t` falls in a blank."""
        i = bisect.bisect_right(self.starts, t) - 1
        return i >= 0 and t <= self.ends[i]

    def silence(self, t0: float, n: int, rate: int) -> Any:
        """A boolean mask over `n` samples starting at media second `t0`: True where the sound must go."""
        import numpy as np

        times = t0 + np.arange(n) / rate
        mask = np.zeros(n, dtype=bool)
        j = bisect.bisect_right(self.starts, times[-1]) - 1
        while j >= 0 and self.ends[j] >= t0:  # blanks are sorted and disjoint: only the last few can overlap
            mask |= (times >= self.starts[j]) & (times <= self.ends[j])
            j -= 1
        return mask


def clock_offset(capture: Capture) -> float | None:
    """Host seconds minus device PTS seconds, from the least-delayed decoded frame (as `record process` maps them)."""
    offsets = [f.h - f.pts / 1e6 for f in capture.frames]
    return min(offsets) if offsets else None


def recorded(capture_dir: Path) -> dict[str, Any] | None:
    """capture/redaction.json when it describes the screen.mkv there now (the file is already redacted), else None."""
    path, media = capture_dir / REDACTION, capture_dir / MEDIA
    if not path.is_file() or not media.is_file():
        return None
    try:
        data = loads_strict(path.read_bytes())
    except ValueError:
        return None
    ok = isinstance(data, dict) and data.get("media_bytes") == media.stat().st_size
    return data if ok and data.get("media_sha256") == sha256_file(media) else None


def blanked_spans(capture_dir: Path) -> Timeline | None:
    """The blanks of an already redacted recording on the host clock (`Timeline.blanked(host_s)`), or None."""
    data = recorded(capture_dir)
    if data is None:
        return None
    spans = [Blank(b.get("start_h"), b.get("end_h"), ()) for b in data.get("blanks", [])]
    return Timeline(spans, 0.0)


def redact_capture(capture_dir: str | Path, rules: ScreenRules, keep_unredacted: bool = False,
                   progress: Callable[[int], None] | None = None) -> Redaction | None:
    """Black out non-feed stretches of capture/screen.mkv in place; None when there is no screen recording."""
    from recorder.capture.transcode import transcode

    capture_dir = Path(capture_dir)
    media = capture_dir / MEDIA
    if not media.is_file():
        return None
    if (done := recorded(capture_dir)) is not None:
        return Redaction(offset_s=done.get("offset_s"), media_sha256=str(done.get("media_sha256")), already=True)
    capture = read_capture(capture_dir)
    samples = marks(capture, rules)
    report = Redaction(blanks=blanks(samples), offset_s=clock_offset(capture), ui_samples=len(samples),
                       feed_samples=sum(m.feed for m in samples))
    if report.offset_s is None:
        report.problems.append("frames.jsonl has no frames: the hierarchy cannot be placed on the video's timeline, "
                               "so the whole recording is blanked")
    for stale in capture_dir.glob(f".{MEDIA}.*.mkv"):  # a run killed mid-way (it held redacted frames only)
        stale.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{MEDIA}.", suffix=".mkv", dir=capture_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    end_s = max((f.pts / 1e6 for f in capture.frames), default=None)
    try:
        lines = Timeline(report.blanks, report.offset_s), Timeline(report.blanks, report.offset_s, sound=True)
        wrote = transcode(media, tmp, lines, report, progress, end_s)
        if keep_unredacted:
            report.unredacted = _keep(media, capture_dir / UNREDACTED)
        _swap(media, tmp if wrote else None)
    finally:
        tmp.unlink(missing_ok=True)
    if wrote:
        report.media_bytes, report.media_sha256 = media.stat().st_size, sha256_file(media)
    write_json_atomic(capture_dir / REDACTION, report.to_dict())
    return report


def _swap(media: Path, redacted: Path | None) -> None:
    """Put the redacted file in the raw one's place atomically; without one (nothing decoded) drop the raw file."""
    if redacted is None:
        media.unlink()  # nothing in it decodes, so nothing in it can be checked: not kept
        return
    with redacted.open("rb") as handle:
        os.fsync(handle.fileno())
    os.chmod(redacted, media.stat().st_mode & 0o7777 or default_mode())
    os.replace(redacted, media)


def _keep(media: Path, target: Path) -> str:
    """A second name for the raw file before it is replaced (a hard link: no copy, and a crash loses neither)."""
    import shutil

    if not target.exists():
        try:
            os.link(media, target)
        except OSError:
            shutil.copy2(media, target)
    return target.name


def strip_other_screens(capture_dir: str | Path, rules: ScreenRules) -> int:
    """Empty the stored hierarchies of screens that are not the app's (chats, settings, other apps); returns how many.

    They read as "other" before and after, so segmentation and attribution are unchanged; their text (someone's
    messages, the participant's settings) is gone. Lines that do not parse are left for the reader to report.
    """
    import json

    path = Path(capture_dir) / UI
    if not path.is_file():
        return 0
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    stripped = 0
    for i, line in enumerate(lines):
        record = _stripped(line, rules)
        if record is not None:
            lines[i] = json.dumps(record, ensure_ascii=False) + "\n"
            stripped += 1
    if stripped:
        atomic_write_bytes(path, "".join(lines).encode("utf-8"))
    return stripped


def _stripped(line: str, rules: ScreenRules) -> dict[str, Any] | None:
    """The record with an emptied hierarchy when it shows another screen; None when it stays as it is."""
    import json
    import zlib

    try:
        record = json.loads(line) if line.endswith("\n") else None
        xml = unpack_xml(record["z"]) if isinstance(record, dict) and "z" in record and "stripped" not in record else None
    except (ValueError, KeyError, TypeError, zlib.error):
        return None
    if xml is None or record is None:
        return None
    try:
        kind = read_state(xml, rules).kind
    except HierarchyError:
        kind = "unreadable"
    if kind not in ("other", "unreadable"):
        return None
    return {**record, "z": pack_xml(EMPTY_HIERARCHY), "stripped": kind}
