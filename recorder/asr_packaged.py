"""Whisper models shipped split over several PyPI packages: find the parts and join them once into the cache.

PyPI refuses files over 100 MB, so a converted model larger than that comes as `model.bin.part1`, `.part2`, ...
spread over packages that hold only data under `<package>/data/`. The joined model lives in
`<cache>/asr/<name>/` with a marker naming the parts it was built from; a package upgrade rebuilds it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import shutil
import tempfile
from pathlib import Path

from recorder.asr import ASRModelUnavailable
from recorder.files import cache_root, default_mode

MARKER = "personaact-parts.json"
_PART = re.compile(r"^model\.bin\.part(\d+)$")


def joined_model_dir(packages: tuple[str, ...], name: str, install: str, cache: Path | None = None) -> Path:
    """The model directory joined from `packages`' data parts, building it in the cache on first use."""
    folders = [_data_folder(package, install) for package in packages]
    parts = _parts(folders, install)
    target = (cache or cache_root()) / "asr" / name
    fingerprint: dict[str, object] = {"parts": [[p.name, p.stat().st_size] for p in parts], "packages": _versions(packages)}
    if _marker(target) == fingerprint:
        return target
    _build(target, folders, parts, fingerprint)
    return target


def _data_folder(package: str, install: str) -> Path:
    # find_spec locates the package without importing it (it holds only data).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ASRModelUnavailable(f"the ASR model needs the Python package {package.replace('_', '-')}, which is not "
                                  f"installed: run `{install}`")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _parts(folders: list[Path], install: str) -> list[Path]:
    found = {int(m.group(1)): path for folder in folders if folder.is_dir()
             for path in folder.iterdir() if (m := _PART.match(path.name))}
    expected = list(range(1, len(found) + 1))
    if not found or sorted(found) != expected:
        raise ASRModelUnavailable(f"the ASR model's parts are incomplete (found parts {sorted(found) or 'none'} in "
                                  f"{', '.join(map(str, folders))}); reinstall with `{install}`")
    return [found[number] for number in expected]


def _versions(packages: tuple[str, ...]) -> dict[str, str]:
    versions = {}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def _marker(target: Path) -> object:
    try:
        return json.loads((target / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _build(target: Path, folders: list[Path], parts: list[Path], fingerprint: dict[str, object]) -> None:
    """Join the parts and copy the small files into a staging folder beside `target`, then swap it in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    staging.chmod(default_mode(directory=True))
    try:
        with open(staging / "model.bin", "wb") as joined:
            for part in parts:
                with open(part, "rb") as piece:
                    shutil.copyfileobj(piece, joined, 16 << 20)
        for folder in folders:
            for path in folder.iterdir():
                if path.is_file() and not _PART.match(path.name):
                    shutil.copyfile(path, staging / path.name)
        # The marker is written last: its presence means the join finished.
        (staging / MARKER).write_text(json.dumps(fingerprint, indent=2), encoding="utf-8")
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
