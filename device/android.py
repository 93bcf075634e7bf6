"""The real driver: AndroidDevice on adbutils + uiautomator2, and device listing (the phone pool lives in audit.pool)."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from device.base import DeviceDisconnected, DeviceError, HierarchyTimeout, Preflight, PreflightError
from recorder.capture.getevent import TouchEvent, parse_axes, parse_touches

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class AttachedDevice:
    """One line of `adb devices -l`."""

    serial: str
    state: str
    model: str = ""


ADB_PORT_ENV = "ANDROID_ADB_SERVER_PORT"
DEFAULT_ADB_PORT = 5037
ADB_SERVER_TIMEOUT_S = 10.0  # an adb server answers `devices` in milliseconds; a silent port must not hang us


def adb_port(port: int | None = None) -> int:
    """The adb server port: the given one, else $ANDROID_ADB_SERVER_PORT, else 5037 (checked to be a real port)."""
    source = "--adb-port"
    if port is None:
        raw = os.environ.get(ADB_PORT_ENV, "").strip()
        if not raw:
            return DEFAULT_ADB_PORT
        source = f"${ADB_PORT_ENV}"
        try:
            port = int(raw)
        except ValueError:
            raise DeviceError(f"{source}={raw!r} is not a port number; set it to 1..65535 or unset it") from None
    if isinstance(port, bool) or not 1 <= port <= 65535:
        raise DeviceError(f"{source} {port} is not a port; use 1..65535 (adb's default is {DEFAULT_ADB_PORT})")
    return port


def _client(host: str, port: int | None, socket_timeout: float | None = None) -> Any:
    import adbutils

    return adbutils.AdbClient(host=host, port=adb_port(port), socket_timeout=socket_timeout)


def list_devices(host: str = "127.0.0.1", port: int | None = None,
                 timeout_s: float = ADB_SERVER_TIMEOUT_S) -> list[AttachedDevice]:
    """Phones the adb server sees (any state: device, unauthorized, offline); a silent server fails after timeout_s."""
    import adbutils

    resolved = adb_port(port)
    try:
        infos = _run_with_timeout(lambda: _client(host, resolved, timeout_s).list(extended=True), timeout_s + 1.0)
    except (adbutils.AdbError, OSError) as err:  # TimeoutError and AdbTimeout included
        raise DeviceError(f"cannot reach the adb server on {host}:{resolved} ({err or type(err).__name__}); "
                          "install Android platform-tools and run `adb start-server`, "
                          f"or point --adb-port / ${ADB_PORT_ENV} at the right port") from err
    return [AttachedDevice(i.serial, i.state, i.tags.get("model", "")) for i in infos]


def _run_with_timeout(fn: Callable[[], T], timeout: float) -> T:
    # uiautomator2's own HTTP timeout does not reach the tunnelled socket, so bound the call from outside;
    # a hung call's thread is daemonic and ends when the phone finally answers.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # handed to the caller's thread
            box["error"] = err

    worker = threading.Thread(target=target, daemon=True, name="device-call")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout:.1f} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class AndroidDevice:
    """A phone over USB driven with uiautomator2 (UI) and adbutils (shell, files, input events)."""

    def __init__(self, serial: str, adb_host: str = "127.0.0.1", adb_port: int | None = None,
                 dump_timeout_s: float = 10.0, dump_retries: int = 3, call_timeout_s: float = 30.0):
        if dump_retries < 1:
            raise ValueError(f"dump_retries must be >= 1, got {dump_retries}")
        self.serial, self.adb_host, self.adb_port = serial, adb_host, adb_port
        self.dump_timeout_s, self.dump_retries, self.call_timeout_s = dump_timeout_s, dump_retries, call_timeout_s
        self._adb: Any = None
        self._u2: Any = None
        self.dump_timeouts = 0  # how many dump attempts timed out (reported by benchmarks and the CLI)

    # --- connection ---------------------------------------------------------------------------------
    def connect(self) -> None:
        """Find the phone on the adb server and start uiautomator2 on it (pushing its jar if needed)."""
        import uiautomator2

        attached = {d.serial: d for d in list_devices(self.adb_host, self.adb_port)}
        if self.serial not in attached:
            raise DeviceDisconnected(f"phone {self.serial} is not attached (seen: {', '.join(attached) or 'none'}); "
                                     "plug it in, enable USB debugging and check `personaact device list`")
        if attached[self.serial].state != "device":
            raise DeviceError(f"phone {self.serial} is {attached[self.serial].state}; "
                              "unlock it and accept the 'Allow USB debugging' prompt")
        self._adb = _client(self.adb_host, self.adb_port).device(self.serial)
        with self._guard("start uiautomator2"):
            self._u2 = _run_with_timeout(lambda: uiautomator2.connect(self._adb), self.call_timeout_s)

    def reconnect(self, attempts: int = 6, first_delay_s: float = 0.2, max_delay_s: float = 5.0) -> None:
        """Connect again with exponential backoff; raise DeviceDisconnected when every attempt fails."""
        delay, last = first_delay_s, None
        for attempt in range(1, attempts + 1):
            try:
                self.connect()
                log.info("reconnected to %s on attempt %d", self.serial, attempt)
                return
            except DeviceError as err:
                last = err
                time.sleep(delay)
                delay = min(max_delay_s, delay * 2)
        raise DeviceDisconnected(f"phone {self.serial} did not come back after {attempts} attempts: {last}")

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        import adbutils
        from uiautomator2 import exceptions as u2e

        try:
            yield
        except (adbutils.AdbError, adbutils.AdbTimeout, OSError, EOFError, u2e.BaseException) as err:
            if isinstance(err, TimeoutError) and self._attached():
                raise DeviceError(f"{what} on {self.serial} timed out ({err})") from err
            if not self._attached():
                raise DeviceDisconnected(f"phone {self.serial} disconnected during {what}: {err}") from err
            raise DeviceError(f"{what} failed on {self.serial}: {err}") from err

    def _attached(self) -> bool:
        try:
            return any(d.serial == self.serial and d.state == "device" for d in list_devices(self.adb_host, self.adb_port))
        except DeviceError:
            return False

    def _require(self) -> Any:
        if self._u2 is None:
            raise DeviceError(f"phone {self.serial} is not connected; call connect() first")
        return self._u2

    def _call(self, what: str, fn: Callable[[], T], timeout: float | None = None) -> T:
        self._require()
        with self._guard(what):
            return _run_with_timeout(fn, timeout or self.call_timeout_s)

    def shell(self, command: str) -> str:
        """Run a shell command and return its output."""
        return self._call(f"shell `{command}`", lambda: self._u2.shell(command, timeout=self.call_timeout_s).output)

    # --- preflight ----------------------------------------------------------------------------------
    def preflight(self, package: str) -> Preflight:
        """SDK level, screen size/density, screen on and unlocked, app installed and version, touch axes."""
        sdk_text = self.shell("getprop ro.build.version.sdk").strip()
        if not sdk_text.isdigit():
            raise PreflightError(f"phone {self.serial} reports no Android SDK level ({sdk_text!r}); is it a stock Android?")
        width, height = self._call("read the screen size", lambda: self._u2.window_size())
        density = re.search(r"(?:Override|Physical) density: (\d+)", self.shell("wm density"))
        power = self.shell("dumpsys power")
        screen_on = "mWakefulness=Awake" in power or "mHoldingDisplaySuspendBlocker=true" in power
        window = self.shell("dumpsys window")
        unlocked = not re.search(r"(mShowingLockscreen|isKeyguardShowing|mDreamingLockscreen)=true", window)
        if not screen_on:
            raise PreflightError(f"the screen of {self.serial} is off; wake it and set 'Stay awake' in developer options")
        if not unlocked:
            raise PreflightError(f"{self.serial} is locked; unlock it (and disable the lock screen for long runs)")
        info = self._call("read the app's version", lambda: self._adb.app_info(package))
        if info is None:
            raise PreflightError(f"{package} is not installed on {self.serial}; install it from the app store and log in")
        try:
            axes = parse_axes(self.shell("getevent -lp"), (int(width), int(height)))
        except ValueError as err:
            raise PreflightError(str(err)) from err
        return Preflight(self.serial, int(sdk_text), int(width), int(height), int(density.group(1)) if density else 0,
                         screen_on, unlocked, package, info.version_name, axes)

    # --- apps ---------------------------------------------------------------------------------------
    def app_start(self, package: str, activity: str | None = None) -> None:
        """Launch `package` (at `activity` when given)."""
        self._call(f"start {package}", lambda: self._u2.app_start(package, activity))

    def app_stop(self, package: str) -> None:
        """Force-stop `package`."""
        self._call(f"stop {package}", lambda: self._u2.app_stop(package))

    def app_current(self) -> tuple[str, str]:
        """(package, activity) in front."""
        info = self._call("read the current app", lambda: self._u2.app_current())
        return info["package"], info["activity"]

    # --- screen -------------------------------------------------------------------------------------
    def screenshot(self) -> Any:
        """The screen as an OpenCV BGR image."""
        return self._call("take a screenshot", lambda: self._u2.screenshot(format="opencv"))

    def hierarchy(self) -> str:
        """Compressed hierarchy dump, each attempt bounded by `dump_timeout_s`, retried `dump_retries` times."""
        u2 = self._require()
        for attempt in range(1, self.dump_retries + 1):
            try:
                with self._guard("dump the UI hierarchy"):
                    return _run_with_timeout(lambda: u2.jsonrpc.dumpWindowHierarchy(True, 50), self.dump_timeout_s)
            except DeviceDisconnected:
                raise
            except DeviceError as err:
                self.dump_timeouts += isinstance(err.__cause__, TimeoutError)
                log.warning("hierarchy dump attempt %d/%d on %s failed: %s", attempt, self.dump_retries, self.serial, err)
        raise HierarchyTimeout(f"no hierarchy from {self.serial} after {self.dump_retries} attempts of "
                               f"{self.dump_timeout_s:.1f} s; pause the video or restart the app, then retry")

    # --- input --------------------------------------------------------------------------------------
    def tap(self, x: int, y: int) -> None:
        """Tap a point."""
        self._call("tap", lambda: self._u2.click(int(x), int(y)))

    def double_tap(self, x: int, y: int) -> None:
        """Two taps 50 ms apart."""
        self._call("double-tap", lambda: self._u2.double_click(int(x), int(y), duration=0.05))

    def long_press(self, x: int, y: int, seconds: float = 0.8) -> None:
        """Press and hold."""
        self._call("long press", lambda: self._u2.long_click(int(x), int(y), duration=seconds))

    def swipe(self, fx: int, fy: int, tx: int, ty: int, seconds: float = 0.2) -> None:
        """Drag a finger."""
        self._call("swipe", lambda: self._u2.swipe(int(fx), int(fy), int(tx), int(ty), duration=seconds))

    def back(self) -> None:
        """The back key."""
        self._call("press back", lambda: self._u2.press("back"))

    def type_text(self, text: str) -> None:
        """Paste `text` into the focused field through the clipboard (works for Chinese, unlike `input text`)."""
        def paste() -> None:
            self._u2.set_clipboard(text)
            self._u2.jsonrpc.pasteClipboard()

        self._call("type text", paste)

    def touch_events(self, max_events: int | None = None, idle_timeout_s: float = 30.0) -> Iterator[TouchEvent]:
        """Stream `getevent -lt` as per-finger touches (protocol B slots) in screen pixels; ends after `max_events` or
        `idle_timeout_s` of silence."""
        width, height = self._call("read the screen size", lambda: self._u2.window_size())
        axes = parse_axes(self.shell("getevent -lp"), (int(width), int(height)))
        with self._guard("stream touch events"):
            stream = self._adb.shell("getevent -lt", stream=True)
        stream.conn.settimeout(idle_timeout_s)
        lines = stream.conn.makefile("r", encoding="utf-8", errors="replace")
        try:
            for count, event in enumerate(parse_touches(_lines(lines), axes), start=1):
                yield event
                if max_events is not None and count >= max_events:
                    return
        finally:
            lines.close()
            stream.close()

    # --- files --------------------------------------------------------------------------------------
    def push(self, local: Path, remote: str) -> int:
        """Copy a file onto the phone."""
        return self._call(f"push {local}", lambda: self._adb.sync.push(str(local), remote, check=True))

    def pull(self, remote: str, local: Path) -> int:
        """Copy a file off the phone."""
        return self._call(f"pull {remote}", lambda: self._adb.sync.pull(remote, str(local)))

    def close(self) -> None:
        """Forget the connection (uiautomator2 keeps running on the phone for the next run)."""
        self._u2 = None
        self._adb = None


def _lines(stream: Any) -> Iterator[str]:
    try:
        yield from stream
    except (TimeoutError, OSError):
        return
