"""Versioned checkpoints without pickle: the world's arrays in `arrays.npz`, everything else in `state.json`.

The encoder walks plain data (numbers, strings, lists, tuples, sets, deques, dicts), numpy arrays and scalars,
torch tensors and modules, numpy Generators, and objects of the sandbox's own classes (their `__dict__`). Loading
only ever rebuilds classes from the `sandbox.` package, and `np.load(allow_pickle=False)` reads the arrays, so a
checkpoint cannot run code. A missing, truncated or foreign checkpoint is a `CheckpointError` naming the file.
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from collections import deque
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recorder.errors import PersonaActError
from recorder.files import atomic_write_bytes, write_json_atomic

FORMAT = "personaact-sandbox-checkpoint"
VERSION = 1
CHECKPOINT = "checkpoint"  # folder inside the run folder
STATE, ARRAYS = "state.json", "arrays.npz"
ALLOWED = ("sandbox.",)  # classes a checkpoint may rebuild


class CheckpointError(ValueError, PersonaActError):
    """The checkpoint is missing, corrupt or of another version; the message names the file."""


def encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-ready form of `obj`; arrays go into `arrays` and are referenced by key."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__nd__": key}
    if isinstance(obj, np.generic):
        return {"__np__": obj.dtype.str, "v": obj.item()}
    if isinstance(obj, np.random.Generator):
        return {"__rng__": type(obj.bit_generator).__name__, "state": obj.bit_generator.state}
    if isinstance(obj, list):
        return [encode(v, arrays) for v in obj]
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, arrays) for v in obj]}
    if isinstance(obj, (set, frozenset)):
        return {"__set__": [encode(v, arrays) for v in sorted(obj)]}
    if isinstance(obj, deque):
        return {"__deque__": [encode(v, arrays) for v in obj], "maxlen": obj.maxlen}
    if isinstance(obj, dict):
        return {"__map__": [[encode(k, arrays), encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, Path):
        return {"__path__": str(obj)}
    return _encode_object(obj, arrays)


def _encode_object(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    cls = type(obj)
    name = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__module__.startswith("torch") and hasattr(obj, "detach"):
        return {"__tensor__": encode(obj.detach().cpu().numpy(), arrays)}
    if not cls.__module__.startswith(ALLOWED):
        raise CheckpointError(f"cannot checkpoint a {name} (only sandbox classes, arrays and plain data)")
    import torch

    if isinstance(obj, torch.nn.Module):
        init = getattr(obj, "init_args", None)
        if init is None:
            raise CheckpointError(f"cannot checkpoint torch module {name}: it records no init_args")
        return {"__module__": name, "init": encode(tuple(init), arrays),
                "weights": {k: encode(v.detach().cpu().numpy(), arrays) for k, v in obj.state_dict().items()}}
    state = obj.__getstate__() if "__getstate__" in _own(cls) else dict(vars(obj))
    return {"__obj__": name, "state": {k: encode(v, arrays) for k, v in state.items()}}


def decode(data: Any, arrays: Any) -> Any:
    """Inverse of `encode`."""
    if isinstance(data, list):
        return [decode(v, arrays) for v in data]
    if not isinstance(data, dict):
        return data
    if "__nd__" in data:
        return np.array(arrays[data["__nd__"]])
    if "__np__" in data:
        return np.dtype(data["__np__"]).type(data["v"])
    if "__rng__" in data:
        bit = getattr(np.random, data["__rng__"])()
        bit.state = data["state"]
        return np.random.Generator(bit)
    if "__tuple__" in data:
        return tuple(decode(v, arrays) for v in data["__tuple__"])
    if "__set__" in data:
        return {decode(v, arrays) for v in data["__set__"]}
    if "__deque__" in data:
        return deque((decode(v, arrays) for v in data["__deque__"]), maxlen=data["maxlen"])
    if "__map__" in data:
        return {_key(decode(k, arrays)): decode(v, arrays) for k, v in data["__map__"]}
    if "__path__" in data:
        return Path(data["__path__"])
    if "__tensor__" in data:
        import torch

        return torch.from_numpy(decode(data["__tensor__"], arrays))
    if "__module__" in data:
        import torch

        module = _class(data["__module__"])(*decode(data["init"], arrays))
        module.load_state_dict({k: torch.from_numpy(decode(v, arrays)) for k, v in data["weights"].items()})
        return module
    if "__obj__" in data:
        cls = _class(data["__obj__"])
        obj: Any = object.__new__(cls)
        state = {k: decode(v, arrays) for k, v in data["state"].items()}
        if "__setstate__" in _own(cls):
            obj.__setstate__(state)
        elif is_dataclass(cls) and _frozen(cls):
            for f in fields(cls):
                object.__setattr__(obj, f.name, state[f.name])
        else:
            obj.__dict__.update(state)
        return obj
    raise CheckpointError(f"unknown checkpoint entry with keys {sorted(data)[:3]}")


def _key(key: Any) -> Any:
    return key


def _frozen(cls: Any) -> bool:
    return bool(cls.__dataclass_params__.frozen)


def _own(cls: type) -> set[str]:
    """Names defined by the class or its non-builtin bases (so object's default __getstate__ does not count)."""
    return {name for klass in cls.__mro__ if klass is not object for name in vars(klass)}


def _class(name: str) -> type:
    module, _, qualname = name.partition(":")
    if not module.startswith(ALLOWED):
        raise CheckpointError(f"checkpoint names class {name!r} outside the sandbox package; refusing to load it")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def save(folder: Path, state: dict[str, Any], meta: dict[str, Any]) -> Path:
    """Write `state` into folder/checkpoint/ (arrays first, then the JSON that names them: atomic per file)."""
    target = Path(folder) / CHECKPOINT
    arrays: dict[str, np.ndarray] = {}
    encoded = encode(state, arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(target / ARRAYS, buffer.getvalue())
    write_json_atomic(target / STATE, {"format": FORMAT, "version": VERSION, **meta, "n_arrays": len(arrays),
                                       "state": encoded})
    return target


def load(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state, meta) saved by `save`; a clear CheckpointError naming the file when anything is wrong."""
    target = Path(folder) / CHECKPOINT
    state_file, arrays_file = target / STATE, target / ARRAYS
    if not state_file.is_file() or not arrays_file.is_file():
        raise CheckpointError(f"{state_file}: no checkpoint to resume from; run without --resume first")
    try:
        meta = json.loads(state_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{state_file}: corrupt checkpoint ({err}); rerun with --overwrite") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{state_file}: not a sandbox checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{state_file}: checkpoint version {meta.get('version')} but this toolkit reads "
                              f"version {VERSION}; rerun with --overwrite")
    try:
        with np.load(arrays_file, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"{arrays_file}: corrupt checkpoint arrays ({err}); rerun with --overwrite") from err
    if len(arrays) != meta.get("n_arrays"):
        raise CheckpointError(f"{arrays_file}: holds {len(arrays)} arrays, {STATE} expects {meta.get('n_arrays')}")
    try:
        state = decode(meta.pop("state"), arrays)
    except (KeyError, TypeError, AttributeError, ImportError) as err:
        raise CheckpointError(f"{state_file}: cannot rebuild the saved state ({err!r}); rerun with --overwrite") \
            from err
    return state, meta
