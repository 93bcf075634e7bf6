"""Crash-safe file writing shared by every package: atomic replacement and torn-line recovery."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from recorder.errors import PersonaActError

log = logging.getLogger(__name__)
_TAIL_CHUNK = 64 * 1024
CACHE_ENV = "PERSONAACT_CACHE"


def cache_root() -> Path:
    """The PersonaAct cache folder: $PERSONAACT_CACHE, else $XDG_CACHE_HOME/personaact, else ~/.cache/personaact."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "personaact"


def default_mode(directory: bool = False) -> int:
    """Permissions open()/mkdir() would give (0666/0777 less the umask), not mkstemp's 0600 or mkdtemp's 0700."""
    return (0o777 if directory else 0o666) & ~_umask()


def _umask() -> int:
    # Linux reports the umask in /proc without changing it; setting it to read it back would race other threads.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


class JSONTextError(ValueError, PersonaActError):
    """Bytes that are not strict UTF-8 JSON; the message says why (encoding, syntax, NaN, nesting)."""


def decode_text(data: bytes) -> str:
    """UTF-8 text (a UTF-8 BOM is dropped); UTF-16/32 and other encodings are refused with a hint."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise JSONTextError("is UTF-16 (or UTF-32) encoded; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise JSONTextError(f"is not UTF-8 (byte {err.start}: {data[err.start:err.start + 1]!r}); save it as UTF-8") from err


def _refuse_constant(name: str) -> Any:
    raise JSONTextError(f"{name} is not valid JSON; write null or a number")


def loads_strict(text: str | bytes) -> Any:
    """json.loads that refuses NaN/Infinity and turns too-deep nesting into an error instead of a crash."""
    if isinstance(text, bytes):
        text = decode_text(text)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as err:
        raise JSONTextError(f"not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from err
    except RecursionError as err:
        raise JSONTextError("JSON nested too deeply") from err


def dumps_strict(data: Any, indent: int | None = None) -> str:
    """json.dumps that refuses NaN/infinity (they are not JSON and other readers choke on them)."""
    try:
        return json.dumps(data, ensure_ascii=False, indent=indent, allow_nan=False)
    except RecursionError as err:
        raise ValueError("value nested too deeply to write as JSON") from err


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (recordings and result files can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file beside `path`, fsync, rename over it (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # keep the mode of the file being replaced, else what open() would have given (mkstemp makes 0600)
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else default_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` as indented UTF-8 JSON through `atomic_write_bytes`."""
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def set_aside_torn_tail(path: Path, torn_path: Path) -> None:
    """Move a last line without its newline (a crash mid-write) to `torn_path`, keeping it, and cut it off `path`.

    Reads only the tail of the file (backwards, in chunks), so a resume never loads a whole trace into memory.
    """
    if not path.exists():
        return
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        cut, tail = _last_line_start(handle, size)
        with torn_path.open("ab") as torn:
            torn.write(tail + b"\n")
            torn.flush()
            os.fsync(torn.fileno())
        handle.truncate(cut)
        handle.flush()
        os.fsync(handle.fileno())
    log.warning("%s: moved a half-written last line to %s", path, torn_path.name)


def _last_line_start(handle: Any, size: int) -> tuple[int, bytes]:
    """Offset just after the last newline of a binary file, and the bytes from there to the end."""
    tail = b""
    position = size
    while position > 0:
        start = max(0, position - _TAIL_CHUNK)
        handle.seek(start)
        tail = handle.read(position - start) + tail
        position = start
        newline = tail.rfind(b"\n")
        if newline >= 0:
            return position + newline + 1, tail[newline + 1:]
    return 0, tail
