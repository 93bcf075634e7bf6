"""Recorder vs ground truth on the virtual phone: a scripted participant browses N videos while `record` runs.

Prints and writes benchmarks/results/recorder.json: segmentation_recall, action_f1, watch_mae_s (wall seconds),
transcript_hit_rate, capture_fps, cpu_share_per_phone, each with n and a 95% CI, plus trivial baselines.
Usage: python benchmarks/recorder.py [--videos 200] [--time-scale 3] [--min-watch 2.5] [--seed 0] [--out DIR]
The virtual phone (rendering, H.264/Opus encoding, espeak-ng) runs in the same process on the same cores, so the
CPU and fps figures are upper bounds of the recorder's own cost and vary with machine load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Run as `python benchmarks/recorder.py`, this folder comes first on sys.path and this file would hide the
# `recorder` package; the repository root must win.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from device.virtual.participant import ParticipantConfig, View  # noqa: E402
from device.virtual.rehearsal import rehearse  # noqa: E402
from device.virtual.scoring import ACTIONS, heard_in_full, keywords_heard, match, score  # noqa: E402
from device.virtual.speech import resolve as resolve_voice  # noqa: E402
from recorder.asr import ASRConfig  # noqa: E402
from recorder.capture.process import ProcessConfig, process_trace  # noqa: E402
from recorder.store import read_trace  # noqa: E402
from recorder.trace import Step  # noqa: E402

OUT = _HERE / "results" / "recorder.json"
CLIENT_THREADS = ("_touch_loop", "_ui_loop", "_video_loop", "_audio_loop", "device-call")


def wilson(successes: float, n: int) -> list[float] | None:
    """95% Wilson interval of a proportion."""
    if n == 0:
        return None
    p, z = successes / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def bootstrap(values: Sequence[float], seed: int = 0, rounds: int = 2000) -> list[float] | None:
    """95% percentile bootstrap interval of a mean."""
    if not values:
        return None
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=len(values))) / len(values) for _ in range(rounds))
    return [round(means[int(0.025 * rounds)], 5), round(means[int(0.975 * rounds)], 5)]


def estimate(mean: float, ci: list[float] | None, n: int) -> dict[str, object]:
    """The project's estimate object."""
    return {"mean": round(mean, 5), "ci": ci, "n": n}


def f1_ci(steps: Sequence[Step], views: Sequence[View], origin: float, seed: int = 0, rounds: int = 1000) -> list[float] | None:
    """95% bootstrap interval of the action F1, resampling views."""
    pairs = dict(match(steps, views, origin))
    counts = []
    for i, view in enumerate(views):
        truth = {a["name"] for a in view.actions if a["name"] in ACTIONS}
        found = {a.name for a in steps[pairs[i]].actions if a.name in ACTIONS} if i in pairs else set()
        counts.append((len(truth & found), len(found - truth), len(truth - found)))
    if not any(sum(c) for c in counts):
        return None
    rng = random.Random(seed)
    values = []
    for _ in range(rounds):
        tp, fp, fn = (sum(x) for x in zip(*rng.choices(counts, k=len(counts)), strict=True))
        values.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    values.sort()
    return [round(values[int(0.025 * rounds)], 4), round(values[int(0.975 * rounds)], 4)]


def to_asr_rate(pcm: Any) -> Any:
    """48 kHz int16 -> 16 kHz int16 with FFmpeg's resampler, as the recorder resamples (plain decimation aliases)."""
    import av
    import numpy as np

    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 48_000
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)
    parts = [out.to_ndarray().reshape(-1) for f in (frame, None) for out in resampler.resample(f)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def clean_audio_ceiling(views: Sequence[View], feed_transcripts: dict[int, str], asr: ASRConfig, voice: str) -> float | None:
    """Key-word hit rate of the same ASR on the same sentences straight from the voice (no phone, no Opus)."""
    import numpy as np

    from device.virtual.speech import speak
    from recorder.asr import Transcriber

    model = Transcriber(asr).load()
    spoken = [v for v in views if heard_in_full(v) and v.position in feed_transcripts]
    hits = 0
    for view in spoken:
        pcm = to_asr_rate(speak(feed_transcripts[view.position], voice)).astype(np.float32) / 32768.0
        padded = np.concatenate([np.zeros(8000, np.float32), pcm, np.zeros(8000, np.float32)])  # as a clip has around it
        segments, _ = model.transcribe(padded, beam_size=asr.beam_size,
                                       language=asr.language or "en")
        hits += keywords_heard(view.keywords, " ".join(s.text for s in segments))
    return hits / len(spoken) if spoken else None


def recorded_hit_rate(folder: Path, steps: Sequence[Step], views: Sequence[View], origin: float,
                      asr: ASRConfig) -> float | None:
    """Key-word hit rate of another ASR model on the same recorded per-video audio (a baseline beside the model)."""
    from recorder.asr import Transcriber

    model = Transcriber(asr)
    spoken = [(i, k) for i, k in match(steps, views, origin) if heard_in_full(views[i])]
    hits = 0
    for i, k in spoken:
        audio = steps[k].audio
        text = model.transcribe(folder / audio).text if audio and (folder / audio).is_file() else ""
        hits += keywords_heard(views[i].keywords, text)
    return round(hits / len(spoken), 4) if spoken else None


def av_sync(folder: Path, steps: Sequence[Step], views: Sequence[View], origin: float, feed_steps: Sequence[Step],
            voice: str) -> Any:
    """A/V sync of the recording against the ground truth: each video's clean speech found in the recorded audio."""
    from device.virtual.avsync import measure
    from device.virtual.speech import speak

    texts = {step.index: step.transcript or "" for step in feed_steps}
    return measure(folder, steps, views, origin, texts, lambda text: to_asr_rate(speak(text, voice)))


def baseline_actions(steps: Sequence[Step], views: Sequence[View], origin: float) -> float:
    """F1 of the trivial attribution: every tap on a control counts, confirmed by the screen or not."""
    tp = fp = fn = 0
    pairs = dict(match(steps, views, origin))
    for i, view in enumerate(views):
        truth = {a["name"] for a in view.actions if a["name"] in ACTIONS}
        found: set[str] = set()
        if i in pairs:
            for tap in steps[pairs[i]].extra.get("taps", []):
                name = {"like": "like", "send": "comment", "share_action": "share"}.get(tap["target"])
                if tap["target"] == "video" and tap["kind"] == "double_tap":
                    name = "like"
                if name:
                    found.add(name)
        tp, fp, fn = tp + len(truth & found), fp + len(found - truth), fn + len(truth - found)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def baseline_segmentation(folder: Path, views: Sequence[View], origin: float) -> float:
    """Recall of the trivial segmentation: a new video at every up-swipe, no frame or metadata check."""
    from device.profiles import load_profile
    from recorder.capture.assemble import host_gestures
    from recorder.capture.segment import SegmentConfig, feed_swipes
    from recorder.capture.session import read_capture

    capture = read_capture(folder / "capture")
    gestures, _ = host_gestures(capture)
    starts = [0.0] + [g.end_s for g in feed_swipes(gestures, capture.header["screen"][1], SegmentConfig())]
    load_profile("douyin")
    hits = sum(any(abs(s - (v.start - origin)) <= 0.6 for s in starts) or i == 0 for i, v in enumerate(views))
    return hits / len(views) if views else 1.0


def main() -> None:
    """Run the rehearsal, process it, score it and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--time-scale", type=float, default=3.0)
    parser.add_argument("--min-watch", type=float, default=2.5, help="shortest wall-clock watch (s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--asr-model", default="embedded-base",
                        help="faster-whisper model for the transcripts (embedded-base: Whisper base from PyPI)")
    parser.add_argument("--voice", default="auto",
                        help="virtual phone's speech: auto (first installed of piper, festival, espeak-ng) or one of them")
    parser.add_argument("--out", type=Path, default=None, help="trace folder (default: a temporary one)")
    parser.add_argument("--results", type=Path, default=OUT, help="where the figures go (default: %(default)s)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="recorder-bench-")) / "trace"
    config = ParticipantConfig(videos=args.videos, seed=args.seed, min_watch_wall_s=args.min_watch)
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    per_thread: dict[int, tuple[str, float]] = {}
    done = threading.Event()

    def sample_threads() -> None:  # per-thread CPU clocks of the recorder's own threads
        while not done.wait(0.5):
            for thread in threading.enumerate():
                if thread.name.startswith(CLIENT_THREADS) and thread.ident is not None:
                    try:
                        used = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
                    except (OSError, ProcessLookupError):
                        continue
                    per_thread[thread.ident] = (thread.name, max(used, per_thread.get(thread.ident, ("", 0.0))[1]))

    sampler = threading.Thread(target=sample_threads, daemon=True)
    sampler.start()
    asr = ASRConfig(model=args.asr_model, beam_size=args.beam, language="en")
    result = rehearse(out, config, time_scale=args.time_scale, voice=args.voice)
    done.set()
    wall = time.monotonic() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    client_cpu = sum(v for _, v in per_thread.values())
    frames = result.status.frames
    recorded_s = float(json.loads((out / "capture" / "capture.json").read_text())["stopped_h"])
    t = time.monotonic()
    report = process_trace(out, ProcessConfig(asr=asr))
    process_s = time.monotonic() - t
    trace = read_trace(out)
    s = score(trace.steps, result.views, result.origin)
    errors = [abs(trace.steps[k].watch_s - (result.views[i].end - result.views[i].start))
              for i, k in match(trace.steps, result.views, result.origin) if 0 < i < len(result.views) - 1]
    cores = len(os.sched_getaffinity(0))
    from device.virtual.participant import keyword_feed

    feed = keyword_feed(args.videos + 50, args.seed)
    ceiling = clean_audio_ceiling(result.views, {s.index: s.transcript or "" for s in feed.trace.steps}, asr, args.voice)
    tiny = recorded_hit_rate(out, trace.steps, result.views, result.origin, ASRConfig(beam_size=args.beam, language="en"))
    sync = av_sync(out, trace.steps, result.views, result.origin, feed.trace.steps, args.voice)
    results = {
        "kind": "recorder_benchmark", "schema_version": 1,
        "settings": {"videos": args.videos, "time_scale": args.time_scale, "min_watch_wall_s": args.min_watch,
                     "seed": args.seed, "hierarchy_interval_s": 0.15, "max_fps": 10, "asr": f"{args.asr_model} beam {args.beam}",
                     "voice": resolve_voice(args.voice),
                     "cores": cores},
        "segmentation_recall": estimate(s.segmentation_recall, wilson(s.n_matched, s.n_views), s.n_views),
        "segmentation_precision": estimate(s.segmentation_precision, wilson(s.n_matched, s.n_steps), s.n_steps),
        "action_f1": estimate(s.action_f1, f1_ci(trace.steps, result.views, result.origin), sum(s.action_counts.values())),
        "action_counts": s.action_counts, "comment_text_accuracy": s.comment_text_accuracy,
        "watch_mae_s": estimate(s.watch_mae_s, bootstrap(errors), len(errors)),
        # Where the recorder put each video's speech (screen.mkv audio through its clock mapping) minus when the
        # video appeared (ground truth); > 0: audio placed late. n = videos whose speech was found.
        "av_offset_s": sync.to_dict() if sync else None,
        "transcript_hit_rate": estimate(s.transcript_hit_rate or 0.0,
                                        wilson((s.transcript_hit_rate or 0.0) * s.n_transcripts, s.n_transcripts),
                                        s.n_transcripts),
        # Videos swiped away before the phone had played their whole speech: no transcript could hold their key
        # words, so they are counted here and left out of transcript_hit_rate (and of its clean-audio ceiling).
        "transcript_videos_unplayed": s.n_unplayed,
        "capture_fps": round(frames / max(1e-9, recorded_s), 2),
        "cpu_share_per_phone": round(cpu / wall / cores, 4),
        "cpu_share_recorder_threads": round(client_cpu / wall / cores, 4),
        "baselines": {"segmentation_recall_swipes_only": round(baseline_segmentation(out, result.views, result.origin), 4),
                      "action_f1_unconfirmed_taps": round(baseline_actions(trace.steps, result.views, result.origin), 4),
                      "transcript_hit_rate_clean_audio": ceiling, "transcript_hit_rate_tiny_en": tiny},
        "timing": {"recording_wall_s": round(wall, 1), "process_s": round(process_s, 1), "frames": frames,
                   "dumps": result.status.dumps, "dump_failures": result.status.dump_failures},
        "notes": "Virtual phone in the same process on a shared 2-core machine: fps and CPU are noisy upper bounds. "
                 "watch_mae_s is in wall (real) seconds; getevent stamps on the virtual phone are exact, real "
                 "panels add a few ms of jitter. Transcripts: the voice's speech through Opus and the recorder, then the "
                 "ASR model in settings (baselines: tiny.en on the same recorded audio, and the model on the voice's "
                 "audio straight from the engine); scored on the videos whose whole speech was played before the "
                 "swipe (transcript_videos_unplayed were not).",
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if sync is not None and sync.n:
        print(f"av_offset_s: median {sync.median_s:+.4f} s (95% CI {sync.ci}), p95 |offset| {sync.p95_abs_s:.4f} s, "
              f"n {sync.n} ({sync.not_found} not found, {sync.clipped} with speech before the recorder's cut)")
    if report.problems:
        print("problems:", report.problems[:5])
    if args.out is None:
        shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
