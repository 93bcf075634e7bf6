"""Importer for the public PersonaAct `raw_data/<collector>/session_*.json` recordings."""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PureWindowsPath
from typing import Any

from recorder.errors import PersonaActError
from recorder.files import JSONTextError, default_mode, loads_strict
from recorder.store import TraceWriter, is_trace_folder
from recorder.trace import MAX_WATCH_S, Action, Consent, Step, TraceHeader, TraceValidationError

log = logging.getLogger(__name__)

SOURCE_NAME = "personaact_raw"
# The public sample sessions shipped in the repository (MIT, see data/personaact_raw/SOURCE.md): the default input
# of the demo, `persona evaluate` and the tests. Relative when run from the repository root, so --help stays short.
_SHIPPED = Path(__file__).resolve().parents[2] / "data" / "personaact_raw"
PUBLIC_SAMPLE_DATA = Path("data/personaact_raw") if Path("data/personaact_raw").resolve() == _SHIPPED else _SHIPPED
ACTION_TYPES = {"like": "like", "comment": "comment", "share": "share", "follow": "follow", "favorite": "favorite"}
MEDIA_KEYS = ("xml_path", "video_path", "audio_path")
MAX_SESSION_BYTES = 256 * 2**20  # the public sessions are ~20 KB; anything this big is not a session file
STAGING_PREFIX = ".staging."  # hidden, so readers never count a half-imported trace (see find_trace_folders)
# What one bad session file can raise; it is reported and the import goes on with the next file.
FILE_ERRORS = (OSError, ValueError, KeyError, TypeError, OverflowError, RecursionError, PersonaActError)


class SessionFileError(ValueError, PersonaActError):
    """A path given to the importer is neither a session file nor a folder of them."""


@dataclass
class ImportReport:
    """What an import did: traces written, skipped, and problems with the file (and entry) they came from."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # warnings: the trace was still written
    failed: list[str] = field(default_factory=list)  # whole files that could not be imported
    steps: int = 0

    @property
    def ok(self) -> bool:
        """True when no file failed outright."""
        return not self.failed


def find_session_files(paths: Iterable[Path]) -> list[Path]:
    """Expand files and directories into the session_*.json files they hold, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():  # regular files only: a FIFO or device named like a session would hang the import
            found.extend(sorted(p for p in path.rglob("session_*.json") if p.is_file()))
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise SessionFileError(f"{path}: not a regular file or folder (a FIFO or device?); give session_*.json files")
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return found


def import_sessions(files: Iterable[Path], out_root: Path, utc_offset_h: float = 8.0,
                    media_root: Path | None = None, progress: Any = None) -> ImportReport:
    """Import each session file into `out_root/<collector>/<session_id>/`; a bad file never stops the rest."""
    if media_root is not None and not media_root.is_dir():  # else every video would silently go without media
        raise FileNotFoundError(f"--media-root {media_root}: no such folder")
    report = ImportReport()
    for file in files:
        try:
            import_session(file, out_root, report, utc_offset_h, media_root)
        except FILE_ERRORS as err:
            report.failed.append(f"{file}: {err}")
            log.warning("skipped %s: %s", file, err)
        if progress is not None:
            progress()
    return report


def import_session(file: Path, out_root: Path, report: ImportReport, utc_offset_h: float = 8.0,
                   media_root: Path | None = None) -> Path | None:
    """Import one session file as one trace folder (written to a temp folder, then renamed into place)."""
    raw = _load_session(file)
    header = session_header(raw, file, timezone(timedelta(hours=utc_offset_h)))
    if not raw.get("platform"):  # said, not silently assumed: a wrong platform mislabels every video
        report.problems.append(f"{file}: no platform given; assumed {header.platform}")
    target = out_root / _safe_name(header.collector or "unknown") / _safe_name(str(raw["session_id"]))
    if is_trace_folder(target):
        report.skipped.append(target)
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{target.name}.", dir=target.parent))
    staging.chmod(default_mode(directory=True))  # mkdtemp's 0700 would survive the rename into place
    try:
        with TraceWriter.create(staging, header, exist_ok=True) as writer:
            for step in session_steps(raw, header, file, report, writer, media_root):
                writer.append(step)
                report.steps += 1
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    report.written.append(target)
    return target


def remove_stale_staging(target: Path) -> None:
    """Delete staging folders a killed import of `target` left behind (ours: named after it, hidden)."""
    for prefix in (f"{STAGING_PREFIX}{target.name}.", f".{target.name}."):  # the second: older importer versions
        for stale in target.parent.glob(f"{prefix}*"):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
                log.info("removed %s left by an interrupted import", stale)


def _load_session(file: Path) -> dict[str, Any]:
    if not file.is_file():
        raise ValueError("not a regular file")
    if file.stat().st_size > MAX_SESSION_BYTES:
        raise ValueError(f"{file.stat().st_size} bytes is far more than a session holds "
                         f"(limit {MAX_SESSION_BYTES // 2**20} MiB); is it the right file?")
    try:
        raw = loads_strict(file.read_bytes())
    except JSONTextError as err:
        raise ValueError(str(err)) from err
    if not isinstance(raw, dict):
        raise ValueError("must hold a JSON object with session_id, collector, start_time, actions")
    for key in ("session_id", "start_time", "actions"):
        if key not in raw:
            raise ValueError(f"missing field {key!r}")
    if not isinstance(raw["actions"], list):
        raise ValueError("field 'actions' must be a list of viewed videos")
    return raw


def session_header(raw: dict[str, Any], file: Path, local_tz: timezone) -> TraceHeader:
    """The trace header for a raw session (start/end times are local; the offset makes them aware)."""
    collector = str(raw.get("collector") or file.parent.name)
    extra = {"source": SOURCE_NAME, "source_file": f"{file.parent.name}/{file.name}",
             "session_id": str(raw["session_id"])}
    if "total_actions" in raw:
        extra["total_actions"] = raw["total_actions"]
    return TraceHeader(
        trace_id=f"{collector}-{raw['session_id']}",
        recorded_by="human",
        platform=str(raw.get("platform") or "douyin"),
        started_at=_local_time(raw["start_time"], local_tz, "start_time"),
        ended_at=_local_time(raw["end_time"], local_tz, "end_time") if raw.get("end_time") else None,
        persona_id=collector,
        collector=collector,
        consent=Consent(consented=True, anonymised=True, notes="public PersonaAct raw_data (MIT licence)"),
        extra=extra,
    )


def session_steps(raw: dict[str, Any], header: TraceHeader, file: Path, report: ImportReport,
                  writer: TraceWriter, media_root: Path | None) -> Iterator[Step]:
    """Steps for the session's viewed videos; an unusable entry is reported and left out."""
    previous_end = header.started_at
    index = 0
    for number, entry in enumerate(raw["actions"]):
        where = f"{file}: actions[{number}]"
        try:
            step = _entry_step(entry, index, previous_end, where, report)
            end = step.appeared_at + timedelta(seconds=step.watch_s)  # overflows near year 9999
        except (TraceValidationError, ValueError, TypeError, OverflowError) as err:
            report.problems.append(f"{where}: {err}; entry left out")
            continue
        if media_root is not None:
            step = _attach_media(step, media_root, writer, where, report)
        previous_end = end
        index += 1
        yield step


def _entry_step(entry: Any, index: int, previous_end: datetime, where: str, report: ImportReport) -> Step:
    if not isinstance(entry, dict):
        raise ValueError("must be an object")
    watch = entry.get("viewing_duration", 0.0)
    if watch is None:
        watch = 0.0
    if isinstance(watch, bool) or not isinstance(watch, (int, float)):
        raise ValueError(f"viewing_duration must be a number, got {watch!r}")
    if not math.isfinite(watch) or watch > MAX_WATCH_S:  # checked before any time arithmetic, which would overflow
        raise ValueError(f"viewing_duration (watch_s) {watch!r} is not a plausible view (0..{MAX_WATCH_S:.0f} s)")
    if watch == 0:
        report.problems.append(f"{where}: viewing_duration is 0 (kept as a 0 s view)")
    # The UI dump is taken when the viewer leaves the video, so the view started viewing_duration seconds earlier.
    stamp = entry.get("timestamp")
    appeared = _dump_time(stamp) - timedelta(seconds=float(watch)) if stamp else previous_end
    for key in MEDIA_KEYS:
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise ValueError(f"{key} must be a path string, got {entry[key]!r}")
    sources = {k: to_posix(entry[k]) for k in MEDIA_KEYS if entry.get(k)}
    actions = entry.get("actions")
    if actions is not None and not isinstance(actions, list):
        raise ValueError(f"actions must be a list such as [{{\"type\": \"like\"}}], got {actions!r}")
    return Step(index=index, appeared_at=appeared, watch_s=float(watch),
                actions=tuple(_actions(actions or [], where, report)),
                extra={"source": sources} if sources else {})


def _actions(items: list[Any], where: str, report: ImportReport) -> Iterator[Action]:
    for i, item in enumerate(items):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in ACTION_TYPES:
            report.problems.append(f"{where}.actions[{i}]: unknown action {item!r}; left out")
            continue
        text = item.get("text") if kind == "comment" else None
        yield Action(ACTION_TYPES[kind], text=str(text) if text is not None else None)


def _attach_media(step: Step, media_root: Path, writer: TraceWriter, where: str, report: ImportReport) -> Step:
    """Copy the audio and grab a middle key frame from the video when the original media are at hand."""
    sources = step.extra.get("source", {})
    audio = _find_media(media_root, sources.get("audio_path"), where, report)
    video = _find_media(media_root, sources.get("video_path"), where, report)
    changes: dict[str, Any] = {}
    if audio is not None:
        changes["audio"] = writer.add_file(audio, "audio", f"{step.index:06d}{audio.suffix}")
    if video is not None:
        frame = middle_frame_jpeg(video)
        if frame is None:
            report.problems.append(f"{where}: could not read a frame from {video}")
        else:
            changes["frames"] = (writer.add_file(frame, "frame", f"{step.index:06d}_mid.jpg"),)
    return replace(step, **changes) if changes else step


def _find_media(media_root: Path, rel: str | None, where: str = "", report: ImportReport | None = None) -> Path | None:
    """The media file `rel` names under `media_root`; paths that are absolute or climb out of it are refused."""
    if not rel:
        return None
    root = media_root.resolve()
    candidates = [media_root / rel, media_root / rel.split("/", 1)[-1]]  # with or without the raw_data/ prefix
    if PureWindowsPath(rel).drive or rel.startswith("/") or ".." in rel.split("/"):
        if report is not None:
            report.problems.append(f"{where}: media path {rel!r} leaves --media-root; refused")
        return None
    for candidate in candidates:
        resolved = candidate.resolve()
        if not resolved.is_relative_to(root):  # e.g. a symlink inside the media root pointing elsewhere
            if report is not None:
                report.problems.append(f"{where}: media path {rel!r} resolves outside --media-root; refused")
            return None
        if resolved.is_file():
            return resolved
    return None


def middle_frame_jpeg(video: Path) -> bytes | None:
    """The frame halfway through a video file, JPEG-encoded, or None if OpenCV cannot read it."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        capture.set(cv2.CAP_PROP_POS_FRAMES, max(count // 2, 0))
        ok, image = capture.read()
        if not ok:
            return None
        ok, encoded = cv2.imencode(".jpg", image)
        return encoded.tobytes() if ok else None
    finally:
        capture.release()


def to_posix(path: str) -> str:
    """`raw_data\\c\\xml\\a.xml` -> `raw_data/c/xml/a.xml` (the recordings were made on Windows)."""
    return PureWindowsPath(path).as_posix()


def _dump_time(stamp: Any) -> datetime:
    """UI-dump timestamps such as 20251222T084045878 are UTC with milliseconds."""
    try:
        return datetime.strptime(str(stamp), "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    except ValueError as err:
        raise ValueError(f"timestamp {stamp!r} is not like 20251222T084045878") from err


def _local_time(value: Any, local_tz: timezone, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as err:
        raise ValueError(f"{name} {value!r} is not an ISO-8601 time") from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=local_tz)


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return cleaned or "unnamed"
