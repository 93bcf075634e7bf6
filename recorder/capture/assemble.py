"""Turn a capture folder into Trace steps: touches -> gestures, dumps -> states, frames -> changes, then segment and attribute."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from recorder.capture.attribute import attribute
from recorder.capture.gestures import Gesture, GestureConfig, classify
from recorder.capture.getevent import GeteventError, MultiTouchParser, TouchAxes, parse_line
from recorder.capture.hierarchy import HierarchyError, ScreenRules, read_state
from recorder.capture.segment import Segment, SegmentConfig, TimedState, frame_changes, segment
from recorder.capture.session import Capture, ClockMap
from recorder.trace import Step


@dataclass
class Assembly:
    """What a capture became: its gestures and states on the host clock, the segments, the steps and any problems."""

    gestures: list[Gesture] = field(default_factory=list)
    states: list[TimedState] = field(default_factory=list)
    changes: list[float] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def host_gestures(capture: Capture, config: GestureConfig | None = None) -> tuple[list[Gesture], list[str]]:
    """Gestures from touch.jsonl, their times moved from device uptime onto the host clock."""
    axes_data = capture.header.get("touch_axes")
    if not axes_data:
        return [], ["capture.json has no touch_axes (getevent was unavailable): taps and swipes are not used"]
    try:
        axes = TouchAxes.from_dict(axes_data)
    except (GeteventError, KeyError, TypeError, ValueError) as err:
        return [], [f"capture.json touch_axes unusable ({err}): taps and swipes are not used"]
    parser, clock = MultiTouchParser(axes), ClockMap()
    contacts = []
    for h, line in capture.touch:
        event = parse_line(line)
        if event is not None:
            clock.observe(event.t_s, h)
        contacts.extend(parser.feed(line))
    contacts.extend(parser.finish())
    problems = []
    if parser.dropped_frames:
        problems.append(f"touch stream: {parser.dropped_frames} SYN_DROPPED frames (events lost on the phone)")
    if clock.offset is None:
        return [], problems
    offset = clock.offset
    gestures = [replace(g, start_s=g.start_s + offset, end_s=g.end_s + offset) for g in classify(contacts, config)]
    return gestures, problems


def ui_states(capture: Capture, rules: ScreenRules) -> tuple[list[TimedState], list[str]]:
    """Each dump read through the profile, stamped at the middle of the dump call."""
    states: list[TimedState] = []
    problems: list[str] = []
    for sample in capture.ui:
        if sample.xml is None:
            continue
        try:
            states.append((sample.h + sample.dump_s / 2, read_state(sample.xml, rules)))
        except HierarchyError as err:
            problems.append(f"hierarchy at {sample.h:.2f} s: {err}")
            states.append((sample.h + sample.dump_s / 2, None))
    return states, problems


def assemble(capture: Capture, rules: ScreenRules, gesture_config: GestureConfig | None = None,
             segment_config: SegmentConfig | None = None) -> Assembly:
    """Segment a capture into videos with attributed actions, as Steps on the wall clock of capture.json."""
    out = Assembly(problems=list(capture.problems))
    out.gestures, problems = host_gestures(capture, gesture_config)
    out.problems += problems
    out.states, problems = ui_states(capture, rules)
    out.problems += problems
    out.changes = frame_changes([(f.h, f.thumb) for f in capture.frames])
    if not capture.frames:
        out.problems.append("no video frames: segment starts are confirmed by swipes and metadata only")
        out.changes = [g.end_s + 0.01 for g in out.gestures if g.kind == "swipe"]
    height = int(capture.header.get("screen", [0, 2400])[1])
    out.segments = segment(out.states, out.gestures, out.changes, height, capture.end_h, config=segment_config)
    if not capture.frames:  # the stand-in frame changes confirmed nothing: do not claim them as evidence
        out.segments = [replace(g, evidence=tuple(e for e in g.evidence if e != "frame")) for g in out.segments]
    started = datetime.fromisoformat(capture.header["started_at"])
    for index, seg in enumerate(out.segments):
        readings, actions = attribute(seg, out.states, out.gestures)
        extra: dict[str, Any] = {"screen": seg.kind if seg.key else "unknown", "evidence": list(seg.evidence),
                                 "capture": {"start_h": round(seg.start_h, 4), "end_h": round(seg.end_h, 4)},
                                 "taps": [{"target": r.target, "kind": r.gesture.kind, "confirmed": r.confirmed}
                                          for r in readings]}
        out.steps.append(Step(index=index, appeared_at=started + timedelta(seconds=seg.start_h),
                              watch_s=round(seg.watch_s, 4), actions=actions, meta=seg.meta, extra=extra))
    return out
