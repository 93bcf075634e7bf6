"""A/V sync scoring on synthetic audio: speech located by normalised cross-correlation, offsets summarised."""

from __future__ import annotations

import numpy as np
import pytest

from device.virtual.avsync import VideoSync, locate, summarise, video_syncs
from device.virtual.participant import View

RATE = 16_000


def babble(seconds: float, seed: int) -> np.ndarray:
    """Speech-like audio: noise under a syllable-rate envelope (4 Hz), int16."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)) ** 2
    return (rng.standard_normal(len(t)) * 6000 * envelope).astype(np.int16)


def place(recording: np.ndarray, clip: np.ndarray, at_s: float, gain: float = 1.0) -> None:
    """Mix `clip` into `recording` starting at `at_s` (clipped at the end)."""
    start = int(at_s * RATE)
    part = clip[:max(0, len(recording) - start)]
    mixed = recording[start:start + len(part)].astype(np.float64) + gain * part
    recording[start:start + len(part)] = np.clip(mixed, -32768, 32767).astype(np.int16)


def quiet(seconds: float, seed: int = 9) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * 30).astype(np.int16)


def test_locate_finds_the_reference_start_to_the_sample_despite_other_speech():
    recording, mine, other = quiet(8.0), babble(1.5, 1), babble(2.0, 2)
    place(recording, other, 1.0, gain=1.5)  # the previous video's speech, louder, just before
    place(recording, mine, 3.2125, gain=0.6)
    hit = locate(recording, mine, int(0.5 * RATE), int(6.0 * RATE))
    assert hit is not None and hit[0] == int(3.2125 * RATE) and hit[1] > 0.9


def test_locate_matches_speech_cut_short_by_a_swipe_and_refuses_silence():
    recording, mine, nxt = quiet(6.0), babble(2.0, 3), babble(2.0, 4)
    place(recording, mine[:int(0.7 * RATE)], 2.0)  # the swipe came 0.7 s in; the next video speaks from 2.7 s
    place(recording, nxt, 2.7)
    hit = locate(recording, mine, int(1.5 * RATE), int(2.7 * RATE), min_match=0.3)
    assert hit is not None and hit[0] == 2 * RATE
    assert locate(quiet(6.0), mine, 0, 4 * RATE) is None
    assert locate(recording, np.zeros(0, np.int16), 0, RATE) is None


def test_video_syncs_map_audio_to_host_and_report_offsets():
    # Audio sample i lies at host second i / RATE + 0.25; videos appear at host 2.0 and 5.0 (origin 100).
    recording, first, second = quiet(9.0), babble(1.2, 5), babble(1.2, 6)
    place(recording, first, 2.0 - 0.25 + 0.030)  # placed 30 ms late
    place(recording, second, 5.0 - 0.25 - 0.010)  # 10 ms early
    views = [View(100.0, "z", "video", 9, end=102.0),  # the first view: playing before the participant started
             View(102.0, "a", "video", 0, end=105.0), View(105.0, "b", "video", 1, end=108.0),
             View(108.0, "ad", "ad", 1, end=109.0), View(109.0, "c", "video", 2, end=110.0)]
    references = {0: first, 1: second, 2: babble(1.0, 7), 9: babble(1.0, 8)}  # videos 2's and 9's never played
    syncs, missed = video_syncs(recording, RATE, 0.25, views, 100.0, references, cuts={0: 2.1, 1: 4.9})
    assert [s.position for s in syncs] == [0, 1] and missed == 1
    assert [round(s.offset_s, 4) for s in syncs] == [0.03, -0.01]
    summary = summarise(syncs, missed)
    assert summary.n == 2 and summary.not_found == 1
    assert summary.clipped == 1  # video 0's speech began before the recorder's cut at 2.1: its first words are lost
    assert summary.median_s == pytest.approx(0.01) and summary.p95_abs_s == pytest.approx(0.029)


def test_summary_ci_brackets_the_median_and_empty_input_is_none():
    rng = np.random.default_rng(0)
    syncs = [VideoSync(i, 0.0, float(x), 1.0) for i, x in enumerate(rng.normal(0.02, 0.01, 60))]
    summary = summarise(syncs)
    assert summary.ci is not None and summary.ci[0] <= summary.median_s <= summary.ci[1]
    assert 0.01 < summary.median_s < 0.03 and summary.to_dict()["n"] == 60
    empty = summarise([], not_found=3)
    assert (empty.median_s, empty.ci, empty.n, empty.not_found) == (None, None, 0, 3)
