"""The OpenAI-compatible HTTP backend against a real loopback server (plus a few MockTransport cases)."""

from __future__ import annotations

import base64
import logging
import random
import socket
from typing import Any

import httpx
import pytest

from personas.models import GenerationOptions, ImagePart, Message, ModelUnavailableError, TextPart, user
from personas.models.openai_http import ChatHTTPError, OpenAICompatibleChat, build_payload

SECRET = "sk-test-SECRET-0123456789"
KEY_ENV = "PERSONAACT_TEST_KEY"


def _completion(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


def _client(server: Any, delays: list[float] | None = None, **kwargs: Any) -> OpenAICompatibleChat:
    kwargs.setdefault("model", "test-model")
    kwargs.setdefault("timeout_s", 5.0)
    sink = delays if delays is not None else []
    return OpenAICompatibleChat(
        server.base_url, api_key_env=KEY_ENV, sleep=sink.append, rng=random.Random(0), **kwargs
    )


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)


def test_normal_answer_sends_openai_request(openai_server: Any) -> None:
    with _client(openai_server) as chat:
        reply = chat.chat([Message("system", "be brief"), user("hello")], GenerationOptions(max_tokens=7, seed=3))
    assert reply == "echo: hello"
    request = openai_server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"
    body = request["json"]
    assert body["model"] == "test-model" and body["max_tokens"] == 7 and body["seed"] == 3
    assert body["stream"] is False and body["temperature"] == 0.0
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]


def test_server_error_is_retried_then_succeeds(openai_server: Any) -> None:
    openai_server.then(500, {"error": {"message": "overloaded"}})
    delays: list[float] = []
    with _client(openai_server, delays, max_retries=2) as chat:
        assert chat.chat([user("again")]) == "echo: again"
    assert len(openai_server.requests) == 2
    assert len(delays) == 1 and 0 < delays[0] <= 30


def test_timeout_is_retried_then_raises(openai_server: Any) -> None:
    openai_server.always(delay_s=1.0)
    delays: list[float] = []
    with _client(openai_server, delays, timeout_s=0.2, max_retries=2) as chat:
        with pytest.raises(ChatHTTPError, match="timed out") as caught:
            chat.chat([user("slow")])
    assert "3 attempt(s)" in str(caught.value)
    assert len(openai_server.requests) == 3
    assert len(delays) == 2 and delays[1] > delays[0] * 0.9  # backoff grows (jitter is within 0.5x-1x)


def test_unauthorized_is_not_retried_and_key_never_leaks(
    openai_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A careless server that echoes the credential back must not make us leak it.
    openai_server.then(401, {"error": {"message": f"bad key {SECRET}"}})
    caplog.set_level(logging.DEBUG)
    delays: list[float] = []
    with _client(openai_server, delays, max_retries=3) as chat:
        with pytest.raises(ChatHTTPError) as caught:
            chat.chat([user("hi")])
        assert SECRET not in repr(chat)
    error = caught.value
    assert error.status_code == 401 and len(openai_server.requests) == 1 and delays == []
    assert "401" in str(error) and "bad key ***" in str(error) and KEY_ENV in str(error)
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert SECRET not in caplog.text


def test_retry_warnings_do_not_contain_key(openai_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    openai_server.then(503, {"error": {"message": f"echo {SECRET}"}})
    caplog.set_level(logging.DEBUG)
    with _client(openai_server) as chat:
        chat.chat([user("x")])
    assert "retry 1 of 3" in caplog.text
    assert SECRET not in caplog.text


def test_batch_runs_concurrently_in_order(openai_server: Any) -> None:
    openai_server.always(delay_s=0.2)
    conversations = [[user(f"q{i}")] for i in range(6)]
    with _client(openai_server, concurrency=3) as chat:
        replies = chat.chat_batch(conversations)
    assert replies == [f"echo: q{i}" for i in range(6)]
    assert openai_server.max_in_flight == 3


def test_model_is_discovered_when_not_configured(openai_server: Any) -> None:
    with _client(openai_server, model=None) as chat:
        assert chat.chat([user("x")]) == "echo: x"
        assert chat.name == "served-model"
    assert openai_server.requests[0]["path"] == "/v1/models"
    assert openai_server.requests[1]["json"]["model"] == "served-model"


def test_images_are_sent_as_data_urls(openai_server: Any) -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    message = Message("user", (TextPart("what is this?"), ImagePart(data=png, mime="image/png")))
    with _client(openai_server) as chat:
        chat.chat([message])
    parts = openai_server.requests[0]["json"]["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "what is this?"}
    url = parts[1]["image_url"]["url"]
    assert parts[1]["type"] == "image_url" and url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == png


def test_connection_refused_names_base_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again on exit: nothing listens there
    chat = OpenAICompatibleChat(f"http://127.0.0.1:{port}/v1", "m", max_retries=1, sleep=lambda s: None)
    with pytest.raises(ModelUnavailableError, match="base_url"):
        chat.chat([user("x")])


def test_rate_limit_honours_retry_after_via_mock_transport() -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "slow down"}),
         httpx.Response(200, json=_completion("ok"))]
    )
    delays: list[float] = []
    transport = httpx.MockTransport(lambda request: next(answers))
    chat = OpenAICompatibleChat("http://server/v1", "m", transport=transport, sleep=delays.append, rng=random.Random(1))
    assert chat.chat([user("x")], GenerationOptions(stop=("k",))) == "o"
    assert delays == [2.0]


def test_bad_request_reports_server_message() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(400, json={"error": {"message": "max_tokens too large"}}))
    chat = OpenAICompatibleChat("http://server/v1", "m", transport=transport, sleep=lambda s: None)
    with pytest.raises(ChatHTTPError, match="400.*max_tokens too large"):
        chat.chat([user("x")])


def test_malformed_reply_is_a_backend_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"choices": []}))
    chat = OpenAICompatibleChat("http://server/v1", "m", transport=transport)
    with pytest.raises(Exception, match="malformed chat completion"):
        chat.chat([user("x")])


def test_payload_includes_stop_only_when_set() -> None:
    assert "stop" not in build_payload("m", [user("x")], GenerationOptions())
    assert build_payload("m", [user("x")], GenerationOptions(stop=("END",)))["stop"] == ["END"]
