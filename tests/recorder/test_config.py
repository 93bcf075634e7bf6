"""YAML + CLI-override configuration with clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from recorder.config import ConfigError, load_config


@dataclass(frozen=True)
class Inner:
    rate: float = 0.5
    names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outer:
    seed: int = 0
    mode: Literal["fast", "slow"] = "fast"
    out: Path = Path("runs")
    limit: int | None = None
    inner: Inner = field(default_factory=Inner)

    def __post_init__(self):
        if self.seed < 0:
            raise ValueError("seed must be >= 0")


def test_defaults_yaml_then_overrides_then_flags(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("seed: 3\ninner:\n  rate: 2\n  names: [a, b]\n")
    cfg = load_config(Outer, file, ["inner.rate=0.25", "mode=slow"], seed=9, limit=None)
    assert cfg == Outer(seed=9, mode="slow", inner=Inner(0.25, ["a", "b"]))
    assert isinstance(cfg.inner.rate, float)
    assert load_config(Outer).out == Path("runs")


@pytest.mark.parametrize("overrides, message", [
    (["sed=1"], "unknown option 'sed'"),
    (["inner.rat=1"], "unknown option 'inner.rat'"),
    (["mode=medium"], "mode: 'medium' is not one of"),
    (["seed=abc"], "seed: expected int"),
    (["inner.names=3"], "inner.names: expected a list"),
    (["seed=-1"], "seed must be >= 0"),
    (["novalue"], "expected KEY=VALUE"),
])
def test_bad_values_name_the_option(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(Outer, None, overrides)


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(Outer, tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="bad.yaml: the top level must be a mapping"):
        load_config(Outer, bad)
    bad.write_text("seed: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(Outer, bad)


def test_a_wrong_value_for_an_optional_option_is_a_config_error_not_a_type_error():
    from dataclasses import dataclass

    from recorder.config import ConfigError, from_mapping

    @dataclass(frozen=True)
    class Options:
        port: int | None = None

    with pytest.raises(ConfigError, match="port"):
        from_mapping(Options, {"port": "many"})


def test_nan_is_refused_for_a_number_option():
    from dataclasses import dataclass

    from recorder.config import ConfigError, from_mapping

    @dataclass(frozen=True)
    class Options:
        rate: float = 0.5

    with pytest.raises(ConfigError, match="rate: expected a number, got NaN"):
        from_mapping(Options, {"rate": float("nan")})
