"""Bad input to the trace store and the importer: clear errors, nothing silently accepted, dropped or pooled."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from recorder.files import set_aside_torn_tail, write_json_atomic
from recorder.importers.personaact_raw import find_session_files, import_sessions
from recorder.store import (
    HEADER_FILE,
    STEPS_FILE,
    TORN_FILE,
    TraceFormatError,
    TraceReader,
    TraceWriter,
    find_trace_folders,
    read_trace,
    read_traces,
    traces_to_dataframe,
    write_trace,
)
from recorder.trace import Category, Step, Trace, TraceHeader, TraceValidationError, VideoMeta
from tests.builders import make_header, make_step


def make_trace(n: int, trace_id: str = "t-1") -> Trace:
    """n valid steps under a header with `trace_id`."""
    return Trace(make_header(trace_id), tuple(make_step(i) for i in range(n)))


# --- type confusion ------------------------------------------------------------------------------------


@pytest.mark.parametrize("data, field", [
    ({"hashtags": "abc"}, "hashtags"),
    ({"hashtags": [1, 2]}, "hashtags[0]"),
    ({"like_count": 1.5}, "like_count"),
    ({"like_count": "12"}, "like_count"),
    ({"author": 42}, "author"),
    ({"is_ad": "yes"}, "is_ad"),
])
def test_video_meta_refuses_type_confusion(data, field):
    with pytest.raises(TraceValidationError) as err:
        VideoMeta.from_dict(data)
    assert err.value.field == field


def test_step_refuses_a_string_for_a_list():
    base = make_step(0).to_dict()
    with pytest.raises(TraceValidationError, match="actions") as err:
        Step.from_dict({**base, "actions": "like"})
    assert "must be a list" in str(err.value)
    with pytest.raises(TraceValidationError, match="frames"):
        Step.from_dict({**base, "frames": "frames/a.jpg"})
    with pytest.raises(TraceValidationError, match="category.path"):
        Step.from_dict({**base, "category": {"path": "Gaming", "source": "platform"}})


def test_category_confidence_of_the_wrong_type_is_a_validation_error_not_a_type_error():
    with pytest.raises(TraceValidationError, match="confidence"):
        Category(("Gaming",), "model", "high")  # type: ignore[arg-type]


@pytest.mark.parametrize("extra", [{"x": float("nan")}, {"x": float("inf")}, {"x": object()}, {1: "a"}, ["a"]])
def test_extra_must_be_plain_json(extra):
    with pytest.raises(TraceValidationError, match="extra"):
        make_step(0, extra=extra)
    with pytest.raises(TraceValidationError, match="extra"):
        make_header(extra=extra)


def test_watch_time_over_a_day_is_refused():
    with pytest.raises(TraceValidationError, match="watch_s"):
        make_step(0, watch_s=1e15)


# --- reading ----------------------------------------------------------------------------------------------


def _steps_file(tmp_path: Path, lines: list[bytes]) -> Path:
    folder = tmp_path / "t"
    with TraceWriter.create(folder, make_header()):
        pass
    (folder / STEPS_FILE).write_bytes(b"".join(lines))
    return folder


def _line(step: Step) -> bytes:
    return (json.dumps(step.to_dict()) + "\n").encode()


def test_duplicate_step_lines_are_never_double_counted(tmp_path):
    folder = _steps_file(tmp_path, [_line(make_step(0)), _line(make_step(1)), _line(make_step(1)), _line(make_step(2))])
    with pytest.raises(TraceFormatError, match="line 3.*repeats step index 1"):
        read_trace(folder, strict=True)
    reader = TraceReader(folder)
    trace = reader.load()
    assert [s.meta.video_id for s in trace.steps] == ["v0", "v1", "v2"]
    assert any("repeats step index 1" in str(p) for p in reader.problems)


def test_utf16_and_non_utf8_files_name_the_file_and_line(tmp_path):
    folder = _steps_file(tmp_path, [_line(make_step(0)), b'{"index": 1, "caption": "\xff\xfe"}\n'])
    problems = TraceReader(folder).validate()
    assert any("line 2" in p and "not UTF-8" in p for p in problems)
    header = folder / HEADER_FILE
    header.write_bytes(header.read_text().encode("utf-16"))
    with pytest.raises(TraceFormatError, match=r"trace.json: is UTF-16"):
        TraceReader(folder)


@pytest.mark.parametrize("version", ["1", 1.5, None, True, [1]])
def test_non_integer_schema_version_is_a_clear_error(tmp_path, version):
    folder = _steps_file(tmp_path, [])
    raw = json.loads((folder / HEADER_FILE).read_text())
    (folder / HEADER_FILE).write_text(json.dumps({**raw, "schema_version": version}))
    with pytest.raises(TraceFormatError, match="schema_version"):
        TraceReader(folder)


def test_deeply_nested_json_is_an_error_not_a_crash(tmp_path):
    deep = b"[" * 100_000 + b"]" * 100_000
    folder = _steps_file(tmp_path, [_line(make_step(0)), deep + b"\n"])
    reader = TraceReader(folder)
    assert len(reader.load()) == 1
    assert any("line 2" in str(p) and "nested too deeply" in str(p) for p in reader.problems)
    (folder / HEADER_FILE).write_bytes(b'{"a": ' + deep + b"}")
    with pytest.raises(TraceFormatError, match="nested too deeply"):
        TraceReader(folder)


def test_nan_in_a_steps_line_is_reported(tmp_path):
    line = json.dumps(make_step(0).to_dict()).replace('"watch_s": 5.0', '"watch_s": NaN').encode() + b"\n"
    folder = _steps_file(tmp_path, [line])
    assert any("NaN" in p for p in TraceReader(folder).validate())


def test_validate_reports_every_problem_of_a_line(tmp_path):
    bad = make_step(0).to_dict()
    bad.update(watch_s=-1, hashtags="x", transcript=7)
    bad["meta"] = {**bad["meta"], "like_count": "many", "colour": "red"}
    bad["actions"] = [{"name": "dance"}, {"name": "like", "text": "hi"}]
    folder = _steps_file(tmp_path, [(json.dumps(bad) + "\n").encode()])
    problems = [p for p in TraceReader(folder).validate() if "line 1" in p]
    for field in ("watch_s", "hashtags", "transcript", "meta.like_count", "meta.colour", "actions[0].name",
                  "actions[1].text"):
        assert any(f"'{field}'" in p for p in problems), (field, problems)


def test_validate_goes_on_after_an_unreadable_trace(tmp_path):
    from typer.testing import CliRunner

    from personaact.cli import app

    write_trace(tmp_path / "a", make_trace(2))
    write_trace(tmp_path / "b", make_trace(2, trace_id="t-2"))
    (tmp_path / "a" / HEADER_FILE).write_bytes("{}".encode("utf-16"))
    (tmp_path / "b" / STEPS_FILE).open("ab").write(b"{oops\n")
    result = CliRunner().invoke(app, ["trace", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "UTF-16" in result.output and "line 3" in result.output and "2 traces checked" in result.output


def test_resume_reads_only_the_tail_of_the_steps_file(tmp_path, monkeypatch):
    folder = tmp_path / "t"
    write_trace(folder, make_trace(3))
    with (folder / STEPS_FILE).open("ab") as handle:
        handle.write(b'{"index": 3, "appea')
    read_bytes, read_text = Path.read_bytes, Path.read_text

    def refuse_steps(method):
        return lambda self, *a, **k: pytest.fail("whole steps file read") if self.name == STEPS_FILE else method(self, *a, **k)

    monkeypatch.setattr(Path, "read_bytes", refuse_steps(read_bytes))
    monkeypatch.setattr(Path, "read_text", refuse_steps(read_text))
    with TraceWriter.resume(folder) as writer:
        assert writer.next_index == 3
    monkeypatch.undo()
    assert (folder / TORN_FILE).read_bytes() == b'{"index": 3, "appea\n'
    assert len(read_trace(folder, strict=True)) == 3


def test_torn_tail_longer_than_a_read_chunk(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"a\n" + b"x" * 200_000)
    set_aside_torn_tail(path, tmp_path / "torn")
    assert path.read_bytes() == b"a\n" and (tmp_path / "torn").read_bytes() == b"x" * 200_000 + b"\n"


# --- many traces ------------------------------------------------------------------------------------------


def test_hidden_staging_folders_are_not_traces(tmp_path):
    write_trace(tmp_path / "c" / "s1", make_trace(2))
    write_trace(tmp_path / "c" / ".staging.s2.abcd", make_trace(5, trace_id="t-2"))
    write_trace(tmp_path / "c" / ".s3.x1y2", make_trace(5, trace_id="t-3"))
    assert find_trace_folders([tmp_path]) == [tmp_path / "c" / "s1"]


def test_duplicate_trace_ids_empty_traces_and_bad_lines_are_reported_not_pooled(tmp_path):
    write_trace(tmp_path / "a", make_trace(3))
    write_trace(tmp_path / "b", make_trace(4))  # same trace_id "t-1" as a
    write_trace(tmp_path / "c", make_trace(0, trace_id="empty"))
    write_trace(tmp_path / "d", make_trace(2, trace_id="t-4"))
    (tmp_path / "d" / STEPS_FILE).open("ab").write(b"{oops\n")
    notes: list[str] = []
    frame = traces_to_dataframe(find_trace_folders([tmp_path]), notes)
    assert len(frame) == 3 + 2
    assert any("'t-1' already read" in n for n in notes)
    assert any("no steps" in n for n in notes)
    assert any("1 malformed line" in n for n in notes)
    notes = []
    traces, folders = read_traces(find_trace_folders([tmp_path]), notes)
    assert [t.header.trace_id for t in traces] == ["t-1", "empty", "t-4"] and len(notes) == 3


def test_trace_show_counts_are_integers_and_skips_are_said(tmp_path):
    from typer.testing import CliRunner

    from personaact.cli import app

    write_trace(tmp_path / "a", make_trace(3))
    write_trace(tmp_path / "b", make_trace(3))
    result = CliRunner().invoke(app, ["trace", "show", str(tmp_path), "--by", "collector"])
    assert result.exit_code == 0, result.output
    assert "already read" in result.output
    row = next(line for line in result.output.splitlines() if line.strip().startswith("P01"))
    assert row.split()[1:3] == ["1", "3"]
    empty = CliRunner().invoke(app, ["trace", "show", str(tmp_path / "a" / "frames")])
    assert empty.exit_code == 2


# --- files ------------------------------------------------------------------------------------------------


def test_written_files_get_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "x.json", {"a": 1})
        write_trace(tmp_path / "t", make_trace(1))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "t" / HEADER_FILE).stat().st_mode) == 0o644


def test_header_round_trip_still_works():
    header = make_header(extra={"source": "x", "n": 3})
    assert TraceHeader.from_dict(header.to_dict()) == header


# --- importer ---------------------------------------------------------------------------------------------


def _session(folder: Path, name: str, entries: list, **fields) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    raw = {"session_id": name, "collector": folder.name, "start_time": "2026-01-01T10:00:00", "actions": entries, **fields}
    path = folder / f"session_{name}.json"
    path.write_text(json.dumps(raw))
    return path


def _entry(stamp: str = "20260101T020001000", watch: float = 2.0, **more) -> dict:
    return {"timestamp": stamp, "actions": [], "viewing_duration": watch, **more}


def test_one_absurd_entry_is_reported_and_the_import_goes_on(tmp_path):
    raw = tmp_path / "raw" / "X"
    no_stamp = {"actions": [], "viewing_duration": 2.0}  # appears when the previous view ended: past year 9999
    _session(raw, "a", [_entry(), _entry("20260101T020005000", 1e15), _entry("99991231T235959000", 86_000.0),
                        no_stamp, _entry("20260101T020009000", 3.0)])
    (raw / "session_b.json").write_text('{"session_id": "b", "start_time": "2026-01-01T10:00:00", "actions": '
                                        + "[" * 100_000 + "]" * 100_000 + "}")
    _session(raw, "c", [_entry()])
    report = import_sessions(find_session_files([tmp_path / "raw"]), tmp_path / "out")
    assert sorted(p.name for p in report.written) == ["a", "c"]
    assert any("session_b.json" in f and "nested too deeply" in f for f in report.failed)
    assert any("actions[1]" in p and "watch_s" in p for p in report.problems)
    assert any("actions[3]" in p for p in report.problems)
    assert [s.watch_s for s in read_trace(tmp_path / "out" / "X" / "a").steps] == [2.0, 86_000.0, 3.0]


def test_actions_given_as_a_string_are_reported_not_read_letter_by_letter(tmp_path):
    file = _session(tmp_path / "raw" / "X", "a", [_entry(actions="like"), _entry("20260101T020009000")])
    report = import_sessions([file], tmp_path / "out")
    assert any("actions[0]" in p and "must be a list" in p for p in report.problems)
    assert not any("'l'" in p for p in report.problems)
    assert len(read_trace(tmp_path / "out" / "X" / "a")) == 1


def test_nan_and_non_utf8_session_files_fail_alone(tmp_path):
    raw = tmp_path / "raw" / "X"
    _session(raw, "a", [_entry()])
    (raw / "session_b.json").write_text('{"session_id": "b", "start_time": "2026-01-01T10:00:00", "total_actions": NaN,'
                                        ' "actions": []}')
    (raw / "session_c.json").write_bytes(json.dumps({"session_id": "c", "start_time": "2026-01-01T10:00:00",
                                                     "actions": []}).encode("utf-16"))
    report = import_sessions(find_session_files([tmp_path / "raw"]), tmp_path / "out")
    assert [p.name for p in report.written] == ["a"]
    assert any("session_b.json" in f and "NaN" in f for f in report.failed)
    assert any("session_c.json" in f and "UTF-16" in f for f in report.failed)


def test_media_paths_outside_the_media_root_are_refused(tmp_path):
    media = tmp_path / "media"
    (media / "raw_data" / "X").mkdir(parents=True)
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF-secret")
    (media / "raw_data" / "X" / "ok.wav").write_bytes(b"RIFF0000WAVE")
    (media / "raw_data" / "X" / "link.wav").symlink_to(secret)
    entries = [_entry(audio_path="..\\..\\secret.wav"), _entry("20260101T020003000", audio_path=str(secret)),
               _entry("20260101T020005000", audio_path="C:\\secret.wav"),
               _entry("20260101T020007000", audio_path="raw_data\\X\\link.wav"),
               _entry("20260101T020009000", audio_path="raw_data\\X\\ok.wav")]
    file = _session(tmp_path / "raw" / "X", "m", entries)
    report = import_sessions([file], tmp_path / "out", media_root=media)
    trace = read_trace(tmp_path / "out" / "X" / "m")
    assert [s.audio for s in trace.steps] == [None, None, None, None, "audio/000004.wav"]
    assert sum("refused" in p for p in report.problems) == 4
    for path in (tmp_path / "out").rglob("*"):
        assert not path.is_file() or b"RIFF-secret" not in path.read_bytes()


def test_a_killed_import_leaves_nothing_readers_count_and_is_cleaned(tmp_path):
    file = _session(tmp_path / "raw" / "X", "a", [_entry(), _entry("20260101T020005000")])
    stale = tmp_path / "out" / "X" / ".staging.a.k1ll3d"  # what a kill mid-import leaves
    write_trace(stale, make_trace(7, trace_id="X-a"))
    old_style = tmp_path / "out" / "X" / ".a.0ld5tyl"
    write_trace(old_style, make_trace(7, trace_id="X-a"))
    assert find_trace_folders([tmp_path / "out"]) == []
    report = import_sessions([file], tmp_path / "out")
    assert report.ok and not stale.exists() and not old_style.exists()
    assert len(traces_to_dataframe(find_trace_folders([tmp_path / "out"]))) == 2
    assert stat.S_IMODE((tmp_path / "out" / "X" / "a").stat().st_mode) != 0o700


@pytest.mark.timeout(60)
def test_fifos_and_oversized_files_never_hang_or_flood_a_read(tmp_path, monkeypatch):
    from recorder.importers import personaact_raw

    raw = tmp_path / "raw" / "X"
    good = _session(raw, "a", [_entry()])
    os.mkfifo(raw / "session_fifo.json")
    assert find_session_files([tmp_path / "raw"]) == [good]
    with pytest.raises(personaact_raw.SessionFileError, match="not a regular file"):
        find_session_files([raw / "session_fifo.json"])
    monkeypatch.setattr(personaact_raw, "MAX_SESSION_BYTES", 10)
    report = import_sessions([good], tmp_path / "out")
    assert not report.written and "limit" in report.failed[0]
    write_trace(tmp_path / "t", make_trace(1))
    (tmp_path / "t" / STEPS_FILE).unlink()
    os.mkfifo(tmp_path / "t" / STEPS_FILE)
    reader = TraceReader(tmp_path / "t")
    assert len(reader.load()) == 0 and "not a regular file" in str(reader.problems[0])


def test_a_session_without_platform_is_imported_with_a_warning(tmp_path):
    file = _session(tmp_path / "raw" / "X", "a", [_entry()])
    report = import_sessions([file], tmp_path / "out")
    assert any("no platform given; assumed douyin" in p for p in report.problems)


def test_a_trace_cannot_end_before_it_starts():
    from datetime import timedelta

    header = make_header()
    with pytest.raises(TraceValidationError, match="ended_at"):
        make_header(ended_at=header.started_at - timedelta(seconds=1))


def test_a_missing_media_root_is_an_error_not_a_silent_import_without_media(tmp_path):
    file = _session(tmp_path / "raw" / "X", "a", [_entry()])
    with pytest.raises(FileNotFoundError, match="--media-root"):
        import_sessions([file], tmp_path / "out", media_root=tmp_path / "nowhere")
