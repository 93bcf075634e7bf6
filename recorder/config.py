"""One way to configure every command: a dataclass, filled from YAML, then from CLI overrides."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from recorder.errors import PersonaActError

T = TypeVar("T")


class ConfigError(ValueError, PersonaActError):
    """A configuration value is missing, unknown or of the wrong type; the message names it."""


def load_config(cls: type[T], path: str | Path | None = None, overrides: Sequence[str] = (),
                **flags: Any) -> T:
    """Build `cls` from an optional YAML file, then `key.sub=value` overrides, then explicit CLI flags.

    Flags whose value is None were not given on the command line and leave the config alone.
    """
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        data = read_yaml_mapping(path)
        source = str(path)
    for item in overrides:
        key, value = parse_override(item)
        set_dotted(data, key, value)
    for key, value in flags.items():
        if value is not None:
            set_dotted(data, key, str(value) if isinstance(value, Path) else value)
    if overrides or any(v is not None for v in flags.values()):
        source = f"{source} + command line"
    return from_mapping(cls, data, source=source)


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping at its top level."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{file}: config file not found")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{file}: not valid YAML: {err}") from err
    except (UnicodeDecodeError, RecursionError) as err:
        raise ConfigError(f"{file}: not readable as UTF-8 YAML ({err}); save it as UTF-8") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of option: value")
    return data


def parse_override(item: str) -> tuple[str, Any]:
    """Split `a.b=value`; the value is parsed as YAML so `3`, `true`, `[a, b]` get their types."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. seed=3 or chat.temperature=0.2")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set `data[a][b] = value` for key `a.b`, creating intermediate mappings."""
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {key!r}: {part!r} is not a section")
    node[leaf] = value


def from_mapping(cls: type[T], data: dict[str, Any], source: str = "config", prefix: str = "") -> T:
    """Instantiate dataclass `cls` from `data`, rejecting unknown keys and ill-typed values."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {prefix or 'config'} must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown option '{prefix}{unknown[0]}'; known: {', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _coerce(hints[name], value, source, f"{prefix}{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"{source}: {err}") from err


def to_mapping(config: Any) -> dict[str, Any]:
    """Turn a config dataclass back into plain YAML-ready data (for saving a run's config copy)."""
    return dataclasses.asdict(config)


def _coerce(hint: Any, value: Any, source: str, name: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, source, prefix=f"{name}.")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors: list[ConfigError] = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, source, name)
            except ConfigError as err:
                errors.append(err)
        raise errors[0] if len(errors) == 1 else ConfigError(f"{source}: {name}: {value!r} fits none of {hint}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{source}: {name}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin in (list, tuple) or hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: {name}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_coerce(inner, v, source, f"{name}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if (origin or hint) is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {name}: expected a mapping, got {value!r}")
        return dict(value)
    return _coerce_scalar(hint, value, source, name)


def _coerce_scalar(hint: Any, value: Any, source: str, name: str) -> Any:
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: {name}: expected true or false, got {value!r}")
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isnan(value):  # NaN passes every `x < low` check and breaks later arithmetic far from here
            raise ConfigError(f"{source}: {name}: expected a number, got NaN")
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if hint is Path and isinstance(value, (str, Path)):
        return Path(value)
    raise ConfigError(f"{source}: {name}: expected {getattr(hint, '__name__', hint)}, got {value!r}")
