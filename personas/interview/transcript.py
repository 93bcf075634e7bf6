"""Interview transcripts on disk: an append-only, fsynced events.jsonl plus an atomically replaced state.json."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recorder.errors import PersonaActError
from recorder.files import set_aside_torn_tail, write_json_atomic

EVENTS_FILE = "transcript.jsonl"
TORN_FILE = "transcript.torn.jsonl"  # a half-written last line is kept here, never deleted
STATE_FILE = "state.json"
FEATURES_FILE = "features.json"
OUTLINE_FILE = "outline.json"
EVENT_KINDS = ("started", "question", "answer", "section_end", "finished")


class TranscriptError(ValueError, PersonaActError):
    """A transcript folder cannot be used; the message names the file (and line) and what to do."""


def now_iso() -> str:
    """The current UTC time as ISO-8601 text."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Turn:
    """One question of the interview and, once given, its answer."""

    turn_id: int
    section: str
    question: str
    cites: tuple[str, ...] = ()  # example ids (E1, E2, ...) the question refers to
    source: str = "model"  # "model"; "model+fact" when the agent prefixed the behaviour fact; "fallback"
    asked_at: str = ""
    answer: str | None = None
    answered_at: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "cites", tuple(self.cites))
        if isinstance(self.turn_id, bool) or not isinstance(self.turn_id, int) or self.turn_id < 1:
            raise TranscriptError(f"turn_id: must be an integer >= 1, got {self.turn_id!r}")
        if not isinstance(self.question, str) or not self.question.strip():
            raise TranscriptError(f"turn {self.turn_id}: question must be non-empty text")

    @property
    def answered(self) -> bool:
        """Whether the person has answered this question."""
        return self.answer is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["cites"] = list(self.cites)
        return data


@dataclass
class InterviewState:
    """Where an interview stands, rebuilt by replaying the event log."""

    turns: list[Turn] = field(default_factory=list)
    section_index: int = 0
    section_ends: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def pending(self) -> Turn | None:
        """The asked-but-unanswered question, if any."""
        return self.turns[-1] if self.turns and not self.turns[-1].answered else None

    def section_turns(self, section_id: str) -> list[Turn]:
        """The turns asked in one section."""
        return [turn for turn in self.turns if turn.section == section_id]

    def to_dict(self) -> dict[str, Any]:
        """The JSON written to state.json (a readable snapshot; the event log is the source of truth)."""
        return {"section_index": self.section_index, "finished": self.finished,
                "turns": [turn.to_dict() for turn in self.turns], "section_ends": self.section_ends,
                "answered": sum(turn.answered for turn in self.turns), "updated_at": now_iso()}


def apply_event(state: InterviewState, event: Mapping[str, Any]) -> None:
    """Fold one event into the state (raising TranscriptError when it does not fit)."""
    kind = event.get("event")
    if kind == "started":
        state.meta = dict(event)
    elif kind == "question":
        if state.pending is not None:
            raise TranscriptError(f"question {event.get('turn_id')} asked while turn {state.pending.turn_id} is unanswered")
        state.turns.append(Turn(event["turn_id"], event["section"], event["text"], tuple(event.get("cites", ())),
                                event.get("source", "model"), event.get("at", "")))
    elif kind == "answer":
        pending = state.pending
        if pending is None or pending.turn_id != event.get("turn_id"):
            raise TranscriptError(f"answer to turn {event.get('turn_id')} but no such question is pending")
        state.turns[-1] = Turn(**{**pending.to_dict(), "answer": event["text"], "answered_at": event.get("at")})
    elif kind == "section_end":
        state.section_ends.append(dict(event))
        state.section_index += 1
    elif kind == "finished":
        state.finished = True
    else:
        raise TranscriptError(f"unknown event {kind!r}; known: {', '.join(EVENT_KINDS)}")


class TranscriptStore:
    """An interview folder: events appended one fsynced line each, a state snapshot replaced atomically."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.events_path = self.folder / EVENTS_FILE

    def exists(self) -> bool:
        """Whether an interview was already started in this folder."""
        return self.events_path.is_file() and self.events_path.stat().st_size > 0

    def append(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Write one event and force it to disk before returning it."""
        if kind not in EVENT_KINDS:
            raise TranscriptError(f"unknown event {kind!r}; known: {', '.join(EVENT_KINDS)}")
        event = {"event": kind, **fields, "at": fields.get("at") or now_iso()}
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.events_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return event

    def events(self) -> Iterator[dict[str, Any]]:
        """Every saved event in order; a torn last line (crash mid-write) is set aside first."""
        if not self.events_path.exists():
            return
        set_aside_torn_tail(self.events_path, self.folder / TORN_FILE)
        with self.events_path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise TranscriptError(f"{self.events_path} line {number}: not UTF-8 ({err.reason}); "
                                          "fix or remove that line, then resume") from err
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except (json.JSONDecodeError, RecursionError) as err:
                    reason = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deeply"
                    raise TranscriptError(f"{self.events_path} line {number}: not valid JSON ({reason}); "
                                          "fix or remove that line, then resume") from err

    def replay(self) -> InterviewState:
        """Rebuild the interview state from the event log."""
        state = InterviewState()
        for number, event in enumerate(self.events(), start=1):
            try:
                apply_event(state, event)
            except (KeyError, TypeError) as err:
                raise TranscriptError(f"{self.events_path} event {number}: missing or bad field ({err})") from err
            except TranscriptError as err:
                raise TranscriptError(f"{self.events_path} event {number}: {err}") from err
        return state

    def write_state(self, state: InterviewState) -> None:
        """Replace state.json atomically with a snapshot of `state`."""
        write_json_atomic(self.folder / STATE_FILE, state.to_dict())

    def write_json(self, name: str, data: Any) -> Path:
        """Store a side file (features, outline) atomically inside the folder."""
        path = self.folder / name
        write_json_atomic(path, data)
        return path

    def read_json(self, name: str) -> Any:
        """Read a side file written by `write_json`."""
        path = self.folder / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise TranscriptError(f"{path}: missing; this folder holds no complete interview start") from err
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
            raise TranscriptError(f"{path}: not valid UTF-8 JSON ({err})") from err
