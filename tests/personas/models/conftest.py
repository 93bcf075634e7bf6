"""Fixtures for the chat-model tests: a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Behaviour:
    """What the fake server does for one request: wait, then answer with a status and JSON body."""

    status: int = 200
    body: dict[str, Any] | None = None  # None: a completion echoing the last user message
    delay_s: float = 0.0


@dataclass
class FakeOpenAIServer:
    """State shared between the test and the handler threads."""

    script: list[Behaviour] = field(default_factory=list)
    default: Behaviour = field(default_factory=Behaviour)
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def then(self, status: int = 200, body: dict[str, Any] | None = None, delay_s: float = 0.0) -> None:
        """Queue the answer to the next unanswered request."""
        self.script.append(Behaviour(status, body, delay_s))

    def always(self, status: int = 200, body: dict[str, Any] | None = None, delay_s: float = 0.0) -> None:
        """Set the answer for requests beyond the queued ones."""
        self.default = Behaviour(status, body, delay_s)

    def next_behaviour(self) -> Behaviour:
        with self.lock:
            return self.script.pop(0) if self.script else self.default


def completion(text: str) -> dict[str, Any]:
    """A minimal chat-completions response body."""
    return {"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


def _echo(request: dict[str, Any]) -> dict[str, Any]:
    content = request.get("messages", [{}])[-1].get("content", "")
    text = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
    return completion(f"echo: {text}")


def _make_handler(state: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            state.requests.append({"path": self.path, "headers": dict(self.headers)})
            self._send(200, {"object": "list", "data": [{"id": "served-model", "object": "model"}]})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length) or b"{}")
            with state.lock:
                state.requests.append({"path": self.path, "headers": dict(self.headers), "json": payload})
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            behaviour = state.next_behaviour()
            try:
                time.sleep(behaviour.delay_s)
                self._send(behaviour.status, behaviour.body if behaviour.body is not None else _echo(payload))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)
            finally:
                with state.lock:
                    state.in_flight -= 1

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A threaded OpenAI-compatible server on 127.0.0.1 (port chosen by the OS), scripted per test."""
    state = FakeOpenAIServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    server.daemon_threads = True
    server.block_on_close = False  # don't wait for handlers still sleeping after a client timeout
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
