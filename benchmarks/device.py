"""Per-step overhead of the real driver against the virtual phone: hierarchy dump + screenshot + swipe (median, p95)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

# Run as `python benchmarks/device.py`, this file's folder comes first on sys.path and its name would hide the
# `device` package; the repository root must win.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from device.android import AndroidDevice  # noqa: E402  (after the sys.path fix above)
from device.profiles import load_profile  # noqa: E402
from device.virtual.phone import VirtualPhone  # noqa: E402
from device.virtual.server import VirtualAdbServer  # noqa: E402
from recorder.feed import ReplayFeed  # noqa: E402
from tests.builders import make_trace  # noqa: E402

STEPS = int(os.environ.get("DEVICE_BENCH_STEPS", "60"))
OUT = Path(__file__).with_name("results") / "device.json"


def _pcts(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2)}


def main() -> None:
    """Time STEPS steps and write benchmarks/results/device.json."""
    phone = VirtualPhone(ReplayFeed(make_trace(10)), load_profile("douyin"), time_scale=1000.0)
    with VirtualAdbServer(phone) as server:
        os.environ["ANDROID_ADB_SERVER_PORT"] = str(server.port)
        device = AndroidDevice(phone.serial, adb_port=server.port)
        started = time.perf_counter()
        device.connect()
        connect_s = time.perf_counter() - started
        parts: dict[str, list[float]] = {"hierarchy": [], "screenshot": [], "swipe": [], "step": []}
        for _ in range(STEPS):
            t0 = time.perf_counter()
            device.hierarchy()
            t1 = time.perf_counter()
            device.screenshot()
            t2 = time.perf_counter()
            device.swipe(540, 1800, 540, 600, 0.05)
            t3 = time.perf_counter()
            for name, value in (("hierarchy", t1 - t0), ("screenshot", t2 - t1), ("swipe", t3 - t2), ("step", t3 - t0)):
                parts[name].append(value)
    result = {"steps": STEPS, "connect_s": round(connect_s, 3), **{k: _pcts(v) for k, v in parts.items()},
              "note": "real adbutils + uiautomator2 over loopback to the virtual phone; swipe includes its 50 ms gesture"}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
