"""The one trace format: a Trace header and Steps (one video shown each), validated and JSON round-trippable."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from recorder.errors import PersonaActError

SCHEMA_VERSION = 1
ACTION_NAMES = ("like", "comment", "share", "follow", "favorite", "not_interested")
RECORDERS = ("human", "agent", "sandbox")
CATEGORY_SOURCES = ("platform", "model", "keyword", "human")
MAX_WATCH_S = 86_400.0  # one video watched for over a day is a recording error, not a viewer (and overflows times)


class TraceValidationError(ValueError, PersonaActError):
    """A trace value breaks a rule; `field` names where (dotted), the message says what to do."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"field {field_name!r}: {message}")
        self.field = field_name

    def within(self, prefix: str) -> TraceValidationError:
        """Return the same error with its field name prefixed by an enclosing field."""
        return TraceValidationError(f"{prefix}.{self.field}", str(self).split(": ", 1)[1])


def check_relative_path(value: str, field_name: str) -> str:
    """Accept a POSIX path relative to the trace folder that cannot escape it."""
    if not isinstance(value, str) or not value:
        raise TraceValidationError(field_name, f"must be a non-empty relative path, got {value!r}")
    if "\\" in value or PureWindowsPath(value).drive:
        raise TraceValidationError(field_name, f"{value!r}: use forward slashes and no drive letter")
    path = PurePosixPath(value)
    if path.is_absolute():
        raise TraceValidationError(field_name, f"{value!r} is absolute; paths must be relative to the trace folder")
    if ".." in path.parts:
        raise TraceValidationError(field_name, f"{value!r} leaves the trace folder ('..' is not allowed)")
    return value


def _check_non_negative(value: float | int | None, field_name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TraceValidationError(field_name, f"must be a number, got {value!r}")
    if value < 0 or math.isinf(value):
        raise TraceValidationError(field_name, f"must be a finite number >= 0, got {value!r}")


def _check_count(value: Any, field_name: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise TraceValidationError(field_name, f"must be a whole number >= 0, got {value!r}")


def _check_text(value: Any, field_name: str) -> None:
    if value is not None and not isinstance(value, str):
        raise TraceValidationError(field_name, f"must be a string, got {value!r}")


def _check_list(value: Any, field_name: str, item: type = str) -> tuple[Any, ...]:
    """A JSON list (or tuple) whose items are all `item`; a bare string is refused, not read letter by letter."""
    if not isinstance(value, (list, tuple)):
        raise TraceValidationError(field_name, f"must be a list, got {value!r}")
    for i, element in enumerate(value):
        if not isinstance(element, item) or isinstance(element, bool):
            raise TraceValidationError(f"{field_name}[{i}]", f"must be a {item.__name__}, got {element!r}")
    return tuple(value)


def check_json_object(value: Any, field_name: str) -> dict[str, Any]:
    """A mapping that serialises as strict JSON (string keys, no NaN or infinity, no odd types)."""
    if not isinstance(value, Mapping):
        raise TraceValidationError(field_name, f"must be an object, got {value!r}")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as err:
        raise TraceValidationError(field_name, f"must hold plain JSON values (no NaN, infinity or objects): {err}") from err
    if not all(isinstance(key, str) for key in value):
        raise TraceValidationError(field_name, "keys must be strings")
    return dict(value)


def _check_aware(value: datetime, field_name: str) -> None:
    if not isinstance(value, datetime):
        raise TraceValidationError(field_name, f"must be a datetime, got {value!r}")
    if value.tzinfo is None:
        raise TraceValidationError(field_name, f"{value.isoformat()} has no time zone; give an offset such as +08:00")


def _parse_time(value: Any, field_name: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError) as err:
        raise TraceValidationError(field_name, f"not an ISO-8601 time: {value!r}") from err


@dataclass(frozen=True)
class Action:
    """Something the viewer did to the video: like, comment (with text), share, follow, favorite, not_interested."""

    name: str
    text: str | None = None
    at_s: float | None = None  # seconds after the video appeared, when known

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name not in ACTION_NAMES:
            raise TraceValidationError("name", f"unknown action {self.name!r}; known: {', '.join(ACTION_NAMES)}")
        _check_text(self.text, "text")
        if self.text is not None and self.name != "comment":
            raise TraceValidationError("text", f"only a comment carries text, not a {self.name}")
        _check_non_negative(self.at_s, "at_s")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with unset fields left out."""
        return _compact({"name": self.name, "text": self.text, "at_s": self.at_s})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Action:
        """Inverse of `to_dict`."""
        return _build(cls, data)


@dataclass(frozen=True)
class Category:
    """A hierarchical category path (e.g. Knowledge/Science) and who assigned it."""

    path: tuple[str, ...]
    source: str = "platform"
    confidence: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", _check_list(self.path, "path"))
        if not self.path or not all(p.strip() for p in self.path):
            raise TraceValidationError("path", f"must be a non-empty list of names, got {list(self.path)!r}")
        if not isinstance(self.source, str) or self.source not in CATEGORY_SOURCES:
            raise TraceValidationError("source", f"unknown source {self.source!r}; known: {', '.join(CATEGORY_SOURCES)}")
        _check_non_negative(self.confidence, "confidence")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise TraceValidationError("confidence", f"must lie in [0, 1], got {self.confidence!r}")

    @property
    def top(self) -> str:
        """The top-level category name."""
        return self.path[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _compact({"path": list(self.path), "source": self.source, "confidence": self.confidence})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Category:
        """Inverse of `to_dict`."""
        return _build(cls, data)


@dataclass(frozen=True)
class VideoMeta:
    """What the screen says about the video (any field may be unknown)."""

    video_id: str | None = None
    author: str | None = None
    caption: str | None = None
    hashtags: tuple[str, ...] = ()
    like_count: int | None = None
    comment_count: int | None = None
    share_count: int | None = None
    favorite_count: int | None = None
    duration_s: float | None = None
    is_ad: bool = False
    is_live: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "hashtags", _check_list(self.hashtags, "hashtags"))
        for name in ("video_id", "author", "caption"):
            _check_text(getattr(self, name), name)
        for name in ("like_count", "comment_count", "share_count", "favorite_count"):
            _check_count(getattr(self, name), name)
        _check_non_negative(self.duration_s, "duration_s")
        for name in ("is_ad", "is_live"):
            if not isinstance(getattr(self, name), bool):
                raise TraceValidationError(name, f"must be true or false, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with unknown fields left out."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["hashtags"] = list(self.hashtags) or None
        data["is_ad"] = self.is_ad or None
        data["is_live"] = self.is_live or None
        return _compact(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VideoMeta:
        """Inverse of `to_dict`."""
        return _build(cls, data)


@dataclass(frozen=True)
class Step:
    """One video shown: when it appeared, what was seen, and what the viewer did."""

    index: int
    appeared_at: datetime
    watch_s: float
    actions: tuple[Action, ...] = ()
    meta: VideoMeta = field(default_factory=VideoMeta)
    category: Category | None = None
    transcript: str | None = None
    frames: tuple[str, ...] = ()  # key-frame images, relative to the trace folder
    audio: str | None = None  # relative to the trace folder
    extra: Mapping[str, Any] = field(default_factory=dict)  # provenance, e.g. the source file of an import

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", _check_list(self.actions, "actions", Action))
        object.__setattr__(self, "frames", _check_list(self.frames, "frames"))
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 0:
            raise TraceValidationError("index", f"must be an integer >= 0, got {self.index!r}")
        _check_aware(self.appeared_at, "appeared_at")
        _check_non_negative(self.watch_s, "watch_s")
        if self.watch_s > MAX_WATCH_S:
            raise TraceValidationError("watch_s", f"{self.watch_s!r} s is over a day ({MAX_WATCH_S:.0f} s); a recording error?")
        if not isinstance(self.meta, VideoMeta):
            raise TraceValidationError("meta", f"must be a VideoMeta, got {self.meta!r}")
        if self.category is not None and not isinstance(self.category, Category):
            raise TraceValidationError("category", f"must be a Category, got {self.category!r}")
        _check_text(self.transcript, "transcript")
        object.__setattr__(self, "extra", check_json_object(self.extra, "extra"))
        for i, frame in enumerate(self.frames):
            check_relative_path(frame, f"frames[{i}]")
        if self.audio is not None:
            check_relative_path(self.audio, "audio")

    def did(self, name: str) -> bool:
        """Whether the viewer performed action `name` on this video."""
        return any(a.name == name for a in self.actions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: one line of steps.jsonl."""
        return _compact({
            "index": self.index,
            "appeared_at": self.appeared_at.isoformat(),
            "watch_s": self.watch_s,
            "actions": [a.to_dict() for a in self.actions],
            "meta": self.meta.to_dict(),
            "category": self.category.to_dict() if self.category else None,
            "transcript": self.transcript,
            "frames": list(self.frames) or None,
            "audio": self.audio,
            "extra": dict(self.extra) or None,
        }, keep=("actions", "meta"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        """Inverse of `to_dict`; errors name the offending field."""
        data = dict(data)
        data["appeared_at"] = _parse_time(data.get("appeared_at"), "appeared_at")
        actions = data.get("actions")
        if actions is not None and not isinstance(actions, list):
            raise TraceValidationError("actions", f"must be a list of action objects, got {actions!r}")
        data["actions"] = [_nested(Action, a, f"actions[{i}]") for i, a in enumerate(actions or [])]
        data["meta"] = _nested(VideoMeta, data.get("meta") or {}, "meta")
        if data.get("category") is not None:
            data["category"] = _nested(Category, data["category"], "category")
        return _build(cls, data)


@dataclass(frozen=True)
class Consent:
    """Whether the person agreed to recording and whether identifying data was removed."""

    consented: bool = False
    anonymised: bool = False
    notes: str | None = None

    def __post_init__(self) -> None:
        for name in ("consented", "anonymised"):
            if not isinstance(getattr(self, name), bool):
                raise TraceValidationError(name, f"must be true or false, got {getattr(self, name)!r}")
        _check_text(self.notes, "notes")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Consent:
        """Build from the `consent` object of trace.json."""
        return _build(cls, data)


@dataclass(frozen=True)
class TraceHeader:
    """Who or what recorded a session, on which app and device, for which persona, and when."""

    trace_id: str
    recorded_by: str
    platform: str
    started_at: datetime
    app_version: str | None = None
    device: str | None = None
    persona_id: str | None = None
    collector: str | None = None
    ended_at: datetime | None = None
    consent: Consent = field(default_factory=Consent)
    schema_version: int = SCHEMA_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.trace_id, str) or not self.trace_id.strip():
            raise TraceValidationError("trace_id", "must be a non-empty string")
        if not isinstance(self.recorded_by, str) or self.recorded_by not in RECORDERS:
            raise TraceValidationError("recorded_by", f"unknown recorder {self.recorded_by!r}; known: {', '.join(RECORDERS)}")
        if not isinstance(self.platform, str) or not self.platform.strip():
            raise TraceValidationError("platform", "must name the app, e.g. douyin")
        _check_aware(self.started_at, "started_at")
        if self.ended_at is not None:
            _check_aware(self.ended_at, "ended_at")
            if self.ended_at < self.started_at:
                raise TraceValidationError("ended_at", f"{self.ended_at.isoformat()} is before started_at "
                                                       f"{self.started_at.isoformat()}")
        for name in ("app_version", "device", "persona_id", "collector"):
            _check_text(getattr(self, name), name)
        if not isinstance(self.consent, Consent):
            raise TraceValidationError("consent", f"must be a Consent, got {self.consent!r}")
        object.__setattr__(self, "extra", check_json_object(self.extra, "extra"))
        if isinstance(self.schema_version, bool) or self.schema_version != SCHEMA_VERSION:
            raise TraceValidationError("schema_version", f"{self.schema_version} is not {SCHEMA_VERSION}; migrate first")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the content of trace.json."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["started_at"] = self.started_at.isoformat()
        data["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        data["consent"] = _compact({f.name: getattr(self.consent, f.name) for f in fields(self.consent)})
        data["extra"] = dict(self.extra) or None
        return _compact(data, keep=("consent",))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TraceHeader:
        """Inverse of `to_dict`; errors name the offending field."""
        data = dict(data)
        data["started_at"] = _parse_time(data.get("started_at"), "started_at")
        if data.get("ended_at") is not None:
            data["ended_at"] = _parse_time(data["ended_at"], "ended_at")
        data["consent"] = _nested(Consent, data.get("consent") or {}, "consent")
        return _build(cls, data)

    def with_changes(self, **changes: Any) -> TraceHeader:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Trace:
    """A whole session in memory: header plus ordered steps."""

    header: TraceHeader
    steps: tuple[Step, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        for position, step in enumerate(self.steps):
            if step.index != position:
                raise TraceValidationError(f"steps[{position}].index", f"expected {position}, got {step.index}")

    def __len__(self) -> int:
        return len(self.steps)


Migration = Callable[[dict[str, Any], str], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}


def register_migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register a function upgrading a record ('header' or 'step') from `from_version` to the next version."""

    def decorator(func: Migration) -> Migration:
        MIGRATIONS[from_version] = func
        return func

    return decorator


def check_schema_version(value: Any) -> int:
    """A schema_version read from a file: a whole number >= 1 (not 1.5, "1" or true)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TraceValidationError("schema_version", f"must be a whole number >= 1, got {value!r}")
    return value


def migrate(record: dict[str, Any], kind: str, from_version: int) -> dict[str, Any]:
    """Upgrade a raw header or step record to SCHEMA_VERSION through the registered migrations."""
    version = check_schema_version(from_version)
    if version > SCHEMA_VERSION:
        raise TraceValidationError("schema_version",
                                   f"{version} is newer than this toolkit ({SCHEMA_VERSION}); upgrade personaact")
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise TraceValidationError("schema_version", f"no migration from version {version}")
        record = MIGRATIONS[version](dict(record), kind)
        version += 1
    if kind == "header":
        record["schema_version"] = SCHEMA_VERSION
    return record


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise TraceValidationError(unknown[0], f"unknown field for {cls.__name__}; known: {', '.join(sorted(known))}")
    try:
        return cls(**data)
    except TypeError as err:  # a required field is missing
        raise TraceValidationError(cls.__name__, str(err)) from err


def _nested(cls: Any, data: Any, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise TraceValidationError(prefix, f"must be an object, got {data!r}")
    try:
        return cls.from_dict(data)
    except TraceValidationError as err:
        raise err.within(prefix) from err


def _compact(data: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k in keep or v is not None}
