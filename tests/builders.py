"""Builders of valid sample traces for tests, and the public data location."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorder.trace import Action, Category, Consent, Step, Trace, TraceHeader, VideoMeta

REPO = Path(__file__).resolve().parents[1]
PUBLIC_DATA = REPO / "data" / "personaact_raw"  # shipped with the repository (MIT, see its SOURCE.md)
T0 = datetime(2026, 3, 12, 3, 20, 44, tzinfo=UTC)


def make_header(trace_id: str = "t-1", **changes) -> TraceHeader:
    """A valid header for tests."""
    base = dict(trace_id=trace_id, recorded_by="human", platform="douyin", started_at=T0,
                persona_id="P01", collector="P01", consent=Consent(True, True))
    base.update(changes)
    return TraceHeader(**base)


def make_step(index: int, watch_s: float = 5.0, **changes) -> Step:
    """A valid step for tests, appearing `index * 10` seconds after T0."""
    base = dict(index=index, appeared_at=T0 + timedelta(seconds=10 * index), watch_s=watch_s,
                meta=VideoMeta(video_id=f"v{index}", author=f"author{index % 3}", caption="cap #tag",
                               hashtags=("tag",), like_count=1200, duration_s=30.0),
                category=Category(("Knowledge", "Science"), "model", 0.8))
    base.update(changes)
    return Step(**base)


def make_trace(n: int = 5) -> Trace:
    """A small trace with a like and a comment."""
    steps = [make_step(i, watch_s=float(i + 1)) for i in range(n)]
    steps[1] = make_step(1, 2.0, actions=(Action("like"),))
    steps[2] = make_step(2, 3.0, actions=(Action("comment", text="好看"), Action("share")))
    return Trace(make_header(), tuple(steps))
