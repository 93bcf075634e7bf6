"""The trace dataclasses: validation names the field, JSON round-trips, migrations run."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from recorder import trace as trace_mod
from recorder.trace import (
    Action,
    Category,
    Step,
    TraceHeader,
    TraceValidationError,
    VideoMeta,
    migrate,
    register_migration,
)
from tests.builders import T0, make_header, make_step, make_trace


def test_step_round_trips_through_json():
    for step in make_trace().steps:
        again = Step.from_dict(json.loads(json.dumps(step.to_dict())))
        assert again == step


def test_header_round_trips_through_json():
    header = make_header(ended_at=T0, app_version="29.1.0", device="Pixel 7", extra={"k": [1, 2]})
    assert TraceHeader.from_dict(json.loads(json.dumps(header.to_dict()))) == header


@pytest.mark.parametrize("build, field", [
    (lambda: make_step(0, watch_s=-1.0), "watch_s"),
    (lambda: make_step(-1), "index"),
    (lambda: make_step(0, frames=("../escape.jpg",)), "frames[0]"),
    (lambda: make_step(0, frames=("/etc/passwd",)), "frames[0]"),
    (lambda: make_step(0, audio="audio\\x.wav"), "audio"),
    (lambda: make_step(0, audio="C:/x.wav"), "audio"),
    (lambda: make_step(0, appeared_at=datetime(2026, 1, 1)), "appeared_at"),
    (lambda: Action("poke"), "name"),
    (lambda: Action("like", text="hi"), "text"),
    (lambda: Action("like", at_s=-2), "at_s"),
    (lambda: VideoMeta(like_count=-5), "like_count"),
    (lambda: VideoMeta(duration_s=float("nan")), "duration_s"),
    (lambda: VideoMeta(is_ad="yes"), "is_ad"),
    (lambda: Category(()), "path"),
    (lambda: Category(("A",), source="guess"), "source"),
    (lambda: Category(("A",), confidence=1.5), "confidence"),
    (lambda: make_header(recorded_by="robot"), "recorded_by"),
    (lambda: make_header(trace_id=" "), "trace_id"),
    (lambda: make_header(started_at=datetime(2026, 1, 1)), "started_at"),
])
def test_each_rule_rejects_bad_input_naming_the_field(build, field):
    with pytest.raises(TraceValidationError) as info:
        build()
    assert info.value.field == field
    assert repr(field) in str(info.value)


def test_nested_errors_carry_the_enclosing_field():
    data = make_step(0).to_dict()
    data["actions"] = [{"name": "like"}, {"name": "wave"}]
    with pytest.raises(TraceValidationError) as info:
        Step.from_dict(data)
    assert info.value.field == "actions[1].name"
    data = make_step(0).to_dict()
    data["meta"]["share_count"] = -1
    with pytest.raises(TraceValidationError, match="meta.share_count"):
        Step.from_dict(data)


def test_unknown_fields_are_rejected():
    data = make_step(0).to_dict() | {"mood": "happy"}
    with pytest.raises(TraceValidationError, match="'mood'"):
        Step.from_dict(data)


def test_migration_hook_upgrades_old_records(monkeypatch):
    monkeypatch.setattr(trace_mod, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(trace_mod, "MIGRATIONS", {})

    @register_migration(from_version=1)
    def rename_watch(record, kind):
        if kind == "step":
            record["watch_s"] = record.pop("seconds")
        return record

    old = {"index": 0, "appeared_at": T0.isoformat(), "seconds": 4.0}
    assert migrate(old, "step", 1)["watch_s"] == 4.0
    with pytest.raises(TraceValidationError, match="newer"):
        migrate(old, "step", 3)
