"""Trace folders on disk: round trip, resume-append, crash safety, lazy reading with line numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from recorder.store import STEPS_FILE, TORN_FILE, TraceFormatError, TraceReader, TraceWriter, read_trace, write_trace
from recorder.trace import TraceValidationError
from tests.builders import make_header, make_step, make_trace


def test_round_trip_through_a_folder(tmp_path):
    trace = make_trace(6)
    write_trace(tmp_path / "t", trace)
    assert read_trace(tmp_path / "t") == trace
    assert (tmp_path / "t" / "frames").is_dir() and (tmp_path / "t" / "audio").is_dir()


def test_resume_appends_after_existing_steps(tmp_path):
    folder = tmp_path / "t"
    with TraceWriter.create(folder, make_header()) as writer:
        writer.append(make_step(0))
        writer.append(make_step(1))
    with TraceWriter.resume(folder) as writer:
        assert writer.next_index == 2
        with pytest.raises(TraceValidationError, match="index"):
            writer.append(make_step(5))
        writer.append(make_step(2))
    assert [s.index for s in read_trace(folder).steps] == [0, 1, 2]


def test_create_refuses_to_overwrite_an_existing_trace(tmp_path):
    write_trace(tmp_path / "t", make_trace(3))
    with pytest.raises(FileExistsError):
        TraceWriter.create(tmp_path / "t", make_header())
    assert len(read_trace(tmp_path / "t")) == 3


def test_crash_while_writing_a_step_leaves_a_readable_trace(tmp_path):
    folder = tmp_path / "t"
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {os.getcwd()!r})
        from recorder.store import TraceWriter
        from tests.builders import make_header, make_step
        writer = TraceWriter.create({str(folder)!r}, make_header())
        for i in range(3):
            writer.append(make_step(i))
        line = __import__('json').dumps(make_step(3).to_dict())
        writer._handle.write(line[: len(line) // 2])  # the step in flight
        writer._handle.flush()
        os._exit(9)  # die without closing anything
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd())
    assert result.returncode == 9
    reader = TraceReader(folder)
    assert [s.index for s in reader.steps()] == [0, 1, 2]
    assert reader.problems and reader.problems[0].line == 4 and "incomplete" in reader.problems[0].message
    with TraceWriter.resume(folder) as writer:  # the torn half is kept aside, not lost
        writer.append(make_step(3))
    assert (folder / TORN_FILE).read_text().strip().startswith('{"index": 3')
    assert len(read_trace(folder, strict=True)) == 4


def test_reader_reports_every_malformed_line_with_its_number(tmp_path):
    folder = tmp_path / "t"
    write_trace(folder, make_trace(3))
    with (folder / STEPS_FILE).open("a") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps(make_step(4).to_dict() | {"watch_s": -3.0}) + "\n")
        handle.write("[1, 2]\n")
    reader = TraceReader(folder)
    assert len(list(reader.steps())) == 3
    assert [p.line for p in reader.problems] == [4, 5, 6]
    assert "watch_s" in reader.problems[1].message
    with pytest.raises(TraceFormatError, match="line 4"):
        list(TraceReader(folder).steps(strict=True))
    with pytest.raises(TraceFormatError, match="cannot resume"):
        TraceWriter.resume(folder)


def test_reader_is_lazy(tmp_path):
    folder = tmp_path / "t"
    write_trace(folder, make_trace(3))
    with (folder / STEPS_FILE).open("a") as handle:
        handle.write("garbage\n")
    steps = TraceReader(folder).steps(strict=True)
    assert next(steps).index == 0  # the bad line further down has not been read yet


def test_validate_finds_missing_media_and_index_gaps(tmp_path):
    folder = tmp_path / "t"
    with TraceWriter.create(folder, make_header()) as writer:
        frame = writer.add_file(b"\xff\xd8jpeg", "frame", "000000.jpg")
        writer.append(make_step(0, frames=(frame,)))
        writer.append(make_step(1, audio="audio/000001.wav"))
    with (folder / STEPS_FILE).open("a") as handle:
        handle.write(json.dumps(make_step(5).to_dict()) + "\n")
    problems = TraceReader(folder).validate()
    assert any("audio/000001.wav is missing" in p for p in problems)
    assert any("out of order" in p for p in problems)
    assert not any("000000.jpg" in p for p in problems)


def test_header_errors_name_the_file(tmp_path):
    with pytest.raises(TraceFormatError, match="trace.json"):
        TraceReader(tmp_path)
    (tmp_path / "trace.json").write_text(json.dumps(make_header().to_dict() | {"recorded_by": "cat"}))
    with pytest.raises(TraceFormatError, match="recorded_by"):
        TraceReader(tmp_path)


def test_update_header_is_atomic_and_persisted(tmp_path):
    with TraceWriter.create(tmp_path / "t", make_header()) as writer:
        writer.update_header(app_version="30.0")
    assert TraceReader(tmp_path / "t").header.app_version == "30.0"
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["audio", "frames", "steps.jsonl", "trace.json"]


def test_dataframe_has_one_row_per_step(tmp_path):
    write_trace(tmp_path / "t", make_trace(5))
    frame = TraceReader(tmp_path / "t").to_dataframe()
    assert len(frame) == 5
    assert frame["liked"].tolist() == [False, True, False, False, False]
    assert frame.loc[2, "comment_text"] == "好看"
    assert frame["category_top"].unique().tolist() == ["Knowledge"]
