"""Importer of public PersonaAct raw_data sessions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import cv2
import numpy as np

from recorder.importers.personaact_raw import find_session_files, import_sessions, to_posix
from recorder.store import TraceReader, find_trace_folders, read_trace, traces_to_dataframe

PUBLIC_ACTIONS = {"c": (44, 2), "P01": (93, 0), "P02": (1, 0), "P03": (79, 0), "P04": (0, 0), "P05": (0, 0)}


def test_imports_every_shared_session(public_data, tmp_path):
    files = find_session_files([public_data])
    assert len(files) == 59
    report = import_sessions(files, tmp_path)
    assert report.ok and len(report.written) == 59 and report.steps == 2767
    steps = traces_to_dataframe(find_trace_folders([tmp_path]))
    per = steps.groupby("collector").agg(likes=("liked", "sum"), comments=("commented", "sum"))
    assert {k: (int(r.likes), int(r.comments)) for k, r in per.iterrows()} == PUBLIC_ACTIONS
    for folder in report.written:
        assert TraceReader(folder).validate() == []


def test_session_fields_map_onto_the_trace(public_data, tmp_path):
    import_sessions([public_data / "c" / "session_20251222_164042.json"], tmp_path)
    trace = read_trace(tmp_path / "c" / "20251222_164042")
    assert trace.header.recorded_by == "human" and trace.header.collector == "c"
    assert trace.header.started_at == datetime(2025, 12, 22, 8, 40, 42, 77031, tzinfo=UTC)
    first = trace.steps[0]
    # the UI dump (08:40:45.878) ends the 3.8 s view: it appeared at 08:40:42.078, just after the session start
    assert first.appeared_at == datetime(2025, 12, 22, 8, 40, 42, 78000, tzinfo=UTC)
    assert first.watch_s == 3.8 and first.did("like")
    assert first.extra["source"]["xml_path"] == "raw_data/c/xml/20251222T084045878.xml"
    comments = [a.text for s in read_trace(_folder_with_comment(public_data, tmp_path)).steps for a in s.actions
                if a.name == "comment"]
    assert "bgm" in comments or "荣幸之至" in comments


def _folder_with_comment(public_data, tmp_path):
    for file in sorted((public_data / "c").glob("*.json")):
        if '"comment"' in file.read_text(encoding="utf-8"):
            import_sessions([file], tmp_path)
            return tmp_path / "c" / file.stem.removeprefix("session_")
    raise AssertionError("no comment in the public data")


def test_quirks_and_malformed_files_are_reported_not_fatal(tmp_path):
    src = tmp_path / "raw" / "X1"
    src.mkdir(parents=True)
    good = {"session_id": "s1", "collector": "X1", "platform": "douyin", "start_time": "2026-01-01T10:00:00",
            "actions": [
                {"timestamp": "20260101T020001000", "actions": [], "viewing_duration": 0.0},
                {"actions": [{"type": "like"}, {"type": "dance"}], "viewing_duration": 4.5,
                 "xml_path": "raw_data\\X1\\xml\\a.xml"},
                {"timestamp": "20260101T020010000", "actions": [], "viewing_duration": -2},
                "not an entry",
            ]}
    (src / "session_s1.json").write_text(json.dumps(good))
    (src / "session_s2.json").write_text("{ broken")
    (src / "session_s3.json").write_text(json.dumps({"session_id": "s3", "actions": []}))
    report = import_sessions(find_session_files([tmp_path / "raw"]), tmp_path / "out")
    assert len(report.written) == 1 and len(report.failed) == 2
    assert any("session_s2.json" in f and "not valid JSON" in f for f in report.failed)
    assert any("session_s3.json" in f and "start_time" in f for f in report.failed)
    assert any("actions[0]" in p and "viewing_duration is 0" in p for p in report.problems)
    assert any("'dance'" in p for p in report.problems)
    assert any("actions[2]" in p and "watch_s" in p for p in report.problems)
    assert any("actions[3]" in p for p in report.problems)
    trace = read_trace(tmp_path / "out" / "X1" / "s1")
    assert [s.watch_s for s in trace.steps] == [0.0, 4.5]
    # an entry without a timestamp appears when the previous one ended
    assert trace.steps[1].appeared_at == trace.steps[0].appeared_at
    again = import_sessions(find_session_files([src / "session_s1.json"]), tmp_path / "out")
    assert again.skipped and not again.written


def test_media_are_attached_when_available(tmp_path):
    media = tmp_path / "media" / "raw_data" / "Y" / "videos"
    media.mkdir(parents=True)
    writer = cv2.VideoWriter(str(media / "v.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()
    (tmp_path / "media" / "raw_data" / "Y" / "a.wav").write_bytes(b"RIFF0000WAVE")
    raw = {"session_id": "m", "collector": "Y", "start_time": "2026-01-01T10:00:00",
           "actions": [{"timestamp": "20260101T020001000", "viewing_duration": 2.0,
                        "video_path": "raw_data\\Y\\videos\\v.avi", "audio_path": "raw_data\\Y\\a.wav"}]}
    (tmp_path / "session_m.json").write_text(json.dumps(raw))
    import_sessions([tmp_path / "session_m.json"], tmp_path / "out", media_root=tmp_path / "media")
    folder = tmp_path / "out" / "Y" / "m"
    step = read_trace(folder).steps[0]
    assert step.audio == "audio/000000.wav" and step.frames == ("frames/000000_mid.jpg",)
    assert cv2.imread(str(folder / step.frames[0])).shape == (48, 64, 3)
    assert TraceReader(folder).validate() == []


def test_windows_paths_become_posix():
    assert to_posix("raw_data\\c\\xml\\a.xml") == "raw_data/c/xml/a.xml"
