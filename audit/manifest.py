"""The run manifest: written when an audit starts, updated when it ends, so every figure traces back to its run."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from recorder.errors import PersonaActError
from recorder.files import JSONTextError, loads_strict, write_json_atomic

MANIFEST_FILE = "manifest.json"


def toolkit_version() -> str:
    """The installed personaact version (or a source-tree marker)."""
    try:
        return version("personaact")
    except PackageNotFoundError:
        return "0.0.0+source"


def card_hash(card: Mapping[str, Any] | None) -> str | None:
    """SHA-256 of a persona card's canonical JSON (None without a card)."""
    if card is None:
        return None
    return hashlib.sha256(json.dumps(card, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def taxonomy_version() -> dict[str, Any]:
    """The shipped taxonomy's declared version and content hash."""
    import yaml

    text = resources.files("recorder").joinpath("data", "taxonomy.yaml").read_text(encoding="utf-8")
    declared = (yaml.safe_load(text) or {}).get("version")
    return {"version": declared, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]}


def now() -> str:
    """UTC time, ISO-8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class ManifestError(ValueError, PersonaActError):
    """A run's manifest.json cannot be read back (corrupt, or not this toolkit's)."""


def _read(path: Path) -> dict[str, Any]:
    try:
        data = loads_strict(path.read_bytes())
    except JSONTextError as err:
        raise ManifestError(f"{path}: {err}; restore it or start the run again in a new folder") from err
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: not a run manifest (a JSON object); start the run again in a new folder")
    return data


def start_manifest(folder: Path, **fields: Any) -> dict[str, Any]:
    """Write manifest.json at the start of a run (a resumed run keeps its first start and lists each resume)."""
    path = folder / MANIFEST_FILE
    previous = _read(path) if path.is_file() else None
    manifest: dict[str, Any] = {"kind": "audit_manifest", "schema_version": 1, "toolkit_version": toolkit_version(),
                                "command_line": list(sys.argv), "python": sys.version.split()[0],
                                "taxonomy": taxonomy_version(), "started_at": now(), "ended_at": None,
                                "resumes": [], **fields}
    if previous:
        manifest["started_at"] = previous.get("started_at", manifest["started_at"])
        manifest["resumes"] = [*previous.get("resumes", []), {"at": now(), "command_line": list(sys.argv)}]
    write_json_atomic(path, manifest)
    return manifest


def finish_manifest(folder: Path, **fields: Any) -> dict[str, Any]:
    """Add the end time and final fields (incidents, categoriser accuracy...) to manifest.json."""
    path = folder / MANIFEST_FILE
    manifest = _read(path)
    manifest.update(fields)
    manifest["ended_at"] = now()
    write_json_atomic(path, manifest)
    return manifest
