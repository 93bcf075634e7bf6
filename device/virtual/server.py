"""Loopback servers of the virtual phone: the adb host protocol (as adbutils speaks it) and uiautomator2's JSON-RPC."""

from __future__ import annotations

import base64
import json
import queue
import socket
import socketserver
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from device.virtual.phone import VirtualPhone
from device.virtual.shell import FileSystem, VirtualShell

ADB_VERSION = 41
UIA_PORT = 9008
LOOPBACK = "127.0.0.1"
PROPS = {"ro.build.version.sdk": "33", "ro.build.version.release": "13", "ro.product.model": "PersonaAct Virtual",
         "ro.product.brand": "personaact", "ro.product.name": "virtual", "ro.product.device": "virtual",
         "ro.product.cpu.abi": "arm64-v8a", "ro.sf.lcd_density": "440"}


class _Closed(Exception):
    """The client went away."""


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise _Closed()
        data += chunk
    return data


def _block(text: str) -> bytes:
    body = text.encode("utf-8")
    return f"{len(body):04x}".encode() + body


class UiautomatorHandler(BaseHTTPRequestHandler):
    """One HTTP exchange with the on-device uiautomator2 server (GET /ping, POST /jsonrpc/0)."""

    server_version = "NanoHTTPD"
    phone: VirtualPhone
    stop_event: threading.Event

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the toolkit logs what matters."""

    def _send(self, body: bytes, status: int = 200, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """Ping answers pong."""
        self._send(b"pong", kind="text/plain") if self.path == "/ping" else self._send(b"not found", 404, "text/plain")

    def do_POST(self) -> None:
        """Dispatch a JSON-RPC call."""
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        params = request.get("params") or []
        params = list(params.values()) if isinstance(params, dict) else list(params)
        try:
            result = self._call(request.get("method", ""), params)
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id"), "result": result}
        except LookupError as err:
            reply = {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -32601, "message": str(err)}}
        self._send(json.dumps(reply).encode("utf-8"))

    def _call(self, method: str, params: list[Any]) -> Any:
        phone = self.phone
        if method == "dumpWindowHierarchy":
            if phone.take_hang():  # uiautomator waiting for idle on a playing video
                self.stop_event.wait(phone.hang_s)
            return phone.hierarchy_xml()
        if method == "takeScreenshot":
            quality = int(params[1]) if len(params) > 1 else 80
            return base64.b64encode(phone.screenshot_jpeg(quality)).decode("ascii")
        if method == "click":
            phone.tap(int(params[0]), int(params[1]), int(params[2]) if len(params) > 2 else 60)
            return True
        if method == "injectInputEvent":
            if int(params[0]) == 1:  # ACTION_UP completes a tap
                phone.tap(int(params[1]), int(params[2]))
            return True
        if method == "swipe":
            steps = int(params[4]) if len(params) > 4 else 55
            fx, fy, tx, ty = (int(p) for p in params[:4])
            phone.swipe(fx, fy, tx, ty, duration_s=steps * 0.005)
            return True
        if method in ("pressKey", "pressKeyCode"):
            if str(params[0]).lower() in ("back", "4"):
                phone.back()
            return True
        return self._call_info(method, params)

    def _call_info(self, method: str, params: list[Any]) -> Any:
        phone = self.phone
        w, h = phone.size
        if method == "deviceInfo":
            package, _ = phone.current_app()
            return {"currentPackageName": package, "displayHeight": h, "displayWidth": w, "displayRotation": 0,
                    "displaySizeDpX": round(w * 160 / 440), "displaySizeDpY": round(h * 160 / 440),
                    "productName": PROPS["ro.product.name"], "screenOn": True, "sdkInt": int(PROPS["ro.build.version.sdk"]),
                    "naturalOrientation": True}
        if method in ("getDisplaySize", "windowSize"):
            return {"width": w, "height": h}
        if method == "setClipboard":
            with phone.lock:
                phone.state.clipboard = str(params[-1])
            return True
        if method == "getClipboard":
            return phone.state.clipboard
        if method == "pasteClipboard":
            phone.paste()
            return True
        if method in ("wakeUp", "freezeRotation"):
            return True
        raise LookupError(f"method {method!r} not found")


class AdbHandler(socketserver.BaseRequestHandler):
    """One connection to the adb server: host services, then (after transport) device services."""

    server: VirtualAdbServer

    def handle(self) -> None:
        """Serve requests until the client closes the connection."""
        sock: socket.socket = self.request
        self.server.track(sock)
        try:
            while not self.server.stop_event.is_set():
                request = _read_exact(sock, int(_read_exact(sock, 4), 16)).decode("utf-8")
                if not self._host(sock, request):
                    break
        except (_Closed, OSError, ValueError):
            pass
        finally:
            self.server.untrack(sock)

    def _fail(self, sock: socket.socket, message: str) -> bool:
        sock.sendall(b"FAIL" + _block(message))
        return False

    def _host(self, sock: socket.socket, request: str) -> bool:
        """Answer one host request; True when the connection stays open for another."""
        srv = self.server
        if request == "host:version":
            sock.sendall(b"OKAY" + _block(f"{ADB_VERSION:04x}"))
            return True
        if request in ("host:devices", "host:devices-l"):
            sock.sendall(b"OKAY" + _block(srv.device_lines(request.endswith("-l"))))
            return True
        if request == "host:kill":
            sock.sendall(b"OKAY")
            return False
        if request.startswith("host-serial:"):
            serial, _, command = request[len("host-serial:"):].partition(":")
            return self._host_serial(sock, serial, command)
        for prefix in ("host:transport:", "host:tport:serial:"):
            if request.startswith(prefix):
                serial = request[len(prefix):]
                if not srv.available(serial):
                    return self._fail(sock, f"device '{serial}' not found")
                sock.sendall(b"OKAY" + (struct.pack("<Q", 1) if prefix.endswith("serial:") else b""))
                return self._device(sock, _read_exact(sock, int(_read_exact(sock, 4), 16)).decode("utf-8"))
        if request in ("host:transport-any", "host:tport:any") and srv.available(srv.phone.serial):
            sock.sendall(b"OKAY" + (struct.pack("<Q", 1) if "tport" in request else b""))
            return self._device(sock, _read_exact(sock, int(_read_exact(sock, 4), 16)).decode("utf-8"))
        return self._fail(sock, f"unknown host service {request!r}")

    def _host_serial(self, sock: socket.socket, serial: str, command: str) -> bool:
        srv = self.server
        if not srv.available(serial):
            return self._fail(sock, f"device '{serial}' not found")
        if command in ("get-state", "get-serialno", "get-devpath", "features"):
            answer = {"get-state": "device", "get-serialno": serial, "get-devpath": "usb:1-1",
                      "features": "shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir,abb_exec"}[command]
            sock.sendall(b"OKAY" + _block(answer))
            return False
        if command.startswith("forward:"):
            spec = command[len("forward:"):].removeprefix("norebind:")
            local, _, remote = spec.partition(";")
            srv.forward(serial, local, remote)
            sock.sendall(b"OKAYOKAY")
            return False
        if command == "list-forward":
            sock.sendall(b"OKAY" + _block("".join(f"{serial} {lo} {re}\n" for lo, re in srv.forwards.items())))
            return False
        if command.startswith("killforward"):
            srv.kill_forward(command.partition(":")[2])
            sock.sendall(b"OKAYOKAY")
            return False
        return self._fail(sock, f"unsupported service {command!r}")

    def _device(self, sock: socket.socket, service: str) -> bool:
        """Serve one device service on a transport connection; the connection closes after it."""
        srv = self.server
        if service.startswith("shell,v2:"):
            sock.sendall(b"OKAY")
            out, code = srv.shell.run(service[len("shell,v2:"):])
            sock.sendall(b"\x01" + struct.pack("<I", len(out)) + out + b"\x03" + struct.pack("<I", 1) + bytes([code]))
            return False
        if service.startswith("shell:"):
            return self._shell_v1(sock, service[len("shell:"):])
        if service == "sync:":
            sock.sendall(b"OKAY")
            srv.sync(sock)
            return False
        if service.startswith("localabstract:scrcpy"):
            session = srv.scrcpy_sessions.get(service[len("localabstract:"):])
            if session is None:
                return self._fail(sock, "connect error: Connection refused")
            sock.sendall(b"OKAY")
            session.serve(sock)
            return False
        if service.startswith("tcp:"):
            if int(service[4:]) != UIA_PORT or not srv.uia_running():
                return self._fail(sock, "connect error: Connection refused")
            sock.sendall(b"OKAY")
            srv.serve_http(sock)
            return False
        return self._fail(sock, f"unsupported device service {service!r}")

    def _shell_v1(self, sock: socket.socket, command: str) -> bool:
        srv = self.server
        sock.sendall(b"OKAY")
        if "app_process" in command and "uia2" in command:
            srv.run_uiautomator(sock)
        elif "app_process" in command and "com.genymobile.scrcpy.Server" in command:
            srv.run_scrcpy(sock, command)
        elif command.strip().startswith("getevent") and "-lp" not in command:
            srv.stream_getevent(sock)
        else:
            sock.sendall(srv.shell.run(command)[0])
        return False


class VirtualAdbServer(socketserver.ThreadingTCPServer):
    """The adb server with one virtual phone attached; `with` it, or call `close()`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, phone: VirtualPhone, port: int = 0, apk_version: tuple[str, int] = ("29.3.0", 290301)):
        super().__init__((LOOPBACK, port), AdbHandler)
        self.phone = phone
        self.stop_event = threading.Event()
        self.fs = FileSystem()
        self.shell = VirtualShell(phone, self.fs, dict(PROPS, **{"ro.serialno": phone.serial}), apk_version)
        self.forwards: dict[str, str] = {}
        self._sockets: set[socket.socket] = set()
        self._listeners: dict[str, socket.socket] = {}
        self._uia: set[socket.socket] = set()
        self.scrcpy_sessions: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._handler = type("BoundUiautomatorHandler", (UiautomatorHandler,), {"phone": phone, "stop_event": self.stop_event})
        phone.on_disconnect.append(self.drop_connections)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"virtual-adb-{self.port}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The loopback port adbutils should use (ANDROID_ADB_SERVER_PORT)."""
        return self.server_address[1]

    def available(self, serial: str) -> bool:
        """The phone is attached under `serial` and not mid-disconnect."""
        return serial == self.phone.serial and self.phone.online

    def device_lines(self, extended: bool) -> str:
        """`adb devices(-l)` body."""
        if not self.phone.online:
            return ""
        extra = " usb:1-1 product:virtual model:PersonaAct_Virtual device:virtual transport_id:1" if extended else ""
        return f"{self.phone.serial}\tdevice{extra}\n"

    def track(self, sock: socket.socket) -> None:
        """Remember an open connection (a disconnect closes them all)."""
        with self._lock:
            self._sockets.add(sock)

    def untrack(self, sock: socket.socket) -> None:
        """Forget a closed connection."""
        with self._lock:
            self._sockets.discard(sock)
            self._uia.discard(sock)

    def drop_connections(self) -> None:
        """What a pulled USB cable does: every open connection breaks and uiautomator dies."""
        with self._lock:
            sockets = list(self._sockets)
            self._uia.clear()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def uia_running(self) -> bool:
        """uiautomator2's server runs while its launching shell connection is open."""
        with self._lock:
            return bool(self._uia) and self.phone.online

    def run_uiautomator(self, sock: socket.socket) -> None:
        """The `app_process ... uia2.Main` shell: stays open (the server runs) until the client or a disconnect ends it."""
        if self.fs.read("/data/local/tmp/u2.jar") is None:
            sock.sendall(b"Error: Could not find or load main class com.wetest.uia2.Main\n")
            return
        with self._lock:
            self._uia.add(sock)
        sock.sendall(b"[server] INFO: [UiAutomator2Server] Starting Server\n")
        sock.settimeout(0.2)
        while not self.stop_event.is_set() and self.uia_running() and sock in self._uia:
            try:
                if not sock.recv(1024):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        with self._lock:
            self._uia.discard(sock)

    def run_scrcpy(self, sock: socket.socket, command: str) -> None:
        """The scrcpy server's shell: serves streams on localabstract:scrcpy_<scid> until the client closes it."""
        from device.virtual.scrcpy import run_server

        jar_path = next((w.split("=", 1)[1] for w in command.split() if w.startswith("CLASSPATH=")), "")
        run_server(sock, command, self.phone, self.fs.read(jar_path), self.scrcpy_sessions, self.stop_event)

    def stream_getevent(self, sock: socket.socket) -> None:
        """`getevent -lt`: stream touch lines until the client closes or the server stops."""
        q = self.phone.touch.listen()
        try:
            while not self.stop_event.is_set() and self.phone.online:
                try:
                    line = q.get(timeout=0.2)
                except queue.Empty:
                    continue
                sock.sendall((line + "\n").encode("utf-8"))
        except OSError:
            pass
        finally:
            self.phone.touch.forget(q)

    def serve_http(self, sock: socket.socket) -> None:
        """Hand the tunnelled connection to the uiautomator2 JSON-RPC handler."""
        self._handler(sock, (LOOPBACK, UIA_PORT), self)

    def sync(self, sock: socket.socket) -> None:
        """The sync: service (STAT, RECV, SEND, LIST, QUIT), one request after another."""
        from device.virtual.sync import serve_sync

        serve_sync(sock, self.fs, self.stop_event)

    def forward(self, serial: str, local: str, remote: str) -> None:
        """`adb forward tcp:L tcp:9008`: listen on loopback L and tunnel to the phone's uiautomator2 server."""
        if not local.startswith("tcp:") or remote != f"tcp:{UIA_PORT}":
            raise OSError(f"only tcp:N -> tcp:{UIA_PORT} forwards are supported, got {local} -> {remote}")
        listener = socket.create_server((LOOPBACK, int(local[4:])))
        listener.settimeout(0.2)
        with self._lock:
            self.forwards[local] = remote
            self._listeners[local] = listener
        threading.Thread(target=self._accept_forwarded, args=(local, listener), daemon=True).start()

    def _accept_forwarded(self, local: str, listener: socket.socket) -> None:
        while not self.stop_event.is_set() and local in self._listeners:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            threading.Thread(target=self._forwarded, args=(conn,), daemon=True).start()
        listener.close()

    def _forwarded(self, conn: socket.socket) -> None:
        with conn:
            if self.uia_running():
                self.serve_http(conn)

    def kill_forward(self, local: str) -> None:
        """Remove one forward (or all, with an empty name)."""
        with self._lock:
            names = [local] if local and local != "all" else list(self._listeners)
            for name in names:
                self.forwards.pop(name, None)
                self._listeners.pop(name, None)

    def close(self) -> None:
        """Stop serving, end every stream and free the port."""
        self.stop_event.set()
        self.phone.stop_event.set()
        self.kill_forward("")
        self.drop_connections()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> VirtualAdbServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    """Poll `predicate` until true or `timeout` seconds pass (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
