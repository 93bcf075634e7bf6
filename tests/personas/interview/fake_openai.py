"""A loopback OpenAI-compatible chat server answering from the scripted responder (drives the real CLI)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from personas.models import Message

Responder = Callable[[list[Message]], str]


def _handler(responder: Responder, calls: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            messages = [Message(m["role"], m["content"]) for m in body["messages"]]
            reply = responder(messages)
            calls.append(messages[-1].text.splitlines()[0])
            data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def fake_openai_server(responder: Responder) -> Iterator[tuple[str, list[str]]]:
    """Serve chat completions on 127.0.0.1; yields (base_url, first lines of the prompts received)."""
    calls: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(responder, calls))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", calls
    finally:
        server.shutdown()
        server.server_close()
