"""Trace folders on disk: trace.json header, append-only steps.jsonl, frames/ and audio/."""

from __future__ import annotations

import copy
import logging
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from recorder.errors import PersonaActError
from recorder.files import JSONTextError, atomic_write_bytes, dumps_strict, loads_strict, set_aside_torn_tail
from recorder.trace import (
    SCHEMA_VERSION,
    Step,
    Trace,
    TraceHeader,
    TraceValidationError,
    check_relative_path,
    check_schema_version,
    migrate,
)

log = logging.getLogger(__name__)

HEADER_FILE = "trace.json"
STEPS_FILE = "steps.jsonl"
TORN_FILE = "steps.torn.jsonl"  # where a half-written last line is kept, never deleted
FRAMES_DIR = "frames"
AUDIO_DIR = "audio"


class TraceFormatError(ValueError, PersonaActError):
    """A trace folder cannot be read; the message names the file (and line) and what is wrong."""


@dataclass(frozen=True)
class LineProblem:
    """A malformed line of steps.jsonl."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"{STEPS_FILE} line {self.line}: {self.message}" if self.line else f"{STEPS_FILE}: {self.message}"


def is_trace_folder(path: Path) -> bool:
    """Whether `path` looks like a trace folder."""
    return (path / HEADER_FILE).is_file()


def find_trace_folders(paths: Sequence[Path]) -> list[Path]:
    """Expand each path into trace folders: a trace folder itself, or every trace folder beneath it.

    Hidden folders (a name starting with '.') are skipped: they are an importer's or writer's staging
    folders, left behind by a crash, not traces. A folder listed twice is returned once.
    """
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if is_trace_folder(path):
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(p.parent for p in path.rglob(HEADER_FILE)
                                if not any(part.startswith(".") for part in p.parent.relative_to(path).parts)))
        else:
            raise TraceFormatError(f"{path}: not a trace folder (no {HEADER_FILE}) nor a directory of them")
    unique: dict[Path, Path] = {}
    for folder in found:
        unique.setdefault(folder.resolve(), folder)
    return list(unique.values())


class TraceReader:
    """Reads a trace folder lazily: the header at once, steps one line at a time."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.header = self._read_header()
        self.problems: list[LineProblem] = []

    def _read_header(self) -> TraceHeader:
        path = self.folder / HEADER_FILE
        if not path.is_file():
            raise TraceFormatError(f"{path}: missing; is {self.folder} a trace folder?")
        try:
            raw = loads_strict(path.read_bytes())
        except JSONTextError as err:
            raise TraceFormatError(f"{path}: {err}") from err
        except OSError as err:
            raise TraceFormatError(f"{path}: cannot read ({err.strerror})") from err
        if not isinstance(raw, dict):
            raise TraceFormatError(f"{path}: must hold a JSON object")
        try:
            self.source_version = check_schema_version(raw.get("schema_version", SCHEMA_VERSION))
            return TraceHeader.from_dict(migrate(raw, "header", self.source_version))
        except TraceValidationError as err:
            raise TraceFormatError(f"{path}: {err}") from err

    def steps(self, strict: bool = False, all_problems: bool = False) -> Iterator[Step]:
        """Yield valid steps in order, streaming the file; problems go to `self.problems` (strict: raise).

        A line that repeats an index already read (a duplicate) is left out, so nothing is counted twice;
        a line that skips ahead is kept (`load` renumbers) and reported. `all_problems` lists every bad
        field of a line instead of the first (slower, for `validate`).
        """
        self.problems = []
        path = self.folder / STEPS_FILE
        if not path.exists():
            return
        if not path.is_file():  # a FIFO or device would block or never end
            self.problems.append(LineProblem(0, "is not a regular file; steps left unread"))
            if strict:
                raise TraceFormatError(f"{self.folder}: {self.problems[-1]}")
            return
        expected = 0
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                step = self._parse_line(number, line, all_problems)
                if step is not None and step.index < expected:
                    self.problems.append(LineProblem(number, f"repeats step index {step.index} (already read); left out"))
                    step = None
                elif step is not None and step.index > expected:
                    self.problems.append(LineProblem(number, f"step index {step.index} out of order: "
                                                                     f"skips ahead (expected {expected})"))
                if strict and self.problems:
                    raise TraceFormatError(f"{self.folder}: {self.problems[-1]}")
                if step is not None:
                    expected = step.index + 1
                    yield step

    def _parse_line(self, number: int, line: bytes, all_problems: bool = False) -> Step | None:
        if not line.endswith(b"\n"):
            self.problems.append(LineProblem(number, "incomplete last line (written during a crash?)"))
            return None
        try:
            raw = loads_strict(line)
            if not isinstance(raw, dict):
                raise TraceValidationError("line", "must be a JSON object")
            return Step.from_dict(migrate(raw, "step", self.source_version))
        except JSONTextError as err:
            self.problems.append(LineProblem(number, str(err)))
        except TraceValidationError as err:
            messages = step_problems(raw, self.source_version) if all_problems and isinstance(raw, dict) else []
            self.problems.extend(LineProblem(number, m) for m in (messages or [str(err)]))
        return None

    def load(self, strict: bool = False) -> Trace:
        """Read the whole trace into memory; strict raises on any bad line, else bad lines are left out."""
        steps = list(self.steps(strict=strict))
        return Trace(self.header, tuple(_renumbered(steps)))

    def validate(self) -> list[str]:
        """Every problem in the folder: every bad field of every line, repeated or skipped indices, missing files."""
        messages: list[str] = []
        for step in self.steps(all_problems=True):
            for rel in (*step.frames, *([step.audio] if step.audio else [])):
                if not (self.folder / rel).is_file():
                    messages.append(f"step {step.index}: referenced file {rel} is missing")
        return [str(p) for p in self.problems] + messages

    def to_dataframe(self) -> Any:
        """Steps as a pandas DataFrame, one row per step, flattened columns."""
        import pandas as pd

        rows = [step_row(self.header, step) for step in self.steps()]
        return pd.DataFrame(rows, columns=STEP_COLUMNS)


STEP_COLUMNS = [
    "trace_id", "platform", "persona_id", "collector", "index", "appeared_at", "watch_s",
    "liked", "commented", "shared", "followed", "comment_text", "video_id", "author", "caption",
    "hashtags", "like_count", "comment_count", "share_count", "duration_s", "is_ad", "is_live",
    "category", "category_top", "category_source", "transcript", "n_frames", "audio",
]


def step_row(header: TraceHeader, step: Step) -> dict[str, Any]:
    """One flat DataFrame row for a step."""
    comments = [a.text for a in step.actions if a.name == "comment" and a.text]
    meta, cat = step.meta, step.category
    return {
        "trace_id": header.trace_id, "platform": header.platform, "persona_id": header.persona_id,
        "collector": header.collector, "index": step.index, "appeared_at": step.appeared_at,
        "watch_s": step.watch_s, "liked": step.did("like"), "commented": step.did("comment"),
        "shared": step.did("share"), "followed": step.did("follow"),
        "comment_text": " | ".join(comments) or None, "video_id": meta.video_id, "author": meta.author,
        "caption": meta.caption, "hashtags": list(meta.hashtags), "like_count": meta.like_count,
        "comment_count": meta.comment_count, "share_count": meta.share_count,
        "duration_s": meta.duration_s, "is_ad": meta.is_ad, "is_live": meta.is_live,
        "category": "/".join(cat.path) if cat else None, "category_top": cat.top if cat else None,
        "category_source": cat.source if cat else None, "transcript": step.transcript,
        "n_frames": len(step.frames), "audio": step.audio,
    }


def read_trace(folder: str | Path, strict: bool = False) -> Trace:
    """Load a whole trace folder into memory."""
    return TraceReader(folder).load(strict=strict)


def read_traces(folders: Sequence[Path], notes: list[str] | None = None) -> tuple[list[Trace], list[Path]]:
    """Load many trace folders, saying in `notes` (else the log) what was left out and why.

    Unreadable folders and a second folder with a trace_id already read are skipped (never pooled or
    double-counted); malformed lines are left out and counted per folder; empty traces are kept and noted.
    """
    traces: list[Trace] = []
    kept: list[Path] = []
    for reader, folder in _readers(folders, notes):
        trace = reader.load()
        _note_problems(reader, folder, notes)
        if not trace.steps:
            _note(notes, f"{folder}: no steps (counted as a session with no videos)")
        traces.append(trace)
        kept.append(folder)
    return traces, kept


def traces_to_dataframe(folders: Sequence[Path], notes: list[str] | None = None) -> Any:
    """All steps of several trace folders in one DataFrame; what was skipped goes to `notes` (see read_traces)."""
    import pandas as pd

    frames = []
    for reader, folder in _readers(folders, notes):
        frame = reader.to_dataframe()
        _note_problems(reader, folder, notes)
        if frame.empty:
            _note(notes, f"{folder}: no steps")
            continue
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=STEP_COLUMNS)


def _readers(folders: Sequence[Path], notes: list[str] | None) -> Iterator[tuple[TraceReader, Path]]:
    """A reader per readable folder; unreadable folders and repeated trace ids are noted and skipped."""
    first_folder: dict[str, Path] = {}
    for folder in folders:
        try:
            reader = TraceReader(folder)
        except TraceFormatError as err:
            _note(notes, f"skipped: {err}")
            continue
        trace_id = reader.header.trace_id
        if trace_id in first_folder:
            _note(notes, f"{folder}: trace_id {trace_id!r} already read from {first_folder[trace_id]}; skipped, not pooled")
            continue
        first_folder[trace_id] = folder
        yield reader, folder


def _note_problems(reader: TraceReader, folder: Path, notes: list[str] | None) -> None:
    if reader.problems:
        _note(notes, f"{folder}: {len(reader.problems)} malformed line(s) left out (first: {reader.problems[0]}); "
                     f"run `personaact trace validate` for all")


def _note(notes: list[str] | None, message: str) -> None:
    if notes is None:
        log.warning("%s", message)
    else:
        notes.append(message)


_PLACEHOLDERS: dict[str, Any] = {"index": 0, "appeared_at": "2000-01-01T00:00:00+00:00", "watch_s": 0.0,
                                 "actions": {"name": "like"}, "frames": "frames/placeholder.jpg", "path": "x",
                                 "hashtags": "x"}
_REQUIRED_INSIDE = ("path", "name")  # required fields of nested values (Category.path, Action.name)
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def step_problems(raw: dict[str, Any], source_version: int, limit: int = 50) -> list[str]:
    """Every field error of one steps.jsonl record (not only the first): report, neutralise the field, re-check."""
    try:
        record = copy.deepcopy(raw)
    except RecursionError:
        return []
    problems: list[str] = []
    while len(problems) < limit:
        try:
            Step.from_dict(migrate(record, "step", source_version))
            break
        except TraceValidationError as err:
            if str(err) in problems:
                break
            problems.append(str(err))
            if not _neutralise(record, err.field):
                break
    return problems


def _neutralise(record: dict[str, Any], dotted: str) -> bool:
    """Remove an optional field, or put a valid placeholder in a required one or a list item; False if impossible."""
    tokens = [(m.group(1), m.group(2)) for m in _TOKEN.finditer(dotted)]
    parent: Any = record
    for name, position in tokens[:-1]:
        try:
            parent = parent[name] if name is not None else parent[int(position)]
        except (KeyError, IndexError, TypeError):
            return False
    if not tokens:
        return False
    name, position = tokens[-1]
    if name in _REQUIRED_INSIDE and len(tokens) > 1:  # e.g. category.path, actions[0].name: drop the enclosing value
        return _neutralise(record, dotted[: dotted.rfind(".")])
    if position is not None:  # a list item: replace it so later positions keep their numbers
        list_name = tokens[-2][0] if len(tokens) > 1 else None
        if not isinstance(parent, list) or list_name not in _PLACEHOLDERS or int(position) >= len(parent):
            return False
        parent[int(position)] = copy.deepcopy(_PLACEHOLDERS[list_name])
        return True
    if not isinstance(parent, dict) or name not in parent and name not in _PLACEHOLDERS:
        return False
    if parent is record and name in ("index", "appeared_at", "watch_s"):
        parent[name] = _PLACEHOLDERS[name]
    elif name in parent:
        del parent[name]
    else:
        return False
    return True


def _renumbered(steps: list[Step]) -> Iterator[Step]:
    for position, step in enumerate(steps):
        yield step if step.index == position else replace(step, index=position)


class TraceWriter:
    """Appends steps to a trace folder, one fsynced line each, so a crash loses at most the step in flight."""

    def __init__(self, folder: Path, header: TraceHeader, next_index: int):
        self.folder = folder
        self.header = header
        self.next_index = next_index
        self._handle = (folder / STEPS_FILE).open("a", encoding="utf-8")

    @classmethod
    def create(cls, folder: str | Path, header: TraceHeader, exist_ok: bool = False) -> TraceWriter:
        """Start a new trace folder; refuses to touch an existing trace unless `exist_ok` (then resumes)."""
        folder = Path(folder)
        if is_trace_folder(folder):
            if not exist_ok:
                raise FileExistsError(f"{folder}: already holds a trace; resume it or pick a new folder")
            return cls.resume(folder)
        for sub in (FRAMES_DIR, AUDIO_DIR):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        _write_header(folder, header)
        return cls(folder, header, next_index=0)

    @classmethod
    def resume(cls, folder: str | Path) -> TraceWriter:
        """Reopen a trace for appending; a torn last line is moved to steps.torn.jsonl, never lost."""
        folder = Path(folder)
        reader = TraceReader(folder)
        set_aside_torn_tail(folder / STEPS_FILE, folder / TORN_FILE)
        last = -1
        for step in reader.steps():  # streamed: a resume never holds the whole steps file in memory
            last = step.index
        if reader.problems:
            raise TraceFormatError(f"{folder}: cannot resume: {reader.problems[0]}; fix or remove that line first")
        return cls(folder, reader.header, next_index=last + 1)

    def append(self, step: Step) -> None:
        """Write one step as a JSON line and force it to disk."""
        if step.index != self.next_index:
            raise TraceValidationError("index", f"next step must have index {self.next_index}, got {step.index}")
        try:
            line = dumps_strict(step.to_dict())
        except ValueError as err:
            raise TraceValidationError("extra", f"step {step.index} is not plain JSON: {err}") from err
        self._handle.write(line + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.next_index += 1

    def add_file(self, source: str | Path | bytes, kind: str, name: str) -> str:
        """Store a frame or audio file in the trace folder; return its relative path for a Step."""
        subdir = {"frame": FRAMES_DIR, "audio": AUDIO_DIR}.get(kind)
        if subdir is None:
            raise ValueError(f"kind must be 'frame' or 'audio', got {kind!r}")
        rel = check_relative_path(f"{subdir}/{name}", "name")
        target = self.folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            shutil.copyfile(source, target)
        return rel

    def update_header(self, **changes: Any) -> TraceHeader:
        """Replace header fields (e.g. ended_at) with an atomic rewrite of trace.json."""
        self.header = self.header.with_changes(**changes)
        _write_header(self.folder, self.header)
        return self.header

    def close(self) -> None:
        """Close the steps file."""
        if not self._handle.closed:
            self._handle.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_header(folder: Path, header: TraceHeader) -> None:
    atomic_write_bytes(folder / HEADER_FILE, (dumps_strict(header.to_dict(), indent=2) + "\n").encode("utf-8"))


def write_trace(folder: str | Path, trace: Trace) -> Path:
    """Write a whole in-memory trace to a new folder."""
    with TraceWriter.create(folder, trace.header) as writer:
        for step in trace.steps:
            writer.append(step)
    return Path(folder)
