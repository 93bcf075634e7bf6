"""Where an audit's accounts live: sandbox worlds, virtual phones over the sandbox, or real phones by serial."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from recorder.errors import PersonaActError
from recorder.feed import Feed, VirtualClock

START = datetime(2026, 1, 1, tzinfo=UTC)  # virtual clocks start here, so sandbox traces are reproducible
KNOB_NAMES = ("personalisation", "exploration", "inertia")


class FeedSpecError(ValueError, PersonaActError):
    """--feed names nothing usable."""


class FeedSource(Protocol):
    """Opens the accounts of each repeat; `replayable` feeds resume by replay (see audit.runner)."""

    kind: str
    replayable: bool
    parallel: bool  # accounts must run in their own threads (phones), not interleaved in one

    def open(self, repeat: int, account: str) -> Feed:
        """A fresh account's feed for `repeat`."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the manifest records about the feed."""
        ...

    def close(self) -> None:
        """Release worlds, servers and phones."""
        ...


@dataclass(frozen=True)
class SandboxWorld:
    """The sandbox world an audit runs in (small by default: audits and validation must be quick)."""

    seed: int = 0
    users: int = 200
    creators: int = 20
    recommender: str = "mf"
    warmup_steps: int = 5
    advance_every: int = 0  # videos per world step for outside accounts (0: the world stands still)
    knobs: Mapping[str, float] = field(default_factory=dict)  # personalisation / exploration / inertia

    def __post_init__(self) -> None:
        unknown = set(self.knobs) - set(KNOB_NAMES)
        if unknown:
            raise FeedSpecError(f"sandbox knob {sorted(unknown)[0]!r}: unknown; known: {', '.join(KNOB_NAMES)}")
        if self.users < 1 or self.creators < 1 or self.warmup_steps < 0:
            raise FeedSpecError("sandbox world: users and creators must be >= 1, warmup_steps >= 0")

    def build(self, repeat: int) -> Any:
        """The platform of `repeat` (seed + repeat), warmed up; knobs apply to the audit's accounts only, so worlds
        compared across knob levels are the same world."""
        from sandbox.config import SandboxConfig
        from sandbox.platform import Platform

        platform = Platform(SandboxConfig(seed=self.seed + repeat, users=self.users, creators=self.creators,
                                          recommender=self.recommender, write_logs=False))
        platform.run(steps=self.warmup_steps)
        return platform


class SandboxSource:
    """Every repeat gets its own seeded world; its accounts (persona, control) share that world and its time."""

    kind = "sandbox"
    replayable = True
    parallel = False

    def __init__(self, world: SandboxWorld):
        self.world = world
        self._platforms: dict[int, Any] = {}

    def platform(self, repeat: int) -> Any:
        """The (cached) world of a repeat."""
        if repeat not in self._platforms:
            self._platforms[repeat] = self.world.build(repeat)
        return self._platforms[repeat]

    def open(self, repeat: int, account: str) -> Feed:
        """A fresh outside account on the repeat's world, on a virtual clock."""
        return self.platform(repeat).open_account(account, clock=VirtualClock(START),
                                                  advance_every=self.world.advance_every, **dict(self.world.knobs))

    def describe(self) -> dict[str, Any]:
        """The world's settings."""
        return {"kind": self.kind, **asdict(self.world), "knobs": dict(self.world.knobs)}

    def close(self) -> None:
        """Drop the worlds."""
        self._platforms.clear()


class VirtualPhoneSource:
    """Each account is a virtual phone (adb + uiautomator2 on loopback) showing a sandbox account: a dry run."""

    kind = "virtual"
    replayable = False
    parallel = True

    def __init__(self, world: SandboxWorld, app: str = "douyin", time_scale: float = 50.0, faults: Sequence[str] = (),
                 fault_rate: float = 0.0, swipe_s: float = 0.15):
        self.world, self.app, self.time_scale, self.swipe_s = world, app, time_scale, swipe_s
        self.faults, self.fault_rate = tuple(faults), fault_rate
        self.sandbox = SandboxSource(world)
        self.phones: dict[tuple[int, str], Any] = {}
        self._servers: list[Any] = []
        self._lock = threading.Lock()

    def open(self, repeat: int, account: str) -> Feed:
        """A PhoneFeed through a real AndroidDevice onto a virtual phone over a sandbox account."""
        from device.android import AndroidDevice
        from device.phone_feed import PhoneFeed
        from device.profiles import load_profile
        from device.virtual.phone import FaultSchedule, VirtualPhone
        from device.virtual.server import VirtualAdbServer
        from recorder.feed import ScaledClock

        with self._lock:
            # the phone already spent the dwell in real time; the account's own clock must not wait it out again
            inner = self.sandbox.platform(repeat).open_account(account, clock=VirtualClock(START))
            serial = f"virtual-r{repeat:03d}-{account}"
            schedule = FaultSchedule(self.faults, self.fault_rate, self.world.seed + repeat)
            phone = VirtualPhone(inner, load_profile(self.app), serial, time_scale=self.time_scale, schedule=schedule)
            server = VirtualAdbServer(phone)
            self._servers.append(server)
            self.phones[(repeat, account)] = phone
        device = AndroidDevice(serial, adb_port=server.port, dump_timeout_s=2.0, dump_retries=3, call_timeout_s=10.0)
        device.connect()
        return PhoneFeed(device, phone.profile, clock=ScaledClock(self.time_scale), swipe_s=self.swipe_s)

    def describe(self) -> dict[str, Any]:
        """World, app profile, time scale and faults."""
        return {**self.sandbox.describe(), "kind": self.kind, "app": self.app, "time_scale": self.time_scale,
                "faults": list(self.faults), "fault_rate": self.fault_rate}

    def close(self) -> None:
        """Stop every virtual phone's server."""
        for server in self._servers:
            server.close()
        self._servers.clear()


class PhoneSource:
    """Real phones by serial: account k of a repeat runs on phone k (breadth needs two: persona and control)."""

    kind = "phone"
    replayable = False
    parallel = True

    def __init__(self, serials: Sequence[str], app: str, adb_port: int | None = None, with_frames: bool = True):
        if not serials:
            raise FeedSpecError("--feed: name at least one phone serial (see `personaact device list`)")
        self.serials, self.app, self.adb_port, self.with_frames = tuple(serials), app, adb_port, with_frames
        self.accounts: dict[str, str] = {}
        self.preflights: dict[str, Any] = {}

    def serial_for(self, account: str) -> str:
        """The phone an account runs on (assigned in order of first use)."""
        if account not in self.accounts:
            if len(self.accounts) >= len(self.serials):
                raise FeedSpecError(f"--feed: account {account!r} needs another phone; give one serial per account "
                                    f"(breadth: persona and control), got {', '.join(self.serials)}")
            self.accounts[account] = self.serials[len(self.accounts)]
        return self.accounts[account]

    def open(self, repeat: int, account: str) -> Feed:
        """A PhoneFeed on the account's phone (preflight checked; each repeat needs fresh accounts logged in)."""
        from device.android import AndroidDevice
        from device.phone_feed import PhoneFeed
        from device.profiles import load_profile

        serial = self.serial_for(account)
        device = AndroidDevice(serial, adb_port=self.adb_port) if self.adb_port else AndroidDevice(serial)
        device.connect()
        feed = PhoneFeed(device, load_profile(self.app), with_frames=self.with_frames)
        self.preflights[serial] = feed.preflight
        return feed

    def describe(self) -> dict[str, Any]:
        """App, serials and what each phone reported (model, Android SDK, app version) once opened."""
        return {"kind": self.kind, "app": self.app, "serials": list(self.serials), "accounts": dict(self.accounts),
                "phones": {s: {"sdk": p.sdk, "app_version": p.app_version, "screen": [p.width, p.height]}
                           for s, p in self.preflights.items()}}

    def close(self) -> None:
        """Nothing held between runs."""


def feed_source(spec: str, world: SandboxWorld, app: str = "douyin", faults: Sequence[str] = (),
                fault_rate: float = 0.0, time_scale: float = 50.0) -> FeedSource:
    """`--feed sandbox | virtual | SERIAL[,SERIAL...]` as a FeedSource."""
    spec = (spec or "").strip()
    if spec == "sandbox":
        return SandboxSource(world)
    if spec == "virtual":
        return VirtualPhoneSource(world, app, time_scale, faults, fault_rate)
    serials = [s.strip() for s in spec.split(",") if s.strip()]
    if not serials:
        raise FeedSpecError("--feed: use sandbox, virtual, or phone serials separated by commas")
    return PhoneSource(serials, app)
