"""Chat-model configuration (one frozen dataclass, loadable with recorder.config) and the builder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from personas.models.base import ChatModel, GenerationOptions
from personas.models.fake import Responder

Backend = Literal["embedded", "transformers", "http", "scripted"]
DeviceOption = Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True)
class ChatModelConfig:
    """Which chat backend to use and how; fields a backend does not use are ignored by it."""

    backend: Backend = "embedded"
    model_path: str | None = None  # transformers: model directory or .gguf file
    gguf_file: str | None = None  # transformers: GGUF file name inside model_path
    base_url: str | None = None  # http: e.g. http://127.0.0.1:8000/v1
    model: str | None = None  # http: served model name (None: the first one the server lists)
    api_key_env: str = "OPENAI_API_KEY"  # http: NAME of the env var holding the key, never the key
    timeout_s: float = 60.0
    max_retries: int = 3
    concurrency: int = 4
    device: DeviceOption = "auto"
    temperature: float = 0.0
    max_tokens: int = 256
    seed: int | None = 0

    def __post_init__(self) -> None:
        if self.backend == "http" and not self.base_url:
            raise ValueError("chat backend 'http' needs base_url, e.g. base_url=http://127.0.0.1:8000/v1")
        if self.backend == "http" and not self.base_url.startswith(("http://", "https://")):  # type: ignore[union-attr]
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if self.backend == "transformers" and not self.model_path:
            raise ValueError("chat backend 'transformers' needs model_path (a local model directory or .gguf file)")
        if self.gguf_file and self.backend != "transformers":
            raise ValueError("gguf_file is only used by the 'transformers' backend (set backend=transformers)")
        _check_range("timeout_s", self.timeout_s, low=1e-3)
        _check_range("max_retries", self.max_retries, low=0, high=20)
        _check_range("concurrency", self.concurrency, low=1, high=1024)
        _check_range("temperature", self.temperature, low=0.0, high=2.0)
        _check_range("max_tokens", self.max_tokens, low=1)
        if self.api_key_env and not self.api_key_env.replace("_", "").isalnum():
            raise ValueError(f"api_key_env must be an environment variable NAME, got {self.api_key_env!r}")

    def generation_options(self) -> GenerationOptions:
        """The default sampling options this config asks for."""
        return GenerationOptions(temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed)


def _check_range(name: str, value: float, low: float, high: float | None = None) -> None:
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value!r}")


def build_chat_model(config: ChatModelConfig, script: Sequence[str] | Responder | None = None) -> ChatModel:
    """Build the configured backend; `script` feeds the 'scripted' backend (tests and dry runs only)."""
    options = config.generation_options()
    if config.backend == "scripted":
        from personas.models.fake import ScriptedChatModel

        if script is None:
            raise ValueError("chat backend 'scripted' needs replies passed in code: build_chat_model(config, script=...)")
        return ScriptedChatModel(script, default_options=options)
    if config.backend == "http":
        from personas.models.openai_http import OpenAICompatibleChat

        assert config.base_url is not None  # checked in __post_init__
        return OpenAICompatibleChat(
            config.base_url,
            config.model,
            api_key_env=config.api_key_env,
            timeout_s=config.timeout_s,
            max_retries=config.max_retries,
            concurrency=config.concurrency,
            default_options=options,
        )
    if config.backend == "transformers":
        from personas.models.transformers_local import TransformersChat

        assert config.model_path is not None  # checked in __post_init__
        return TransformersChat(config.model_path, config.gguf_file, device=config.device, default_options=options)
    from personas.models.embedded import load_embedded_chat

    return load_embedded_chat(device=config.device, default_options=options)
