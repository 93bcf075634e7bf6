"""The virtual phone's voice: each video's transcript spoken by a local text-to-speech engine, as 48 kHz int16.

Two Debian engines are supported. Festival with the HTS voice `cmu_us_slt_arctic_hts` (packages `festival`,
`festvox-us-slt-hts`) sounds closer to a person than espeak-ng's formant voice, so small Whisper models hear it
about as well as they hear real speech; espeak-ng is the fallback. `auto` takes the first one installed.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from recorder.errors import PersonaActError

SAMPLE_RATE = 48_000
SILENCE = 64  # int16 amplitude below which an engine's padding counts as silent
VOICES = ("auto", "festival", "espeak-ng")
FESTIVAL_VOICE = "cmu_us_slt_arctic_hts"
FESTIVAL_VOICE_DIR = Path("/usr/share/festival/voices/us") / FESTIVAL_VOICE
ESPEAK_ARGS = ("-v", "en-us", "-s", "130", "-g", "6")  # slower, with word gaps: clearest for small ASR models
MAX_CHARS = 400  # a transcript longer than any short video says in full


class UnknownVoice(ValueError, PersonaActError):
    """A voice name that is not one of VOICES."""


def available(voice: str) -> bool:
    """Whether `voice` (festival or espeak-ng) can speak on this machine."""
    if voice == "festival":
        return shutil.which("text2wave") is not None and FESTIVAL_VOICE_DIR.is_dir()
    if voice == "espeak-ng":
        return shutil.which("espeak-ng") is not None
    raise UnknownVoice(f"voice: {voice!r} is not one of {', '.join(VOICES[1:])}")


def resolve(voice: str = "auto") -> str | None:
    """The engine `voice` names, the first installed one for `auto`, or None when none is installed."""
    if voice not in VOICES:
        raise UnknownVoice(f"voice: {voice!r} must be one of {', '.join(VOICES)}")
    candidates = VOICES[1:] if voice == "auto" else (voice,)
    return next((name for name in candidates if available(name)), None)


def speak(text: str, voice: str = "auto") -> np.ndarray:
    """`text` spoken by `voice`, trimmed to the words, as 48 kHz mono int16 (empty when silent or no engine)."""
    engine = resolve(voice)
    if engine is None or not text.strip():
        return np.zeros(0, dtype=np.int16)
    wav = _festival(text[:MAX_CHARS]) if engine == "festival" else _espeak(text[:MAX_CHARS])
    return _trimmed(*_read_wav(wav)) if wav else np.zeros(0, dtype=np.int16)


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
