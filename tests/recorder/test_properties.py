"""Property tests: random and hostile JSON into the trace reader, the importer and Decision.from_dict.

Whatever comes in, only the documented error types come out (TraceFormatError from a trace folder,
a report entry from the importer, DecisionError from a decision), never a crash of another kind.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder.importers.personaact_raw import import_sessions
from recorder.store import HEADER_FILE, STEPS_FILE, TraceFormatError, TraceReader, TraceWriter, find_trace_folders
from tests.builders import make_header, make_step

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STEP_KEYS = ["index", "appeared_at", "watch_s", "actions", "meta", "category", "transcript", "frames", "audio", "extra",
             "name", "text", "at_s", "path", "source", "confidence", "hashtags", "like_count", "video_id", "is_ad"]
HEADER_KEYS = ["trace_id", "recorded_by", "platform", "started_at", "ended_at", "consent", "schema_version", "extra",
               "app_version", "persona_id", "collector", "consented"]
SESSION_KEYS = ["session_id", "collector", "platform", "start_time", "end_time", "total_actions", "actions"]
ENTRY_KEYS = ["timestamp", "actions", "viewing_duration", "xml_path", "video_path", "audio_path", "type", "text"]

scalars = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats()
           | st.text(max_size=12) | st.sampled_from(["2026-01-01T00:00:00+00:00", "20260101T020001000", "like",
                                                    "comment", "../../etc/passwd", "C:\\x", "human", "douyin", "1e400"]))


def hostile(keys: list[str]) -> st.SearchStrategy[Any]:
    """JSON values whose objects mostly use the format's own keys (so validation, not key lookup, is exercised)."""
    key = st.sampled_from(keys) | st.text(max_size=6)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=6),
                        max_leaves=25)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()  # NaN/Infinity on purpose: other writers produce them


@SETTINGS
@given(lines=st.lists(hostile(STEP_KEYS) | st.binary(max_size=40), max_size=6),
       valid_first=st.booleans())
def test_trace_reader_only_reports_problems(lines, valid_first):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "t"
        with TraceWriter.create(folder, make_header()):
            pass
        body = [json.dumps(make_step(0).to_dict()).encode()] if valid_first else []
        body += [line if isinstance(line, bytes) else _dumps(line) for line in lines]
        (folder / STEPS_FILE).write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in body) + b"\n")
        reader = TraceReader(folder)
        trace = reader.load()
        assert [s.index for s in trace.steps] == list(range(len(trace.steps)))
        assert isinstance(reader.validate(), list)
        try:
            reader.load(strict=True)
        except TraceFormatError:
            pass


@SETTINGS
@given(header=hostile(HEADER_KEYS) | st.binary(max_size=40))
def test_trace_header_errors_are_trace_format_errors(header):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / HEADER_FILE).write_bytes(header if isinstance(header, bytes) else _dumps(header))
        try:
            TraceReader(folder)
        except TraceFormatError:
            pass


@SETTINGS
@given(session=st.fixed_dictionaries({}, optional={k: hostile(SESSION_KEYS) for k in SESSION_KEYS}),
       entries=st.lists(st.dictionaries(st.sampled_from(ENTRY_KEYS), hostile(ENTRY_KEYS), max_size=6), max_size=5),
       raw=st.none() | st.binary(max_size=60))
def test_importer_reports_and_goes_on(session, entries, raw):
    session.setdefault("actions", entries)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "raw" / "X"
        src.mkdir(parents=True)
        (src / "session_a.json").write_bytes(raw if raw is not None else _dumps(session))
        good = {"session_id": "g", "collector": "X", "start_time": "2026-01-01T10:00:00",
                "actions": [{"timestamp": "20260101T020001000", "viewing_duration": 2.0}]}
        (src / "session_z.json").write_text(json.dumps(good))
        media = Path(tmp) / "media"
        media.mkdir()
        report = import_sessions(sorted(src.glob("*.json")), Path(tmp) / "out", media_root=media)
        assert any(p.name == "g" for p in report.written), report.failed  # the good file after it always imports
        for folder in find_trace_folders([Path(tmp) / "out"]):
            reader = TraceReader(folder)
            reader.load(strict=True)
            assert folder.resolve().is_relative_to((Path(tmp) / "out").resolve())


@SETTINGS
@given(data=hostile(["watch_s", "like", "comment", "share", "comment_text", "follow", "not_interested", "latency_s"]))
def test_decision_from_dict_raises_only_decision_error(data):
    from personas.policy import Decision, DecisionError

    try:
        decision = Decision.from_dict(data)
    except DecisionError:
        return
    assert Decision.from_dict(decision.to_dict()) == decision


@SETTINGS
@given(text=st.text(max_size=200) | hostile(["watch_s", "like", "comment", "share", "follow"]).map(json.dumps)
       | st.just('{"watch_s": ' + "[" * 50_000 + "]" * 50_000 + "}"))
def test_policy_reply_parser_never_raises(text):
    from personas.policy.grammar import parse_reply

    parsed = parse_reply(text)
    assert parsed.mode in ("strict", "lenient", "failed")
