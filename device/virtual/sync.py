"""The adb `sync:` service of the virtual phone: STAT, LIST, RECV (pull) and SEND (push)."""

from __future__ import annotations

import socket
import stat
import struct
import threading

from device.virtual.shell import FileSystem

CHUNK = 64 * 1024


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("sync client closed the connection")
        data += chunk
    return data


def serve_sync(sock: socket.socket, fs: FileSystem, stop: threading.Event) -> None:
    """Answer sync requests until QUIT, a closed socket or `stop`."""
    try:
        while not stop.is_set():
            command = _read_exact(sock, 4).decode("ascii")
            path = _read_exact(sock, struct.unpack("<I", _read_exact(sock, 4))[0]).decode("utf-8")
            if command == "QUIT":
                return
            handler = {"STAT": _stat, "LIST": _list, "RECV": _recv, "SEND": _send}.get(command)
            if handler is None:
                _fail(sock, f"unknown sync command {command!r}")
                return
            handler(sock, fs, path)
    except (ConnectionError, OSError):
        return


def _fail(sock: socket.socket, message: str) -> None:
    body = message.encode("utf-8")
    sock.sendall(b"FAIL" + struct.pack("<I", len(body)) + body)


def _stat(sock: socket.socket, fs: FileSystem, path: str) -> None:
    sock.sendall(b"STAT" + struct.pack("<III", *fs.stat(path)))


def _list(sock: socket.socket, fs: FileSystem, path: str) -> None:
    prefix = path.rstrip("/") + "/"
    with fs.lock:
        entries = [(p[len(prefix):], f) for p, f in fs.files.items() if p.startswith(prefix) and "/" not in p[len(prefix):]]
    for name, f in entries:
        body = name.encode("utf-8")
        sock.sendall(b"DENT" + struct.pack("<IIII", f.mode, len(f.data), f.mtime, len(body)) + body)
    sock.sendall(b"DONE" + struct.pack("<IIII", 0, 0, 0, 0))


def _recv(sock: socket.socket, fs: FileSystem, path: str) -> None:
    data = fs.read(path)
    if data is None:
        _fail(sock, f"remote object '{path}' does not exist")
        return
    for start in range(0, len(data), CHUNK):
        chunk = data[start:start + CHUNK]
        sock.sendall(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
    sock.sendall(b"DONE" + struct.pack("<I", 0))


def _send(sock: socket.socket, fs: FileSystem, spec: str) -> None:
    path, _, mode_text = spec.rpartition(",")
    mode = int(mode_text) if mode_text.isdigit() else stat.S_IFREG | 0o644
    parts: list[bytes] = []
    while True:
        kind = _read_exact(sock, 4)
        size = struct.unpack("<I", _read_exact(sock, 4))[0]
        if kind == b"DONE":
            fs.write(path, b"".join(parts), mode, size)  # DONE carries the mtime
            sock.sendall(b"OKAY" + struct.pack("<I", 0))
            return
        if kind != b"DATA" or size > CHUNK:
            _fail(sock, f"bad sync SEND chunk {kind!r} of {size} bytes")
            return
        parts.append(_read_exact(sock, size))
