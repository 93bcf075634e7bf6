"""Trace folders on disk: trace.json header, append-only steps.jsonl, frames/ and audio/."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from recorder.errors import PersonaActError
from recorder.files import set_aside_torn_tail, write_json_atomic
from recorder.trace import (
    SCHEMA_VERSION,
    Step,
    Trace,
    TraceHeader,
    TraceValidationError,
    check_relative_path,
    migrate,
)

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
        return f"{STEPS_FILE} line {self.line}: {self.message}"


def is_trace_folder(path: Path) -> bool:
    """Whether `path` looks like a trace folder."""
    return (path / HEADER_FILE).is_file()


def find_trace_folders(paths: list[Path]) -> list[Path]:
    """Expand each path into trace folders: a trace folder itself, or every trace folder beneath it."""
    found: list[Path] = []
    for path in paths:
        if is_trace_folder(path):
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(p.parent for p in path.rglob(HEADER_FILE)))
        else:
            raise TraceFormatError(f"{path}: not a trace folder (no {HEADER_FILE}) nor a directory of them")
    return found


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
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise TraceFormatError(f"{path}: not valid JSON ({err})") from err
        if not isinstance(raw, dict):
            raise TraceFormatError(f"{path}: must hold a JSON object")
        self.source_version = int(raw.get("schema_version", SCHEMA_VERSION))
        try:
            return TraceHeader.from_dict(migrate(raw, "header", self.source_version))
        except TraceValidationError as err:
            raise TraceFormatError(f"{path}: {err}") from err

    def steps(self, strict: bool = False) -> Iterator[Step]:
        """Yield valid steps in order; malformed lines go to `self.problems` (or raise when strict)."""
        self.problems = []
        path = self.folder / STEPS_FILE
        if not path.exists():
            return
        with path.open("r", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                step = self._parse_line(number, line)
                if step is not None:
                    yield step
                elif strict:
                    raise TraceFormatError(f"{self.folder}: {self.problems[-1]}")

    def _parse_line(self, number: int, line: str) -> Step | None:
        if not line.endswith("\n"):
            self.problems.append(LineProblem(number, "incomplete last line (written during a crash?)"))
            return None
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise TraceValidationError("line", "must be a JSON object")
            return Step.from_dict(migrate(raw, "step", self.source_version))
        except json.JSONDecodeError as err:
            self.problems.append(LineProblem(number, f"not valid JSON ({err.msg} at column {err.colno})"))
        except TraceValidationError as err:
            self.problems.append(LineProblem(number, str(err)))
        return None

    def load(self, strict: bool = False) -> Trace:
        """Read the whole trace into memory (indices renumbered only if strict is off and lines were dropped)."""
        steps = list(self.steps(strict=strict))
        return Trace(self.header, tuple(_renumbered(steps)))

    def validate(self) -> list[str]:
        """Every problem in the folder: bad lines, index gaps, referenced files that are missing."""
        messages: list[str] = []
        expected = 0
        for step in self.steps():
            if step.index != expected:
                messages.append(f"step {step.index}: index out of order (expected {expected})")
            expected = step.index + 1
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


def traces_to_dataframe(folders: list[Path]) -> Any:
    """All steps of several trace folders in one DataFrame."""
    import pandas as pd

    frames = [TraceReader(folder).to_dataframe() for folder in folders]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=STEP_COLUMNS)


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
        write_json_atomic(folder / HEADER_FILE, header.to_dict())
        return cls(folder, header, next_index=0)

    @classmethod
    def resume(cls, folder: str | Path) -> TraceWriter:
        """Reopen a trace for appending; a torn last line is moved to steps.torn.jsonl, never lost."""
        folder = Path(folder)
        reader = TraceReader(folder)
        set_aside_torn_tail(folder / STEPS_FILE, folder / TORN_FILE)
        count = sum(1 for _ in reader.steps())
        if reader.problems:
            raise TraceFormatError(f"{folder}: cannot resume: {reader.problems[0]}; fix or remove that line first")
        return cls(folder, reader.header, next_index=count)

    def append(self, step: Step) -> None:
        """Write one step as a JSON line and force it to disk."""
        if step.index != self.next_index:
            raise TraceValidationError("index", f"next step must have index {self.next_index}, got {step.index}")
        self._handle.write(json.dumps(step.to_dict(), ensure_ascii=False) + "\n")
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
        write_json_atomic(self.folder / HEADER_FILE, self.header.to_dict())
        return self.header

    def close(self) -> None:
        """Close the steps file."""
        if not self._handle.closed:
            self._handle.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_trace(folder: str | Path, trace: Trace) -> Path:
    """Write a whole in-memory trace to a new folder."""
    with TraceWriter.create(folder, trace.header) as writer:
        for step in trace.steps:
            writer.append(step)
    return Path(folder)
