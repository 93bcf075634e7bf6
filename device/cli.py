"""`personaact device ...`: list phones, check one, dump a screen for fixtures, run the virtual phone."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from recorder.cli import ConfigOpt, SetOpt, fail
from recorder.config import ConfigError, load_config
from recorder.console import console

device_app = typer.Typer(help="Phones over USB: list, check, dump screens, and the virtual phone.", no_args_is_help=True)
PortOpt = Annotated[int | None, typer.Option("--adb-port", min=1, max=65535,
                                             help="adb server port. [default: $ANDROID_ADB_SERVER_PORT or 5037]")]


@device_app.command("list")
def list_command(adb_port: PortOpt = None) -> None:
    """List the phones the adb server sees."""
    from device.android import list_devices
    from device.base import DeviceError

    try:
        devices = list_devices(port=adb_port)
    except DeviceError as err:
        raise fail(str(err))
    table = Table("serial", "state", "model")
    for d in devices:
        table.add_row(d.serial, d.state, d.model)
    console.print(table if devices else "no phones attached; plug one in and enable USB debugging")


SerialArg = Annotated[str, typer.Argument(help="The phone's serial, as `personaact device list` shows it.")]


@device_app.command("check")
def check_command(serial: SerialArg, app: Annotated[str, typer.Option(help="App profile name or .yaml path.")] = "douyin",
                  adb_port: PortOpt = None) -> None:
    """Run the preflight and read one feed screen, printing the parsed metadata."""
    from device.android import AndroidDevice
    from device.base import DeviceError
    from device.phone_feed import PhoneFeed
    from device.profiles import ProfileError, load_profile
    from recorder.feed import FeedError

    try:
        profile = load_profile(app)
        device = AndroidDevice(serial, adb_port=adb_port)
        device.connect()
        feed = PhoneFeed(device, profile)
        obs = feed.current()
    except (ProfileError, DeviceError, FeedError) as err:
        raise fail(str(err))
    table = Table("field", "value", title=f"{serial} · {profile.display_name}")
    for key, value in vars(feed.preflight).items():
        table.add_row(key, str(value))
    table.add_row("screen", obs.screen)
    table.add_row("liked", str(obs.liked))
    for key, value in obs.meta.to_dict().items():
        table.add_row(f"meta.{key}", str(value))
    for position, kind, detail in feed.incidents:
        table.add_row(f"incident {position}", f"{kind}: {detail}")
    console.print(table)


@device_app.command("dump")
def dump_command(serial: SerialArg, out: Annotated[Path, typer.Option(help="Folder for screenshot + hierarchy.")] = Path("dumps"),
                 adb_port: PortOpt = None) -> None:
    """Save the current screenshot and UI hierarchy (the raw material of new fixtures)."""
    import cv2

    from device.android import AndroidDevice
    from device.base import DeviceError

    try:
        device = AndroidDevice(serial, adb_port=adb_port)
        device.connect()
        xml, image = device.hierarchy(), device.screenshot()
    except DeviceError as err:
        raise fail(str(err))
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{serial.replace(':', '_')}-{time.strftime('%Y%m%d-%H%M%S')}"
    stem.with_suffix(".xml").write_text(xml, encoding="utf-8")
    cv2.imwrite(str(stem.with_suffix(".png")), image)
    console.print(f"saved {stem}.xml and {stem}.png")


@dataclass(frozen=True)
class VirtualConfig:
    """Options of `device virtual`."""

    app: str = "douyin"
    port: int = 0  # 0 picks a free loopback port
    serial: str = "virtual-0001"
    faults: str = ""  # comma-separated: popup,ad,live,login_wall,crash,hang,disconnect
    fault_rate: float = 0.0
    seed: int = 0
    time_scale: float = 1.0
    duration_s: float = 0.0  # 0 serves until Ctrl-C
    users: int = 200
    creators: int = 20
    warmup_steps: int = 10  # platform steps simulated first, so videos carry real counts and hashtags

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must lie in 0..65535, got {self.port}")
        if not (math.isfinite(self.time_scale) and self.time_scale > 0):
            raise ValueError(f"time_scale must be a finite number > 0, got {self.time_scale}")
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0) or self.warmup_steps < 0:
            raise ValueError(f"duration_s must be finite and >= 0 (got {self.duration_s}), warmup_steps >= 0 "
                             f"(got {self.warmup_steps})")


def build_virtual(config: VirtualConfig):
    """A virtual phone on a SandboxFeed (the composition this CLI exists for), served on loopback."""
    from device.profiles import load_profile
    from device.virtual.phone import FaultSchedule, VirtualPhone
    from device.virtual.server import VirtualAdbServer
    from recorder.feed import ScaledClock
    from sandbox.config import SandboxConfig
    from sandbox.feed import SandboxFeed
    from sandbox.platform import Platform

    kinds = tuple(k.strip() for k in config.faults.split(",") if k.strip())
    platform = Platform(SandboxConfig(seed=config.seed, users=config.users, creators=config.creators, write_logs=False))
    platform.run(steps=config.warmup_steps)
    feed = SandboxFeed(platform, clock=ScaledClock(config.time_scale))
    phone = VirtualPhone(feed, load_profile(config.app), config.serial, time_scale=config.time_scale,
                         schedule=FaultSchedule(kinds, config.fault_rate, config.seed))
    return VirtualAdbServer(phone, config.port), phone


@device_app.command("virtual")
def virtual_command(app: Annotated[str | None, typer.Option(help="App profile to imitate.")] = None,
                    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Loopback port (0 = any free one).")] = None,
                    faults: Annotated[str | None, typer.Option(help="Faults to schedule, e.g. popup,ad,crash.")] = None,
                    fault_rate: Annotated[float | None, typer.Option(help="Chance of a fault per swipe.")] = None,
                    time_scale: Annotated[float | None, typer.Option(help="Feed seconds per wall second.")] = None,
                    duration_s: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
                    config: ConfigOpt = None, overrides: SetOpt = None) -> None:
    """Serve a virtual phone backed by the sandbox, for dry runs of audits without a phone."""
    try:
        options = load_config(VirtualConfig, config, overrides or (), app=app, port=port, faults=faults,
                              fault_rate=fault_rate, time_scale=time_scale, duration_s=duration_s)
        server, phone = build_virtual(options)
    except (ConfigError, ValueError, KeyError) as err:
        raise fail(str(err))
    except OSError as err:  # e.g. the port is taken
        raise fail(f"cannot serve on 127.0.0.1:{options.port} ({err.strerror or err}); "
                   "pick another --port or 0 for any free one")
    with server:
        console.print(f"virtual {options.app} phone {phone.serial} on 127.0.0.1:{server.port}\n"
                      f"  export ANDROID_ADB_SERVER_PORT={server.port}; "
                      f"personaact device check {phone.serial} --app {options.app}")
        deadline = time.monotonic() + options.duration_s if options.duration_s else None
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            console.print("stopping")


def register(app: typer.Typer) -> None:
    """Add `device` to the root command."""
    app.add_typer(device_app, name="device")
