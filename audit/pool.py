"""Many phones at once: one worker thread per phone, one combined progress display, a failing phone stops only itself."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from recorder.console import progress_bar

log = logging.getLogger(__name__)
T = TypeVar("T")
Job = Callable[[Any, Callable[[int], None]], T]


class DevicePool:
    """`run(job)` calls `job(device, advance)` for every device at once; each device's result or error is kept."""

    def __init__(self, devices: Sequence[Any], names: Sequence[str] | None = None):
        if not devices:
            raise ValueError("a device pool needs at least one device; see `personaact device list`")
        self.devices = list(devices)
        self.names = list(names) if names is not None else [str(getattr(d, "serial", i)) for i, d in enumerate(devices)]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"device names must be unique, got {', '.join(self.names)}")

    def run(self, job: Job[T], total: int | None = None, description: str = "phones") -> dict[str, T | BaseException]:
        """Each device's result (or the error it raised), by name; `total` sizes the combined progress bar."""
        lock = threading.Lock()
        with progress_bar(total, description) as advance:
            def tick(n: int = 1) -> None:
                with lock:
                    advance(n)

            def guarded(device: Any, name: str) -> T:
                try:
                    return job(device, tick)
                except BaseException as err:  # kept for the caller; the other phones go on
                    log.warning("%s failed: %s (its trace is resumable)", name, err)
                    raise

            with ThreadPoolExecutor(max_workers=len(self.devices), thread_name_prefix="device") as pool:
                futures = {n: pool.submit(guarded, d, n) for d, n in zip(self.devices, self.names, strict=True)}
        return {name: (f.exception() or f.result()) for name, f in futures.items()}
