"""One long-lived Piper text-to-speech process: a line of text in, the path of its WAV file back.

Piper (GPL) runs as its own program, `python -m piper -d DIR`, which reads lines on stdin and logs `Wrote PATH`
for each WAV it writes; loading the voice takes about half a second, so one process serves every sentence.
"""

from __future__ import annotations

import atexit
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

_WROTE = re.compile(r"Wrote (.+\.wav)\s*$")
TIMEOUT_S = 60.0  # the first sentence waits for the voice to load


class PiperWorker:
    """A Piper process for one voice model, started on first use and restarted if it dies."""

    def __init__(self, model: Path, timeout_s: float = TIMEOUT_S, command: tuple[str, ...] | None = None) -> None:
        """Remember the voice; nothing starts until `speak`. `command` replaces `python -m piper` (tests)."""
        self.model, self.timeout_s = model, timeout_s
        self.command = command or (sys.executable, "-m", "piper")
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._folder: Path | None = None
        atexit.register(self.close)  # no orphaned Piper when the phone's process ends

    def speak(self, text: str) -> bytes:
        """The WAV bytes of `text` spoken (one line), or b"" when Piper fails or does not answer in time."""
        line = " ".join(text.split())
        if not line:
            return b""
        with self._lock:
            for _ in range(2):  # one restart if the process has died
                process = self._running()
                try:
                    assert process.stdin is not None
                    process.stdin.write(line + "\n")
                    process.stdin.flush()
                except (BrokenPipeError, OSError):
                    self._stop()
                    continue
                return self._wait_for_wav()
        return b""

    def close(self) -> None:
        """Stop the process and remove its folder."""
        with self._lock:
            self._stop()

    def _running(self) -> subprocess.Popen[str]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop()
        self._folder = Path(tempfile.mkdtemp(prefix="personaact-piper-"))
        self._lines = queue.Queue()
        self._process = subprocess.Popen(
            [*self.command, "-m", str(self.model), "-d", str(self._folder)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._read_log, args=(self._process, self._lines), daemon=True,
                         name="piper-log").start()
        return self._process

    @staticmethod
    def _read_log(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stderr is not None
        try:
            for text in process.stderr:
                lines.put(text)
        except (OSError, ValueError):  # the stream was closed under us by _stop
            pass
        lines.put(None)  # the process ended

    def _wait_for_wav(self) -> bytes:
        while True:
            try:
                text = self._lines.get(timeout=self.timeout_s)
            except queue.Empty:
                self._stop()  # hung: the next call starts afresh
                return b""
            if text is None:
                self._stop()
                return b""
            wrote = _WROTE.search(text)
            if wrote:
                path = Path(wrote.group(1))
                data = path.read_bytes() if path.is_file() else b""
                path.unlink(missing_ok=True)
                return data

    def _stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stderr):
                if stream is not None:
                    stream.close()
            self._process = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
