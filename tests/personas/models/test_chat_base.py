"""Messages, options, the scripted fake and the config/factory layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from personas.models import (
    ChatModelConfig,
    GenerationOptions,
    ImagePart,
    Message,
    ModelUnavailableError,
    ScriptedChatModel,
    ScriptExhaustedError,
    TextPart,
    build_chat_model,
    user,
)
from personas.models.openai_http import OpenAICompatibleChat
from recorder.config import ConfigError, load_config


def test_message_validation() -> None:
    with pytest.raises(ValueError, match="role"):
        Message("robot", "hi")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Message("user", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Message("user", ("plain str is not a part",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only user messages"):
        Message("assistant", (ImagePart(data=b"x", mime="image/png"),))
    listed = Message("user", [TextPart("a"), TextPart("b")])  # type: ignore[arg-type]
    assert isinstance(listed.content, tuple) and listed.text == "a\nb"
    assert hash(listed) == hash(Message("user", (TextPart("a"), TextPart("b"))))


def test_image_part(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ImagePart()
    with pytest.raises(ValueError, match="mime"):
        ImagePart(data=b"x")
    image = tmp_path / "frame.jpg"
    image.write_bytes(b"\xff\xd8jpeg")
    part = ImagePart(path=image)
    assert part.media_type() == "image/jpeg"
    assert part.data_url().startswith("data:image/jpeg;base64,")
    assert Message("user", (TextPart("see"), part)).has_images


def test_generation_options_validation() -> None:
    assert GenerationOptions(stop=["a"]).stop == ("a",)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        GenerationOptions(temperature=-1)
    with pytest.raises(ValueError):
        GenerationOptions(max_tokens=0)
    with pytest.raises(ValueError):
        GenerationOptions(stop=("",))


def test_scripted_model_records_calls_and_runs_out() -> None:
    model = ScriptedChatModel(["one", "two"])
    options = GenerationOptions(max_tokens=5)
    assert model.chat_batch([[user("a")], [user("b")]], options) == ["one", "two"]
    assert [c.last_user_text for c in model.calls] == ["a", "b"]
    assert model.calls[0].options == options and model.remaining == 0
    with pytest.raises(ScriptExhaustedError, match="ran out of replies: call 3 but the script has 2.*'c'"):
        model.chat([user("c")])


def test_scripted_model_with_callable() -> None:
    model = ScriptedChatModel(lambda messages: messages[-1].text.upper())
    assert model.chat([user("hey")]) == "HEY"
    with pytest.raises(ValueError, match="at least one message"):
        model.chat([])


def test_config_loads_from_yaml_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    path.write_text("backend: http\nbase_url: http://127.0.0.1:8000/v1\nmodel: qwen\ntimeout_s: 5\n", encoding="utf-8")
    config = load_config(ChatModelConfig, path, ["temperature=0.7", "seed=null", "concurrency=8"])
    assert config.backend == "http" and config.timeout_s == 5.0 and config.temperature == 0.7
    assert config.seed is None and config.concurrency == 8
    assert config.generation_options() == GenerationOptions(temperature=0.7, max_tokens=256, seed=None)
    assert load_config(ChatModelConfig).backend == "embedded"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["backend=http"], "needs base_url"),
        (["backend=http", "base_url=127.0.0.1:8000"], "http://"),
        (["backend=transformers"], "needs model_path"),
        (["backend=llama"], "is not one of"),
        (["gguf_file=x.gguf"], "only used by the 'transformers'"),
        (["concurrency=0"], "concurrency"),
        (["temperature=3"], "temperature"),
        (["api_key_env=sk-abc def"], "NAME"),
        (["device=tpu"], "is not one of"),
    ],
)
def test_config_validation(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(ChatModelConfig, None, overrides)


def test_build_scripted_and_http() -> None:
    scripted = build_chat_model(ChatModelConfig(backend="scripted", max_tokens=9), script=["hi"])
    assert scripted.chat([user("x")]) == "hi"
    assert scripted.calls[0].options.max_tokens == 9  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="script="):
        build_chat_model(ChatModelConfig(backend="scripted"))
    http = build_chat_model(ChatModelConfig(backend="http", base_url="http://127.0.0.1:1/v1", model="m", concurrency=2))
    assert isinstance(http, OpenAICompatibleChat) and http.concurrency == 2
    http.close()


def test_build_transformers_with_missing_path_names_the_option(tmp_path: Path) -> None:
    config = ChatModelConfig(backend="transformers", model_path=str(tmp_path / "nowhere"))
    with pytest.raises(ModelUnavailableError, match="model_path"):
        build_chat_model(config)
