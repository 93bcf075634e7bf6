"""Chat over any OpenAI-compatible HTTP server (vLLM, Ollama, llama.cpp) with retries and concurrency."""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx

from personas.models.base import (
    ChatBackendError,
    ChatModel,
    Conversation,
    GenerationOptions,
    ImagePart,
    Message,
    ModelUnavailableError,
    TextPart,
    check_conversation,
    truncate_at_stop,
)

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
MAX_REPLY_BYTES = 32 * 2**20  # a chat completion is kilobytes; a server sending more is not one
_SERVER_MESSAGE_CHARS = 500
# Credentials a misbehaving server may echo back (e.g. the request headers); redacted even when not our key.
_USERINFO = re.compile(r"://[^/@\s]+@")
_CREDENTIALS = re.compile(r"(?i)(bearer\s+|api[_-]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+")


class ChatHTTPError(ChatBackendError):
    """The server answered with an HTTP error; `status_code` holds the status."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class _Deadline(Exception):
    """Internal: an attempt ran past its total time budget."""


class _Retryable(Exception):
    """Internal: one attempt failed in a way worth retrying."""

    def __init__(
        self, reason: str, status_code: int | None = None, retry_after: float | None = None, unreachable: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.retry_after = retry_after
        self.unreachable = unreachable


class OpenAICompatibleChat(ChatModel):
    """A `ChatModel` over `POST {base_url}/chat/completions`; the API key comes from an env var.

    `timeout_s` bounds each attempt as a whole (connect, headers and body), not each socket read, so a
    server that drips bytes cannot hold a call; every error and log text is scrubbed of credentials
    before it is shortened, so no key (nor a prefix of one) ever reaches a message.
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_retries: int = 3,
        concurrency: int = 4,
        backoff_s: float = 0.5,
        default_options: GenerationOptions | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not base_url:
            raise ModelUnavailableError("the http chat backend needs base_url, e.g. http://127.0.0.1:8000/v1")
        if max_retries < 0 or concurrency < 1 or timeout_s <= 0:
            raise ValueError("need max_retries >= 0, concurrency >= 1 and timeout_s > 0")
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.concurrency = concurrency
        self.backoff_s = backoff_s
        self.default_options = default_options or GenerationOptions()
        self._model = model
        # The key lives only here and in the request header; it is scrubbed from every error text.
        self._api_key = os.environ.get(api_key_env, "") if api_key_env else ""
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._model_lock = threading.Lock()
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=httpx.Timeout(timeout_s), transport=transport
        )

    @property
    def name(self) -> str:  # type: ignore[override]
        """The served model's name (looked up from the server when not configured)."""
        return self._model or "unresolved"

    def __repr__(self) -> str:
        return self._scrub(f"OpenAICompatibleChat(base_url={self.base_url!r}, model={self._model!r}, "
                           f"api_key_env={self.api_key_env!r})")

    def chat(self, messages: Conversation, options: GenerationOptions | None = None) -> str:
        """Send one conversation and return the assistant's reply text."""
        items = check_conversation(messages)
        opts = options or self.default_options
        payload = build_payload(self.model_name(), items, opts)
        data = self._request_with_retries("POST", "/chat/completions", payload)
        return truncate_at_stop(self._reply_text(data), opts.stop)

    def chat_batch(
        self, conversations: Sequence[Conversation], options: GenerationOptions | None = None
    ) -> list[str]:
        """Answer many conversations concurrently (at most `concurrency` in flight), in input order."""
        if not conversations:
            return []
        self.model_name()  # resolve once up front rather than racing in every worker
        workers = min(self.concurrency, len(conversations))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chat-http") as pool:
            futures = [pool.submit(self.chat, messages, options) for messages in conversations]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def model_name(self) -> str:
        """The model id to request: the configured one, else the first the server lists at /models."""
        with self._model_lock:
            if self._model is None:
                self._model = self._discover_model()
            return self._model

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _discover_model(self) -> str:
        data = self._request_with_retries("GET", "/models", None)
        models = data.get("data") if isinstance(data, dict) else None
        if not models or not isinstance(models[0], dict) or "id" not in models[0]:
            raise ModelUnavailableError(self._scrub(
                f"{self.base_url}/models lists no model; set the chat option `model` to the served model name"
            ))
        return str(models[0]["id"])

    def _request_with_retries(self, method: str, path: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        """Run one request, retrying 429/5xx/timeouts/connection errors with jittered exponential backoff."""
        url = self._scrub(f"{self.base_url}{path}")  # also logged: no user:password of the base_url
        attempts = self.max_retries + 1
        last: _Retryable | None = None
        for attempt in range(attempts):
            if attempt:
                delay = self._backoff(attempt, last.retry_after if last else None)
                logger.warning(
                    "%s %s failed (%s); retry %d of %d in %.2f s", method, url, last.reason if last else "?",
                    attempt, self.max_retries, delay,
                )
                self._sleep(delay)
            try:
                return self._attempt(method, path, payload)
            except _Retryable as err:
                last = err
        assert last is not None
        message = self._scrub(f"{method} {url} failed after {attempts} attempt(s): {last.reason}")
        if last.unreachable:
            raise ModelUnavailableError(f"{message}; is the server running? check the chat option `base_url`")
        raise ChatHTTPError(message, last.status_code)

    def _attempt(self, method: str, path: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = self._request_within_deadline(method, path, payload)
        except _Deadline:
            raise _Retryable(f"timed out: no complete reply within {self.timeout_s:g} s") from None
        except httpx.TimeoutException as err:
            raise _Retryable(f"timed out after {self.timeout_s:g} s ({type(err).__name__})") from None
        except httpx.ConnectError as err:
            raise _Retryable(f"cannot connect: {self._scrub(str(err))}", unreachable=True) from None
        except httpx.TransportError as err:
            raise _Retryable(f"transport error {type(err).__name__}: {self._scrub(str(err))}") from None
        if is_retryable_status(response.status_code):
            reason = f"HTTP {response.status_code}: {self._server_message(response)}"
            raise _Retryable(reason, response.status_code, _retry_after(response))
        if response.status_code >= 400:
            raise self._client_error(method, response)
        try:
            data = response.json()
        except (ValueError, RecursionError):
            raise ChatBackendError(self._clip(f"{method} {response.url}: reply is not JSON: {response.text!r}", 300))
        if not isinstance(data, dict):
            raise ChatBackendError(self._scrub(f"{method} {response.url}: expected a JSON object, got {type(data).__name__}"))
        return data

    def _request_within_deadline(self, method: str, path: str, payload: dict[str, Any] | None) -> httpx.Response:
        """Run the request on a helper thread and wait at most timeout_s for the whole reply.

        httpx's timeout applies per read; a thread plus a deadline checked between body chunks bounds
        the total. A thread stuck on a server that drips its headers is abandoned (daemon) and the
        call fails on time.
        """
        deadline = time.monotonic() + self.timeout_s
        outcome: dict[str, Any] = {}
        abandoned = threading.Event()

        def fetch() -> None:
            try:
                outcome["response"] = self._fetch(method, path, payload, deadline, abandoned)
            except BaseException as err:  # handed to the caller's thread below
                outcome["error"] = err

        worker = threading.Thread(target=fetch, name="chat-http-request", daemon=True)
        worker.start()
        worker.join(max(deadline - time.monotonic(), 0.0))
        if worker.is_alive():
            abandoned.set()
            raise _Deadline()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["response"]

    def _fetch(self, method: str, path: str, payload: dict[str, Any] | None, deadline: float,
               abandoned: threading.Event) -> httpx.Response:
        with self._client.stream(method, path, json=payload) as streamed:
            body = bytearray()
            for chunk in streamed.iter_bytes():
                body.extend(chunk)
                if abandoned.is_set() or time.monotonic() > deadline:
                    raise _Deadline()
                if len(body) > MAX_REPLY_BYTES:
                    raise ChatBackendError(self._scrub(f"{method} {streamed.url}: reply over "
                                                       f"{MAX_REPLY_BYTES // 2**20} MiB; is base_url a chat server?"))
            # already decoded: drop the encodings so the copy is not decoded twice
            headers = [(k, v) for k, v in streamed.headers.raw
                       if k.lower() not in (b"content-encoding", b"transfer-encoding", b"content-length")]
            return httpx.Response(streamed.status_code, headers=headers, content=bytes(body), request=streamed.request)

    def _client_error(self, method: str, response: httpx.Response) -> ChatHTTPError:
        """A non-retryable 4xx, with the server's own words and a hint for the usual suspects."""
        hint = ""
        if response.status_code in (401, 403):
            hint = f" (check the API key in the environment variable named by `api_key_env`, now {self.api_key_env!r})"
        elif response.status_code == 404:
            hint = " (check `base_url`, which usually ends in /v1, and `model`)"
        text = f"{method} {response.url} answered HTTP {response.status_code}: {self._server_message(response)}{hint}"
        return ChatHTTPError(self._scrub(text), response.status_code)

    def _server_message(self, response: httpx.Response) -> str:
        try:
            data = response.json()
        except (ValueError, RecursionError):
            return self._clip(response.text.strip() or response.reason_phrase, _SERVER_MESSAGE_CHARS)
        error = data.get("error", data) if isinstance(data, dict) else data
        if isinstance(error, dict):
            error = error.get("message", error)
        return self._clip(_text(error), _SERVER_MESSAGE_CHARS)

    def _reply_text(self, data: dict[str, Any]) -> str:
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ChatBackendError(self._clip(f"malformed chat completion (no choices[0].message.content): {_text(data)}",
                                              300))
        if content is None:
            raise ChatBackendError("the server returned an empty message (content is null)")
        return self._scrub_key(str(content))  # a reply echoing our key would carry it into logs and transcripts

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential delay with full-range jitter; a server's Retry-After wins when larger."""
        base = min(self.backoff_s * (2 ** (attempt - 1)), MAX_BACKOFF_S)
        with self._rng_lock:
            delay = base * (0.5 + self._rng.random() / 2)
        return min(max(delay, retry_after or 0.0), MAX_BACKOFF_S)

    def _scrub_key(self, text: str) -> str:
        """Remove our API key, also JSON- or URL-escaped."""
        if self._api_key:
            for form in {self._api_key, self._api_key.replace("/", "\\/"), quote(self._api_key, safe="")}:
                text = text.replace(form, "***")
        return text

    def _scrub(self, text: str) -> str:
        """Remove the API key and anything that looks like a bearer token, an api key or a URL's user:password."""
        text = self._scrub_key(text)
        text = _USERINFO.sub("://***@", text)  # http://user:password@host in a base_url
        return _CREDENTIALS.sub(lambda m: m.group(1) + "***", text)

    def _clip(self, text: str, limit: int) -> str:
        """Scrub, then shorten: cutting first could leave a key's prefix that no longer matches the key."""
        return self._scrub(text)[:limit]


def _text(value: Any) -> str:
    """str() of a decoded JSON value that a hostile server may have nested too deeply to print."""
    try:
        return str(value)
    except RecursionError:
        return "<a value nested too deeply to show>"


def build_payload(model: str, messages: Sequence[Message], options: GenerationOptions) -> dict[str, Any]:
    """The JSON body of an OpenAI chat-completions request (non-streaming)."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": [message_to_openai(m) for m in messages],
        "temperature": options.temperature,
        "max_tokens": options.max_tokens,
        "stream": False,
    }
    if options.seed is not None:
        payload["seed"] = options.seed
    if options.stop:
        payload["stop"] = list(options.stop)
    return payload


def message_to_openai(message: Message) -> dict[str, Any]:
    """One message in OpenAI wire form; images become base64 data-URL `image_url` parts."""
    if isinstance(message.content, str):
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            parts.append({"type": "image_url", "image_url": {"url": part.data_url()}})
    return {"role": message.role, "content": parts}


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth retrying: rate limits, request timeouts and server errors."""
    return status in (408, 429) or status >= 500


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP-date; the exponential backoff is good enough
