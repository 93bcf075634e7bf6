"""Audio/video sync on the virtual phone: where each video's speech lies in the recorded audio vs when it appeared.

The virtual phone starts a video's speech with the video (its speech is trimmed to the words), and the scripted
participant logs when each video appeared on the host clock. The recorder places the screen.mkv audio on that
clock through its own mapping (device PTS + the least-delayed frame's host offset, `recorder.capture.process`).
Finding the clean speech in that audio by normalised cross-correlation gives, per video, the offset between where
the recorder put the speech and when the video appeared: 0 when audio and video are in sync.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from device.virtual.participant import View
from recorder.trace import Step

MIN_MATCH = 0.4  # normalised correlation below which the speech is not taken as found (a swipe cut it, or silence)
SEARCH_BEFORE_S = 0.5  # speech is looked for from this long before the video appeared (a lead would show up)


@dataclass(frozen=True)
class VideoSync:
    """One video: when it appeared and where its speech starts in the recording (host seconds), and the match."""

    position: int
    appeared_h: float
    speech_h: float
    match: float
    cut_h: float | None = None  # where the recorder's per-video audio cut starts (its step start), when matched

    @property
    def offset_s(self) -> float:
        """Speech start minus video appearance: > 0 means the recorder placed the audio late."""
        return self.speech_h - self.appeared_h


@dataclass(frozen=True)
class SyncSummary:
    """Offsets over videos: median, 95th percentile of |offset|, a 95% bootstrap CI of the median, and counts."""

    median_s: float | None
    p95_abs_s: float | None
    ci: tuple[float, float] | None
    n: int
    not_found: int
    clipped: int  # videos whose speech began before the recorder's cut: their clip misses the first words

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (benchmarks/results/recorder.json `av_offset_s`)."""
        return {"median": self.median_s, "p95_abs": self.p95_abs_s, "ci": list(self.ci) if self.ci else None,
                "n": self.n, "not_found": self.not_found, "speech_before_cut": self.clipped}


def locate(recording: np.ndarray, reference: np.ndarray, lo: int, hi: int,
           min_match: float = MIN_MATCH) -> tuple[int, float] | None:
    """(sample index in [lo, hi), correlation) where `reference` starts in `recording`, or None when nowhere matches.

    Normalised cross-correlation over the overlap, so a loud stretch of other speech does not outscore a quiet
    match; a reference cut short by the end of the recording still matches on its first part (a quarter at least).
    """
    ref = np.asarray(reference, dtype=np.float64)
    lo, hi = max(0, lo), min(hi, len(recording))
    if len(ref) == 0 or hi <= lo:
        return None
    segment = np.asarray(recording[lo:hi + len(ref)], dtype=np.float64)
    size = 1 << int(np.ceil(np.log2(len(segment) + len(ref))))
    dot = np.fft.irfft(np.fft.rfft(segment, size) * np.conj(np.fft.rfft(ref, size)), size)[:hi - lo]
    lags = np.arange(hi - lo)
    overlap = np.minimum(len(ref), len(segment) - lags)
    seg_energy = np.concatenate([[0.0], np.cumsum(segment * segment)])
    ref_energy = np.concatenate([[0.0], np.cumsum(ref * ref)])
    denominator = np.sqrt((seg_energy[lags + overlap] - seg_energy[lags]) * ref_energy[overlap])
    score = np.where((denominator > 1e-9) & (overlap >= len(ref) // 4), dot / np.maximum(denominator, 1e-9), 0.0)
    best = int(np.argmax(score))
    return (lo + best, float(score[best])) if score[best] >= min_match else None


def video_syncs(audio: np.ndarray, rate: int, audio_to_host_s: float, views: Sequence[View], origin: float,
                references: Mapping[int, np.ndarray], cuts: Mapping[int, float] | None = None) -> tuple[list[VideoSync], int]:
    """Each feed video's speech located in `audio` (sample i lies at host second i / rate + audio_to_host_s).

    `references` holds each feed position's clean speech at `rate`; `cuts` the host second each matched view's
    per-video audio starts. The first view is left out: it was playing before the participant started, so its
    logged start is not when it appeared. Returns the videos found and how many with speech were not found.
    """
    found: list[VideoSync] = []
    missed = 0
    for view in views[1:]:
        reference = references.get(view.position)
        if view.kind != "video" or reference is None or len(reference) == 0:
            continue
        appeared, ended = view.start - origin, (view.end or view.start) - origin
        lo = int((appeared - SEARCH_BEFORE_S - audio_to_host_s) * rate)
        hi = int((max(ended, appeared + 0.1) - audio_to_host_s) * rate)
        hit = locate(audio, reference, lo, hi)
        if hit is None:
            missed += 1
            continue
        index, match = hit
        cut = (cuts or {}).get(view.position)
        found.append(VideoSync(view.position, appeared, index / rate + audio_to_host_s, match, cut))
    return found, missed


def summarise(syncs: Sequence[VideoSync], not_found: int = 0, seed: int = 0, rounds: int = 2000) -> SyncSummary:
    """Median offset with a 95% percentile-bootstrap CI, the 95th percentile of |offset|, and counts."""
    offsets = [s.offset_s for s in syncs]
    clipped = sum(1 for s in syncs if s.cut_h is not None and s.speech_h < s.cut_h)
    if not offsets:
        return SyncSummary(None, None, None, 0, not_found, clipped)
    rng = random.Random(seed)
    medians = sorted(float(np.median(rng.choices(offsets, k=len(offsets)))) for _ in range(rounds))
    ci = (round(medians[int(0.025 * rounds)], 4), round(medians[int(0.975 * rounds)], 4))
    return SyncSummary(round(float(np.median(offsets)), 4), round(float(np.percentile(np.abs(offsets), 95)), 4), ci,
                       len(offsets), not_found, clipped)


def measure(folder: Any, steps: Sequence[Step], views: Sequence[View], origin: float, texts: Mapping[int, str],
            speech: Callable[[str], np.ndarray]) -> SyncSummary | None:
    """A/V sync of a recorded trace folder against the participant's views; `speech(text)` is the clean 16 kHz speech.

    Uses the recorder's own audio decode and clock mapping; None when the recording has no audio or no frames.
    """
    from pathlib import Path

    from device.virtual.scoring import match
    from recorder.capture.process import ASR_RATE, decode_audio, pts_offset

    folder = Path(folder)
    offset = pts_offset(folder)
    audio = decode_audio(folder) if offset is not None else None
    if audio is None or offset is None:
        return None
    wanted = {v.position for v in views if v.kind == "video" and texts.get(v.position)}
    references = {p: speech(texts[p]) for p in sorted(wanted)}
    cuts = {views[i].position: float(steps[k].extra["capture"]["start_h"]) for i, k in match(steps, views, origin)
            if views[i].kind == "video"}
    syncs, missed = video_syncs(audio, ASR_RATE, offset, views, origin, references, cuts)
    return summarise(syncs, missed)
