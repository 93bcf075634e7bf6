"""`record process`: key frames, per-video audio, batched transcripts with VAD, and keyword categories for a recording.

Resumable and idempotent: every output is a file named after its step (frames/000012_01.jpg, audio/000012.wav) or a
line of process/transcripts.jsonl; a re-run skips what exists and rewrites steps.jsonl atomically with the same
result. Only feed screens (videos, ads, live rooms) get frames and audio; other screens are never stored. Given the
app profile, it first redacts the screen recording when `record start` did not (a crash before finalising), and key
frames are never taken inside a redacted (black) stretch.
"""

from __future__ import annotations

import json
import wave
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from recorder.asr import ASRConfig, Transcriber
from recorder.capture.hierarchy import FEED_SCREENS, ScreenRules
from recorder.capture.recorder import redact_recording
from recorder.capture.redact import Timeline, blanked_spans, clock_offset, recorded
from recorder.capture.session import CAPTURE_DIR, MEDIA, read_capture
from recorder.files import atomic_write_bytes
from recorder.store import STEPS_FILE, read_trace
from recorder.trace import Step

PROCESS_DIR = "process"
TRANSCRIPTS = "transcripts.jsonl"
ASR_RATE = 16_000
MAX_CLIP_S = 30.0  # Whisper's window; longer speech is cut into several clips
AUDIO_RESYNC_S = 0.12  # PTS further than this from the samples so far mark a gap in the capture
LEAD_IN = ASR_RATE // 2  # samples of silence before each clip


@dataclass(frozen=True)
class ProcessConfig:
    """What `record process` makes: key frames every `frame_interval_s` (at most `max_frames`), audio, transcripts."""

    frame_interval_s: float = 2.0
    max_frames: int = 6
    jpeg_quality: int = 85
    transcribe: bool = True
    categorise: bool = True
    batch_size: int = 8
    asr: ASRConfig = field(default_factory=ASRConfig)

    def __post_init__(self) -> None:
        if self.frame_interval_s <= 0 or self.max_frames < 1:
            raise ValueError("process.frame_interval_s must be > 0 and process.max_frames >= 1")
        if not 1 <= self.jpeg_quality <= 100 or self.batch_size < 1:
            raise ValueError("process.jpeg_quality must lie in [1, 100] and process.batch_size be >= 1")


@dataclass
class ProcessReport:
    """What a processing run did (counts of new outputs) and what it could not do."""

    steps: int = 0
    frames: int = 0
    audio: int = 0
    transcripts: int = 0
    categories: int = 0
    redacted: bool = False  # this run redacted the screen recording
    problems: list[str] = field(default_factory=list)


def _span(step: Step) -> tuple[float, float] | None:
    capture = step.extra.get("capture") if isinstance(step.extra, dict) else None
    if not isinstance(capture, dict) or step.extra.get("screen") not in FEED_SCREENS:
        return None
    return float(capture["start_h"]), float(capture["end_h"])


def pts_offset(folder: Path) -> float | None:
    """Host seconds minus device PTS seconds, from the least-delayed decoded frame."""
    return clock_offset(read_capture(folder / CAPTURE_DIR))


def _due(t: float, start: float, end: float, taken: int, config: ProcessConfig) -> bool:
    """A key frame is due at start + 0.3 s, then every frame_interval_s (so short videos still get one)."""
    first = min(start + 0.3, (start + end) / 2)
    return taken < config.max_frames and t >= first + taken * config.frame_interval_s


def extract_frames(folder: Path, steps: list[Step], offset: float, config: ProcessConfig,
                   blanked: Timeline | None = None) -> tuple[dict[int, list[str]], int]:
    """Key frames of each feed step as JPEGs (existing files are kept); returns paths by step index and how many are new.

    Frames at host times inside `blanked` (redacted, black) are passed over: the key frame comes from the next one.
    """
    import av
    import cv2

    spans = {s.index: span for s in steps if (span := _span(s)) is not None}
    found: dict[int, list[str]] = {i: [] for i in spans}
    written = 0
    order = sorted(spans.items(), key=lambda item: item[1][0])
    cursor = 0
    with av.open(str(folder / CAPTURE_DIR / MEDIA)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            host = float(frame.pts * (stream.time_base or 0)) + offset
            while cursor < len(order) and order[cursor][1][1] <= host:
                cursor += 1
            if cursor >= len(order) or host < order[cursor][1][0] or (blanked is not None and blanked.blanked(host)):
                continue
            index, (start, end) = order[cursor]
            if not _due(host, start, end, len(found[index]), config):
                continue
            rel = f"frames/{index:06d}_{len(found[index]):02d}.jpg"
            path = folder / rel
            if not path.is_file():
                ok, data = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"), [cv2.IMWRITE_JPEG_QUALITY, config.jpeg_quality])
                if ok:
                    atomic_write_bytes(path, data.tobytes())
                    written += 1
            found[index].append(rel)
    return found, written


def decode_audio(folder: Path) -> Any | None:
    """The recording's audio as 16 kHz mono int16 on the device PTS timeline (index = PTS seconds x 16000), or None.

    Samples are laid end to end as the phone captured them; a frame's PTS starts a new run only when it is more than
    `AUDIO_RESYNC_S` off (a real gap in the capture). Placing every 20 ms frame at its own PTS instead (stamped
    with capture jitter, rounded to the container's 1 ms) left a gap or an overlap at almost every frame boundary:
    50 clicks a second that cost the ASR words. Each run sits at the median of its frames' PTS minus their place in
    the run: anchoring it on its first stamp alone moved the whole run by that one stamp's jitter (8 ms late on the
    virtual phone, up to `AUDIO_RESYNC_S` in principle).
    """
    import av
    import numpy as np

    runs: list[tuple[list[float], list[Any]]] = []  # per run: each frame's PTS minus its place in the run; samples
    with av.open(str(folder / CAPTURE_DIR / MEDIA)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=ASR_RATE)
        start, placed = 0.0, 0.0  # the run's first PTS, and seconds of sound in it so far
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = float(frame.pts * (stream.time_base or 0))
            if not runs or abs(t - (start + placed)) > AUDIO_RESYNC_S:
                start, placed = t, 0.0
                runs.append(([], []))
            runs[-1][0].append(t - placed)
            placed += frame.samples / (frame.sample_rate or 48_000)
            runs[-1][1].extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
    pieces = [(max(0, round(float(np.median(anchors)) * ASR_RATE)), np.concatenate(chunks))
              for anchors, chunks in runs if chunks]
    if not pieces:
        return None
    audio = np.zeros(max(at + len(s) for at, s in pieces), dtype=np.int16)
    for at, samples in pieces:
        audio[at:at + len(samples)] = samples
    return audio


def write_clips(folder: Path, steps: list[Step], audio: Any, offset: float) -> tuple[dict[int, str], int]:
    """Per-video WAV files (16 kHz mono) for feed steps; existing files are kept."""
    paths: dict[int, str] = {}
    written = 0
    for step in steps:
        span = _span(step)
        if span is None:
            continue
        lo, hi = (max(0, int((t - offset) * ASR_RATE)) for t in span)
        clip = audio[lo:hi]
        if len(clip) == 0:
            continue
        rel = f"audio/{step.index:06d}.wav"
        if not (folder / rel).is_file():
            _write_wav(folder / rel, clip)
            written += 1
        paths[step.index] = rel
    return paths, written


def _write_wav(path: Path, samples: Any) -> None:
    import io

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(ASR_RATE)
        handle.writeframes(samples.tobytes())
    atomic_write_bytes(path, buffer.getvalue())


def _read_wav(path: Path) -> Any:
    import numpy as np

    with wave.open(str(path), "rb") as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)


def _cached_transcripts(path: Path) -> dict[int, str]:
    done: dict[int, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                done[int(record["index"])] = str(record["text"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line from a crash: that clip is transcribed again
    return done


def transcribe_clips(folder: Path, clips: dict[int, str], config: ProcessConfig,
                     progress: Callable[[int], None] | None = None) -> dict[int, str]:
    """Transcripts by step index: VAD drops silent clips, the rest are transcribed in batches; cached per step."""
    import numpy as np
    from faster_whisper import BatchedInferencePipeline
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    cache = folder / PROCESS_DIR / TRANSCRIPTS
    cache.parent.mkdir(parents=True, exist_ok=True)
    done = _cached_transcripts(cache)
    todo = [i for i in sorted(clips) if i not in done]
    pipeline: Any = None
    for start in range(0, len(todo), config.batch_size * 4):
        group = todo[start:start + config.batch_size * 4]
        joined, spans, texts = [], [], {i: "" for i in group}
        at = 0
        for index in group:
            samples = _read_wav(folder / clips[index]).astype(np.float32) / 32768.0
            speech = get_speech_timestamps(samples, VadOptions(), sampling_rate=ASR_RATE)
            if not speech:
                continue  # silence: no transcript, no model time
            lo, hi = max(0, speech[0]["start"] - 3200), min(len(samples), speech[-1]["end"] + 3200)
            for piece in range(lo, hi, int(MAX_CLIP_S * ASR_RATE) - LEAD_IN):
                part = samples[piece:min(hi, piece + int(MAX_CLIP_S * ASR_RATE) - LEAD_IN)]
                # Whisper hears a first word better after a moment of silence, so each clip gets a lead-in.
                spans.append((index, at / ASR_RATE, (at + LEAD_IN + len(part)) / ASR_RATE))
                # The gap after it keeps the pipeline from merging neighbouring clips into one window.
                joined += [np.zeros(LEAD_IN, dtype=np.float32), part, np.zeros(LEAD_IN, dtype=np.float32)]
                at += 2 * LEAD_IN + len(part)
        if spans:
            if pipeline is None:
                pipeline = BatchedInferencePipeline(model=Transcriber(config.asr).load())
            segments, _ = pipeline.transcribe(np.concatenate(joined), language=config.asr.language,
                                              beam_size=config.asr.beam_size, batch_size=config.batch_size,
                                              without_timestamps=True, vad_filter=False,
                                              clip_timestamps=[{"start": s, "end": e} for _, s, e in spans])
            for segment in segments:
                owner = next((i for i, s, e in spans if s - 0.05 <= segment.start < e), None)
                if owner is not None:
                    texts[owner] = (texts[owner] + " " + segment.text.strip()).strip()
        with cache.open("a", encoding="utf-8") as handle:
            for index in group:
                handle.write(json.dumps({"index": index, "text": texts[index]}, ensure_ascii=False) + "\n")
        done.update(texts)
        if progress is not None:
            progress(len(group))
    return done


def process_trace(folder: str | Path, config: ProcessConfig | None = None, progress: Callable[[int], None] | None = None,
                  rules: ScreenRules | None = None, keep_unredacted: bool = False) -> ProcessReport:
    """Add key frames, audio, transcripts and categories to a recorded trace folder (redacting it first given `rules`)."""
    folder = Path(folder)
    config = config or ProcessConfig()
    report = ProcessReport()
    _redact_first(folder, rules, keep_unredacted, report)
    trace = read_trace(folder)
    steps = list(trace.steps)
    report.steps = len(steps)
    media = folder / CAPTURE_DIR / MEDIA
    offset = pts_offset(folder) if media.is_file() else None
    frames: dict[int, list[str]] = {}
    clips: dict[int, str] = {}
    if offset is None:
        report.problems.append(f"{media}: no screen recording (or no decoded frames): no key frames, audio or transcripts")
    else:
        frames, report.frames = extract_frames(folder, steps, offset, config, blanked_spans(folder / CAPTURE_DIR))
        audio = decode_audio(folder)
        if audio is None:
            report.problems.append(f"{media}: no audio stream (video-only recording): no per-video audio or transcripts")
        else:
            clips, report.audio = write_clips(folder, steps, audio, offset)
    transcripts = transcribe_clips(folder, clips, config, progress) if config.transcribe and clips else {}
    categoriser = _categoriser() if config.categorise else None
    updated = []
    for step in steps:
        changes: dict[str, Any] = {}
        if frames.get(step.index):
            changes["frames"] = tuple(frames[step.index])
        if step.index in clips:
            changes["audio"] = clips[step.index]
        if step.index in transcripts and transcripts[step.index] != step.transcript:
            changes["transcript"] = transcripts[step.index] or None
            report.transcripts += 1
        step = replace(step, **changes) if changes else step
        if categoriser is not None and step.category is None and _span(step) is not None:
            category = categoriser.categorise(step.meta, step.transcript)
            if category is not None:
                step = replace(step, category=category)
                report.categories += 1
        updated.append(step)
    body = "".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in updated)
    atomic_write_bytes(folder / STEPS_FILE, body.encode("utf-8"))
    return report


def _redact_first(folder: Path, rules: ScreenRules | None, keep_unredacted: bool, report: ProcessReport) -> None:
    """Redact the screen recording if `record start` did not get to it; without a profile, say it is unredacted."""
    media = folder / CAPTURE_DIR / MEDIA
    if rules is None:
        if media.is_file() and recorded(folder / CAPTURE_DIR) is None:
            report.problems.append(f"{media}: not redacted (chats and settings may show); pass the app profile to redact it")
        return
    done = redact_recording(folder, rules, keep_unredacted)  # a no-op when `record start` did it
    if done is not None and not done.already:
        report.redacted = True
        report.problems += done.problems


def _categoriser() -> Any:
    from recorder.categorise import KeywordCategoriser

    return KeywordCategoriser.shipped()
