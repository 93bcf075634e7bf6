"""The HTTP chat backend never leaks the API key and never lets a slow server hold a call past its timeout."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from personas.models import ChatBackendError, ModelUnavailableError, user
from personas.models.openai_http import OpenAICompatibleChat

SECRET = "sk-live-SECRET-0123456789abcdef"
KEY_ENV = "PERSONAACT_TEST_KEY"


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)


def _chat(handler: Any, **kwargs: Any) -> OpenAICompatibleChat:
    kwargs.setdefault("max_retries", 0)
    return OpenAICompatibleChat("http://test/v1", "m", api_key_env=KEY_ENV, transport=httpx.MockTransport(handler),
                                sleep=lambda s: None, **kwargs)


def _assert_no_key(text: str) -> None:
    assert SECRET not in text
    for size in range(8, len(SECRET)):  # no prefix of the key either
        assert SECRET[:size] not in text, SECRET[:size]


def _echo_headers(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"echo": {"headers": dict(request.headers)}})


def test_reply_without_choices_echoing_the_authorization_header_does_not_leak_the_key():
    with pytest.raises(ChatBackendError) as err:
        _chat(_echo_headers).chat([user("hi")])
    _assert_no_key(str(err.value))
    assert "choices" in str(err.value)


@pytest.mark.parametrize("status", [200, 400, 500])
@pytest.mark.parametrize("pad", [0, 280, 290, 295, 480, 490, 495])
def test_a_key_cut_by_shortening_never_leaves_a_prefix(status, pad, caplog):
    def handler(request: httpx.Request) -> httpx.Response:
        text = "x" * pad + request.headers["authorization"] + " trailing"
        return httpx.Response(status, text=text) if status != 200 else httpx.Response(200, json={"note": text})

    caplog.set_level(logging.DEBUG)
    with pytest.raises(ChatBackendError) as err:
        _chat(handler, max_retries=1).chat([user("hi")])
    _assert_no_key(str(err.value))
    _assert_no_key(caplog.text)


def test_a_bearer_token_that_is_not_ours_is_redacted_too():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": "bad header Authorization: Bearer other-token-777"}})

    with pytest.raises(ChatBackendError) as err:
        _chat(handler).chat([user("hi")])
    assert "other-token-777" not in str(err.value)


@pytest.fixture
def dripping_server() -> Iterator[str]:
    """A server that accepts and then sends a valid reply one byte every 0.05 s (about 10 s in all)."""
    body = json.dumps({"choices": [{"message": {"role": "assistant", "content": "late " * 20}}]}).encode()
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    def drip(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in reply:
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.05)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    listener.close()


@pytest.mark.timeout(30)
def test_timeout_bounds_the_whole_call_not_each_read(dripping_server):
    chat = OpenAICompatibleChat(dripping_server, "m", api_key_env=KEY_ENV, timeout_s=0.5, max_retries=1,
                                sleep=lambda s: None)
    started = time.monotonic()
    with pytest.raises(ChatBackendError, match="timed out"):
        chat.chat([user("hi")])
    # two attempts of 0.5 s each; the drip alone would take over 10 s
    assert time.monotonic() - started < 4.0
    chat.close()


def test_credentials_in_the_base_url_never_reach_a_message_or_the_log(caplog):
    chat = OpenAICompatibleChat("http://alice:hunter2@127.0.0.1:9/v1", "m", api_key_env=KEY_ENV, max_retries=1,
                                sleep=lambda s: None, timeout_s=2)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ModelUnavailableError) as err:
        chat.chat([user("hi")])
    assert "hunter2" not in str(err.value) and "127.0.0.1:9" in str(err.value)
    assert "retry" in caplog.text and "hunter2" not in caplog.text and "hunter2" not in repr(chat)


def test_a_reply_that_echoes_the_key_never_carries_it_on():
    def handler(request: httpx.Request) -> httpx.Response:
        echoed = f"your headers: {request.headers['authorization']}"
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": echoed}}]})

    _assert_no_key(_chat(handler).chat([user("hi")]))


@pytest.mark.parametrize("status", [200, 400, 500])
def test_hostile_replies_are_backend_errors(status):
    deep = b'{"error": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    with pytest.raises(ChatBackendError):
        _chat(lambda request: httpx.Response(status, content=deep)).chat([user("hi")])
    big = b'{"x": "' + b"a" * (33 * 2**20) + b'"}'
    with pytest.raises(ChatBackendError, match="MiB"):
        _chat(lambda request: httpx.Response(status, content=big)).chat([user("hi")])


def test_a_deeply_nested_model_reply_is_an_extract_error():
    from personas.models.json_mode import JSONExtractError, extract_json_object

    with pytest.raises(JSONExtractError, match="nested too deeply"):
        extract_json_object('{"a": ' + "[" * 50_000 + "]" * 50_000 + "}")
