"""No hangs and honest errors talking to adb: a silent server, the port from the environment, bad ports."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from device.android import adb_port, list_devices
from device.base import DeviceError
from personaact.cli import app


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.timeout(30)
def test_a_silent_adb_server_fails_in_bounded_time_naming_its_port(silent_port, monkeypatch):
    monkeypatch.delenv("ANDROID_ADB_SERVER_PORT", raising=False)
    started = time.monotonic()
    with pytest.raises(DeviceError, match=f"127.0.0.1:{silent_port}"):
        list_devices(port=silent_port, timeout_s=0.5)
    assert time.monotonic() - started < 5.0  # unbounded before: it waited forever


@pytest.mark.timeout(30)
def test_the_error_names_the_port_from_the_environment(silent_port, monkeypatch):
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(silent_port))
    with pytest.raises(DeviceError) as err:
        list_devices(timeout_s=0.5)
    assert f":{silent_port}" in str(err.value) and "5037" not in str(err.value)


@pytest.mark.parametrize("value, message", [("abc", "not a port number"), ("70000", "not a port"), ("0", "not a port")])
def test_a_bad_port_in_the_environment_is_named(monkeypatch, value, message):
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", value)
    with pytest.raises(DeviceError, match=rf"\$ANDROID_ADB_SERVER_PORT.*{message}"):
        adb_port()


def test_adb_port_out_of_range_on_the_command_line_is_a_usage_error():
    result = CliRunner().invoke(app, ["device", "list", "--adb-port", "70000"])
    assert result.exit_code == 2 and "65535" in result.output
    assert not isinstance(result.exception, (OverflowError, ValueError))


@pytest.mark.timeout(120)
def test_device_virtual_on_a_busy_port_is_one_error_line(tmp_path):
    busy = socket.create_server(("127.0.0.1", 0))
    try:
        result = CliRunner().invoke(app, ["device", "virtual", "--port", str(busy.getsockname()[1]), "--duration-s", "1",
                                          "-s", "users=20", "-s", "creators=4", "-s", "warmup_steps=1"])
    finally:
        busy.close()
    assert result.exit_code == 2, result.output
    assert "cannot serve" in result.output and "--port" in result.output
    assert "Traceback" not in result.output


def test_non_finite_virtual_phone_options_are_named_errors():
    for option in ("--time-scale", "--duration-s"):
        for value in ("nan", "inf"):
            result = CliRunner().invoke(app, ["device", "virtual", option, value])
            assert result.exit_code == 2, (option, value, result.output)
            assert option.strip("-").replace("-", "_") in result.output, (option, value, result.output)
