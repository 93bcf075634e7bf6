"""The virtual phone's shell: the commands adbutils, uiautomator2 and the preflight run, answered as Android does."""

from __future__ import annotations

import hashlib
import re
import shlex
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from device.virtual.phone import VirtualPhone
from device.virtual.touch import describe_axes

KEYCODES = {"4": "BACK", "KEYCODE_BACK": "BACK", "BACK": "BACK", "3": "HOME", "KEYCODE_HOME": "HOME", "HOME": "HOME"}


@dataclass
class RemoteFile:
    """A file in the phone's storage."""

    data: bytes
    mode: int
    mtime: int


class FileSystem:
    """The few folders the toolkit touches (/data/local/tmp, /sdcard), as a dict of files."""

    DIRS = ("/", "/data", "/data/local", "/data/local/tmp", "/sdcard", "/sdcard/Download")

    def __init__(self) -> None:
        self.files: dict[str, RemoteFile] = {}
        self.lock = threading.Lock()

    def stat(self, path: str) -> tuple[int, int, int]:
        """(mode, size, mtime); all zero when nothing is there, as adbd answers."""
        path = path.rstrip("/") or "/"
        if path in self.DIRS:
            return stat.S_IFDIR | 0o771, 4096, int(time.time())
        with self.lock:
            f = self.files.get(path)
        return (f.mode, len(f.data), f.mtime) if f else (0, 0, 0)

    def write(self, path: str, data: bytes, mode: int, mtime: int) -> None:
        """Store a pushed file (mode carries S_IFREG from the sender)."""
        with self.lock:
            self.files[path] = RemoteFile(data, mode or (stat.S_IFREG | 0o644), mtime)

    def read(self, path: str) -> bytes | None:
        """A file's bytes, or None."""
        with self.lock:
            f = self.files.get(path)
        return f.data if f else None

    def remove(self, path: str) -> bool:
        """Delete a file; False when it was not there."""
        with self.lock:
            return self.files.pop(path, None) is not None


def split_commands(cmdline: str) -> list[list[str]]:
    """Split `a x; b 'y;z'` into argument lists at unquoted semicolons."""
    lexer = shlex.shlex(cmdline, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in (";", "&&"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


class VirtualShell:
    """Runs one shell command line against the phone; returns (output, exit code)."""

    def __init__(self, phone: VirtualPhone, fs: FileSystem, props: dict[str, str], version: tuple[str, int]):
        self.phone, self.fs, self.props, self.version = phone, fs, props, version
        self.commands: dict[str, Callable[[list[str]], tuple[str, int]]] = {
            "getprop": self._getprop, "echo": lambda a: (" ".join(a[1:]) + "\n", 0), "wm": self._wm,
            "dumpsys": self._dumpsys, "pm": self._pm, "am": self._am, "monkey": self._monkey, "input": self._input,
            "md5sum": self._md5sum, "toybox": lambda a: self._run(a[1:]), "rm": self._rm, "ps": self._ps,
            "getevent": lambda a: (describe_axes(), 0), "settings": lambda a: ("", 0), "true": lambda a: ("", 0),
        }

    def run(self, cmdline: str) -> tuple[bytes, int]:
        """Run `cmdline` (commands separated by ';'), expanding `$?` to the last exit code."""
        out, code = [], 0
        for args in split_commands(cmdline):
            args = [a.replace("$?", str(code)) for a in args]
            text, code = self._run(args)
            out.append(text)
        return "".join(out).encode("utf-8"), code

    def _run(self, args: list[str]) -> tuple[str, int]:
        while args and re.match(r"^[A-Z_]+=", args[0]):
            args = args[1:]  # environment assignments such as CLASSPATH=...
        if not args:
            return "", 0
        handler = self.commands.get(args[0])
        if handler is None:
            return f"/system/bin/sh: {args[0]}: inaccessible or not found\n", 127
        return handler(args)

    def _getprop(self, args: list[str]) -> tuple[str, int]:
        if len(args) == 1:
            return "".join(f"[{k}]: [{v}]\n" for k, v in sorted(self.props.items())), 0
        return self.props.get(args[1], "") + "\n", 0

    def _wm(self, args: list[str]) -> tuple[str, int]:
        w, h = self.phone.size
        if args[1:2] == ["size"]:
            return f"Physical size: {w}x{h}\n", 0
        if args[1:2] == ["density"]:
            return f"Physical density: {self.props['ro.sf.lcd_density']}\n", 0
        return f"Unknown command: {' '.join(args[1:])}\n", 1

    def _dumpsys(self, args: list[str]) -> tuple[str, int]:
        service = args[1] if len(args) > 1 else ""
        package, activity = self.phone.current_app()
        w, h = self.phone.size
        if service == "display":
            return (f"  mViewports=[DisplayViewport{{type=INTERNAL, valid=true, isActive=true, displayId=0, "
                    f"uniqueId='local:0', physicalPort=0, orientation=0, logicalFrame=Rect(0, 0 - {w}, {h}), "
                    f"physicalFrame=Rect(0, 0 - {w}, {h}), deviceWidth={w}, deviceHeight={h}}}]\n"), 0
        if service == "window":
            return (f"  mCurrentFocus=Window{{a1b2c3d u0 {package}/{activity}}}\n"
                    f"  mFocusedApp=ActivityRecord{{4e5f6a7 u0 {package}/{activity} t42}}\n"
                    "  mDreamingLockscreen=false mShowingLockscreen=false\n    isKeyguardShowing=false\n"), 0
        if service == "power":
            return "  mWakefulness=Awake\n  mHoldingDisplaySuspendBlocker=true\n", 0
        if service == "activity":
            return f"  mResumedActivity: ActivityRecord{{4e5f6a7 u0 {package}/{activity} t42}}\n", 0
        if service == "package":
            return self._package_dump(args[2] if len(args) > 2 else ""), 0
        return "", 0

    def _package_dump(self, package: str) -> str:
        if package not in self.phone.profile.packages:
            return f"Unable to find package: {package}\n"
        name, code = self.version
        return (f"Packages:\n  Package [{package}] (5d1e2f3):\n    versionCode={code} minSdk=21 targetSdk=33\n"
                f"    versionName={name}\n    pkgFlags=[ HAS_CODE ALLOW_CLEAR_USER_DATA ]\n"
                "    firstInstallTime=2026-01-05 10:11:12\n    lastUpdateTime=2026-02-20 09:08:07\n"
                "    PackageSignatures{7a8b9c0 [1f2e3d4c]}\n")

    def _pm(self, args: list[str]) -> tuple[str, int]:
        packages = self.phone.profile.packages[:1] + ("com.android.settings", "com.android.launcher3")
        if args[1:2] == ["path"] and len(args) > 2:
            if args[2] in self.phone.profile.packages[:1]:
                return f"package:/data/app/~~x9Y/{args[2]}-1/base.apk\n", 0
            return "", 1
        if args[1:3] == ["list", "packages"]:
            return "".join(f"package:{p}\n" for p in packages), 0
        return "", 0

    def _am(self, args: list[str]) -> tuple[str, int]:
        if args[1:2] == ["force-stop"] and len(args) > 2:
            self.phone.stop_app(args[2])
            return "", 0
        if args[1:2] == ["start"] and "-n" in args:
            component = args[args.index("-n") + 1]
            if self.phone.start_app(component.split("/")[0]):
                return f"Starting: Intent {{ cmp={component} }}\n", 0
            return f"Error: Activity class {{{component}}} does not exist.\n", 1
        return "", 0

    def _monkey(self, args: list[str]) -> tuple[str, int]:
        package = args[args.index("-p") + 1] if "-p" in args else ""
        if self.phone.start_app(package):
            return "Events injected: 1\n", 0
        return "** No activities found to run, monkey aborted.\n", 252

    def _input(self, args: list[str]) -> tuple[str, int]:
        nums = [int(float(a)) for a in args[2:] if re.fullmatch(r"-?\d+(\.\d+)?", a)]
        if args[1:2] == ["tap"] and len(nums) >= 2:
            self.phone.tap(nums[0], nums[1])
        elif args[1:2] == ["swipe"] and len(nums) >= 4:
            fx, fy, tx, ty = nums[:4]
            self.phone.swipe(fx, fy, tx, ty, duration_s=(nums[4] if len(nums) > 4 else 300) / 1000)
        elif args[1:2] == ["keyevent"] and KEYCODES.get(args[-1]) == "BACK":
            self.phone.back()
        elif args[1:2] == ["text"] and len(args) > 2:
            self.phone.type_text(args[2].replace("%s", " "))
        else:
            return f"Error: unknown input command {' '.join(args[1:])}\n", 1
        return "", 0

    def _md5sum(self, args: list[str]) -> tuple[str, int]:
        data = self.fs.read(args[1]) if len(args) > 1 else None
        if data is None:
            return f"md5sum: {args[1] if len(args) > 1 else ''}: No such file or directory\n", 1
        return f"{hashlib.md5(data).hexdigest()}  {args[1]}\n", 0

    def _rm(self, args: list[str]) -> tuple[str, int]:
        paths = [a for a in args[1:] if not a.startswith("-")]
        missing = [p for p in paths if not self.fs.remove(p)]
        return "".join(f"rm: {p}: No such file or directory\n" for p in missing), 1 if missing else 0

    def _ps(self, args: list[str]) -> tuple[str, int]:
        rows = ["USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME",
                "root             1     0 2200000   9000 do_epoll_wait       0 S init"]
        package, _ = self.phone.current_app()
        if package in self.phone.profile.packages:
            rows.append(f"u0_a245       4242   812 6500000 380000 do_epoll_wait       0 S {package}")
        return "\n".join(rows) + "\n", 0
