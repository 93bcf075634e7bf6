"""End to end on the virtual phone: a scripted participant browses while the recorder runs; the trace is scored."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from device.virtual.participant import ParticipantConfig
from device.virtual.rehearsal import rehearse
from device.virtual.scoring import score
from personaact.cli import app
from recorder.capture.process import ProcessConfig, process_trace
from recorder.store import TraceReader, read_trace

pytestmark = pytest.mark.slow  # ~60 s: real-time browsing of 14 videos, H.264/Opus streaming, then ASR


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    out = tmp_path_factory.mktemp("rehearsal") / "trace"
    config = ParticipantConfig(videos=14, seed=3, p_like=0.4, p_comment=0.25, p_share=0.2, p_popup=0.15, p_ad=0.1,
                               p_live=0.08, p_miss=0.3, p_pinch=0.2, min_watch_wall_s=2.4)
    return rehearse(out, config, time_scale=4.0)


def test_trace_matches_ground_truth(rehearsal):
    trace = read_trace(rehearsal.folder)
    s = score(trace.steps, rehearsal.views, rehearsal.origin)
    assert s.segmentation_recall >= 0.95 and s.segmentation_precision >= 0.9, s
    assert sum(s.action_counts.values()) >= 3 and s.action_f1 >= 0.9, s
    assert s.watch_mae_s <= 0.25, s
    assert s.comment_text_accuracy in (None, 1.0)
    header = trace.header
    assert header.consent.consented and not header.consent.anonymised and header.collector == "scripted-01"
    assert header.extra["media"]["audio"] is True
    assert {v.kind for v in rehearsal.views} >= {"video"}
    labelled = {st.extra["screen"] for st in trace.steps}
    truth = {v.kind for v in rehearsal.views}
    assert truth <= labelled | {"video"}


def test_process_adds_frames_audio_transcripts_idempotently(rehearsal):
    folder = rehearsal.folder
    first = process_trace(folder, ProcessConfig(frame_interval_s=1.0))
    assert first.frames > 0 and first.audio > 0 and first.transcripts > 0
    trace = read_trace(folder)
    assert not TraceReader(folder).validate()
    spoken = [(v, st) for v, st in zip(rehearsal.views, trace.steps, strict=False) if v.keywords and st.transcript]
    assert spoken, "no transcripts"
    steps_text = (folder / "steps.jsonl").read_text()
    again = process_trace(folder, ProcessConfig(frame_interval_s=1.0))
    assert (again.frames, again.audio, again.transcripts) == (0, 0, 0)
    assert (folder / "steps.jsonl").read_text() == steps_text
    s = score(trace.steps, rehearsal.views, rehearsal.origin)
    assert s.transcript_hit_rate is not None and s.transcript_hit_rate >= 0.3, s  # espeak + tiny.en: see the benchmark


def test_cli_inspect_and_anonymise(rehearsal, tmp_path):
    runner = CliRunner()
    shown = runner.invoke(app, ["record", "inspect", str(rehearsal.folder)])
    assert shown.exit_code == 0, shown.output
    assert f"{len(read_trace(rehearsal.folder))} videos" in shown.output and "creato" in shown.output
    shared = tmp_path / "shared"
    done = runner.invoke(app, ["record", "anonymise", str(rehearsal.folder), "--out", str(shared)])
    assert done.exit_code == 0, done.output
    header = json.loads((shared / "trace.json").read_text())
    assert header["consent"]["anonymised"] is True and "scripted-01" not in json.dumps(header)
    assert not (shared / "capture").exists()
    again = runner.invoke(app, ["record", "anonymise", str(rehearsal.folder), "--out", str(shared)])
    assert again.exit_code != 0 and "not empty" in again.output


def test_screen_recording_is_black_wherever_the_feed_was_not_shown(rehearsal):
    import av

    from device.profiles import load_profile
    from recorder.capture.redact import REDACTION, marks
    from recorder.capture.session import read_capture

    capture = rehearsal.folder / "capture"
    data = json.loads((capture / REDACTION).read_text())
    assert data["problems"] == [] and 0 < data["video_frames_blanked"] < data["video_frames"] / 2, data
    others = [m for m in marks(read_capture(capture), load_profile("douyin")) if not m.feed]
    assert others  # seed 3 opens share sheets (they list contacts, so they are blanked too)
    blanks = [(b["start_h"] if b["start_h"] is not None else -1e9, b["end_h"] if b["end_h"] is not None else 1e9)
              for b in data["blanks"]]
    assert all(any(lo <= m.start_h and m.end_h <= hi for lo, hi in blanks) for m in others)
    dark, lit = [], []
    with av.open(str(capture / "screen.mkv")) as container:
        for frame in container.decode(container.streams.video[0]):
            host = float(frame.pts * frame.time_base) + data["offset_s"]
            if any(m.start_h <= host <= m.end_h for m in others):
                dark.append(frame.to_ndarray(format="gray").mean())
            elif not any(lo <= host <= hi for lo, hi in blanks):
                lit.append(frame.to_ndarray(format="gray").mean())
    assert dark and max(dark) < 20 and lit and sorted(lit)[len(lit) // 10] > 20
