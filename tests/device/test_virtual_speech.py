"""The virtual phone's speech: trimmed engine audio, the next video prepared ahead, and which key words were played."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from device.profiles import load_profile
from device.virtual.participant import View, keyword_feed
from device.virtual.phone import VirtualPhone
from device.virtual.scoring import _key, score
from device.virtual.speech import SAMPLE_RATE, SILENCE, available, resolve, speak
from recorder.trace import Step


def test_keyword_feed_says_each_key_word_in_a_sentence():
    for step in keyword_feed(20, seed=5).trace.steps:
        a, b = step.extra["keywords"]
        text = step.transcript or ""
        assert a in text.lower() and b in text.lower() and text.endswith(".") and len(text.split()) >= 4


@pytest.mark.parametrize("voice", ["espeak-ng", "festival", "piper"])
def test_speech_starts_and_ends_with_the_words(voice):
    if not available(voice):
        pytest.skip(f"needs {voice} ({'make voices' if voice == 'piper' else 'scripts/install-system-deps.sh'} installs it)")
    pcm = speak("The pizza and the guitar.", voice)
    loud = np.flatnonzero(np.abs(pcm) > SILENCE)
    assert len(loud) and loud[0] <= 0.06 * SAMPLE_RATE and len(pcm) - loud[-1] <= 0.06 * SAMPLE_RATE
    assert 1.0 < len(pcm) / SAMPLE_RATE < 4.0
    assert len(speak("   ", voice)) == 0


def test_auto_voice_takes_the_most_natural_engine_installed(monkeypatch):
    import device.virtual.speech as speech

    monkeypatch.setattr(speech, "piper_model", lambda: Path("/voices/joe.onnx"))
    assert resolve("auto") == "piper"
    monkeypatch.setattr(speech, "piper_model", lambda: None)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    assert resolve("auto") == ("festival" if speech.FESTIVAL_VOICE_DIR.is_dir() else "espeak-ng")
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "text2wave" else f"/usr/bin/{name}")
    assert resolve("auto") == "espeak-ng" and resolve("festival") is None
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert resolve("auto") is None and len(speak("The pizza and the guitar.")) == 0


def test_a_piper_voice_can_be_chosen_by_path(monkeypatch, tmp_path):
    import device.virtual.speech as speech

    if speech.piper_model() is None and not available("piper"):
        monkeypatch.setenv(speech.PIPER_VOICE_ENV, str(tmp_path / "mine.onnx"))
        assert speech.piper_model() is None  # no engine: the voice alone does not help
        return
    monkeypatch.setenv(speech.PIPER_VOICE_ENV, str(tmp_path / "missing.onnx"))
    assert speech.piper_model() is None
    (tmp_path / "mine.onnx").write_bytes(b"onnx")
    monkeypatch.setenv(speech.PIPER_VOICE_ENV, str(tmp_path / "mine.onnx"))
    assert speech.piper_model() == tmp_path / "mine.onnx"


def test_unknown_voices_are_refused_by_name():
    with pytest.raises(ValueError, match="voice: 'say'"):
        resolve("say")
    with pytest.raises(ValueError, match="voice: 'say'"):
        VirtualPhone(keyword_feed(2), load_profile("douyin"), voice="say")


def test_phone_names_the_next_videos_speech():
    phone = VirtualPhone(keyword_feed(5), load_profile("douyin"))
    key, text = phone.upcoming_speech() or ("", "")
    assert key == "video:1" and text == phone.feed.trace.steps[1].transcript  # type: ignore[attr-defined]


def _step(index: int, start: float, transcript: str) -> Step:
    feed = keyword_feed(3).trace.steps[index]
    return Step(index, feed.appeared_at, 1.0, meta=feed.meta, transcript=transcript,
                extra={"capture": {"start_h": start, "end_h": start + 1.0}})


def test_videos_left_before_their_words_were_played_are_counted_apart():
    steps = keyword_feed(3).trace.steps
    recorded = [_step(0, 0.0, steps[0].transcript or ""), _step(1, 1.0, "something else"), _step(2, 2.0, "")]
    views = [View(float(i), _key(recorded[i]), "video", i, list(step.extra["keywords"]), words_played=i != 2)
             for i, step in enumerate(steps)]
    s = score(recorded, views, origin=0.0)
    assert (s.n_transcripts, s.n_unplayed, s.transcript_hit_rate) == (2, 1, 0.5)
    views[2].words_played = None  # unknown (no audio log): scored as before
    assert score(recorded, views, origin=0.0).n_transcripts == 3


def test_a_sentence_sounds_the_same_each_time_and_failures_are_retried(monkeypatch):
    import device.virtual.speech as speech

    calls: list[str] = []
    tone = (np.sin(np.arange(16000) / 5) * 8000).astype(np.int16)
    replies = iter([b"", _wav(tone), _wav(tone[::-1])])  # the first try fails, later ones differ (a noisy voice)
    monkeypatch.setattr(speech, "_espeak", lambda text: calls.append(text) or next(replies))
    monkeypatch.setattr(speech, "resolve", lambda voice="auto": "espeak-ng")
    monkeypatch.setattr(speech, "_CACHE", speech.OrderedDict())
    assert len(speak("A noisy voice.")) == 0  # failed: not kept
    first = speak("A noisy voice.")
    assert len(first) and np.array_equal(speak("A noisy voice."), first) and len(calls) == 2
    with pytest.raises(ValueError):
        first[0] = 1  # shared between callers: read-only


def _wav(pcm: np.ndarray, rate: int = 16000) -> bytes:
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return out.getvalue()
