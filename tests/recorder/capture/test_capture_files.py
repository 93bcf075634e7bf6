"""Hierarchy reading through a profile, anonymisation of planted personal strings, truncated capture files."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from device.profiles import load_profile
from device.virtual import hierarchy as hv
from recorder.capture.anonymise import Anonymiser, pseudonym
from recorder.capture.assemble import assemble
from recorder.capture.hierarchy import HierarchyError, read_state
from recorder.capture.session import FRAMES, HEADER, TOUCH, UI, ClockMap, pack_xml, read_capture
from recorder.trace import Action, Step, VideoMeta

SIZE = (1080, 2400)
PROFILE = load_profile("douyin")  # test-only: the recorder itself takes the profile as data


def screen_xml(author: str, liked: bool = False, panel: str | None = None, typed: str = "", extra: list | None = None) -> str:
    meta = VideoMeta(author=author, caption=f"{author} 的视频 #美食", hashtags=("美食",), like_count=12_345, comment_count=67,
                     share_count=8)
    boxes = hv.video_boxes(PROFILE, meta, liked, SIZE)
    if panel == "comment":
        boxes += hv.comment_boxes(PROFILE, SIZE, typed)
    if panel == "share":
        boxes += hv.share_boxes(PROFILE, SIZE)
    return hv.to_xml(boxes + (extra or []), SIZE, PROFILE.package)


def test_read_state_through_the_profile():
    state = read_state(screen_xml("小厨师", liked=True), PROFILE)
    assert (state.kind, state.liked, state.is_feed, state.panel) == ("video", True, True, None)
    assert state.meta.author == "小厨师" and state.meta.hashtags == ("美食",) and state.meta.like_count == 12_000
    like = state.controls["like"]
    assert state.control_at((like[0] + like[2]) // 2, (like[1] + like[3]) // 2) == "like"
    assert state.control_at(like[0] - 5, like[1] + 5) == "video"
    typed = read_state(screen_xml("a", panel="comment", typed="好吃"), PROFILE)
    assert (typed.panel, typed.typed) == ("comment", "好吃")
    hint = read_state(screen_xml("a", panel="comment"), PROFILE)
    assert (hint.panel, hint.typed) == ("comment", "")
    assert read_state(screen_xml("a", panel="share"), PROFILE).panel == "share"
    popup = hv.to_xml(hv.video_boxes(PROFILE, VideoMeta(author="a"), False, SIZE) + hv.popup_boxes(PROFILE.popups[0], SIZE),
                      SIZE, PROFILE.package)
    assert read_state(popup, PROFILE).kind == "popup" and read_state(popup, PROFILE).key is None
    with pytest.raises(HierarchyError, match="not valid XML"):
        read_state("<hierarchy><node", PROFILE)


def test_anonymiser_removes_planted_personal_strings():
    anon = Anonymiser(account_names=("@lily_chen88",))
    xml = screen_xml("lily_chen88", panel="comment", typed="call me +86 138-1234-5678 or lily@example.com")
    xml = xml.replace("</node></hierarchy>", "</node><node index='9' text='妈妈: 晚上回家吃饭吗' package='com.android.systemui' "
                      "bounds='[0,0][1080,120]' /></hierarchy>")
    clean = anon.scrub_xml(xml)
    for planted in ("lily_chen88", "138-1234-5678", "lily@example.com", "晚上回家吃饭吗"):
        assert planted not in clean, planted
    state = read_state(clean, PROFILE)  # still a readable feed screen afterwards
    assert state.kind == "video" and state.meta.like_count == 12_000 and state.meta.author == "[redacted]"
    step = Step(0, datetime(2026, 1, 1, tzinfo=UTC), 3.0, (Action("comment", text="加我微信 13812345678"),),
                VideoMeta(author="Lily_Chen88", caption="ok"), transcript="number 1 3 8 is fine")
    scrubbed = anon.scrub_step(step)
    assert scrubbed.actions[0].text == "加我微信 [redacted]" and scrubbed.meta.author == "[redacted]"
    assert scrubbed.transcript == "number 1 3 8 is fine"  # short digit runs and counts are not phone numbers
    assert anon.scrub("1.2万 likes, 12,345 views") == "1.2万 likes, 12,345 views"
    assert pseudonym("lily") == pseudonym("lily") != pseudonym("lily", salt="study-2")


def _line(t: float, code: str, value: str, kind: str = "EV_ABS") -> str:
    return f"[{t:>14.6f}] /dev/input/event3: {kind:<12} {code:<20} {value}"


def _tap_lines(t: float, x: int, y: int, tid: int) -> list[str]:
    rx, ry = round(x * 4095 / 1079), round(y * 9599 / 2399)
    return [_line(t, "ABS_MT_SLOT", "00000000"), _line(t, "ABS_MT_TRACKING_ID", f"{tid:08x}"),
            _line(t, "ABS_MT_POSITION_X", f"{rx:08x}"), _line(t, "ABS_MT_POSITION_Y", f"{ry:08x}"),
            _line(t, "SYN_REPORT", "00000000", "EV_SYN"), _line(t + 0.05, "ABS_MT_TRACKING_ID", "ffffffff"),
            _line(t + 0.05, "SYN_REPORT", "00000000", "EV_SYN")]


def test_truncated_capture_is_reported_and_the_rest_kept(tmp_path):
    header = {"kind": "capture", "schema_version": 1, "started_at": "2026-01-01T00:00:00+00:00", "screen": list(SIZE),
              "touch_axes": {"x": [0, 4095], "y": [0, 9599], "size": list(SIZE), "device": "/dev/input/event3"}}
    (tmp_path / HEADER).write_text(json.dumps(header))
    like = read_state(screen_xml("a"), PROFILE).controls["like"]
    lines = _tap_lines(1001.0, (like[0] + like[2]) // 2, (like[1] + like[3]) // 2, 1)
    with (tmp_path / TOUCH).open("w") as f:
        for line in lines:
            f.write(json.dumps({"h": 1.0 + float(line[1:15]) - 1001.0 + 0.01, "l": line}) + "\n")
        f.write('{"h": 9.0, "l": "[    1009.0000')  # the capture was killed mid-line
    with (tmp_path / UI).open("w") as f:
        f.write(json.dumps({"h": 0.5, "d": 0.02, "z": pack_xml(screen_xml("a"))}) + "\n")
        f.write(json.dumps({"h": 2.0, "d": 0.02, "z": pack_xml(screen_xml("a", liked=True))}) + "\n")
        f.write(json.dumps({"h": 2.5, "error": "timeout"}) + "\n")
        f.write('{"h": 3.0, "d": 0.02, "z": "eJzz')
    (tmp_path / FRAMES).write_text(json.dumps({"h": 0.1, "pts": 0, "thumb": "64" * 64}) + "\n")
    capture = read_capture(tmp_path)
    assert len(capture.touch) == len(lines) and len([s for s in capture.ui if s.xml]) == 2
    assert len(capture.problems) == 2 and all("truncated" in p for p in capture.problems)
    assert {p.split()[0] for p in capture.problems} == {TOUCH, UI}
    result = assemble(capture, PROFILE)
    assert len(result.steps) == 1 and [a.name for a in result.steps[0].actions] == ["like"]
    assert result.steps[0].extra["taps"] == [{"target": "like", "kind": "tap", "confirmed": True}]
    assert any("truncated" in p for p in result.problems)


def test_clock_map_uses_the_least_delayed_sample():
    clock = ClockMap()
    for device_s, host_s in ((100.0, 5.30), (100.5, 5.52), (101.0, 6.40)):
        clock.observe(device_s, host_s)
    assert clock.to_host(102.0) == pytest.approx(7.02)


def test_imported_steps_read_their_xml_dumps(tmp_path):
    from recorder.capture.dumps import fill_from_dumps
    from recorder.store import read_trace, write_trace
    from recorder.trace import Trace
    from tests.builders import make_header, make_step

    media = tmp_path / "media"
    (media / "c1" / "xml").mkdir(parents=True)
    (media / "c1" / "xml" / "a.xml").write_text(screen_xml("小厨师", liked=True), encoding="utf-8")
    (tmp_path / "secret.xml").write_text(screen_xml("outside"), encoding="utf-8")
    steps = [make_step(0, meta=VideoMeta(video_id="v0"), extra={"source": {"xml_path": "raw_data/c1/xml/a.xml"}}),
             make_step(1, meta=VideoMeta(), extra={"source": {"xml_path": "../secret.xml"}}),
             make_step(2, meta=VideoMeta(), extra={"source": {"xml_path": "c1/xml/missing.xml"}})]
    folder = write_trace(tmp_path / "trace", Trace(make_header(), tuple(steps)))
    report = fill_from_dumps(folder, media, PROFILE)
    assert (report.updated, report.missing) == (1, 2)  # the path climbing out of the media root is refused
    trace = read_trace(folder)
    assert trace.steps[0].meta.author == "小厨师" and trace.steps[0].meta.video_id == "v0"
    assert trace.steps[0].meta.like_count == 12_000 and trace.steps[0].extra["screen"] == "video"
    assert trace.steps[1].meta.author is None
