"""The web front end of the interview: a local page (127.0.0.1 only) with the example frames beside the chat."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from personas.interview.agent import InterviewAgent
from personas.interview.prompts import CitedExample
from recorder.errors import PersonaActError

log = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"
TEMPLATE = "interview_page.html.j2"
MAX_BODY = 64 * 1024
TOKEN_HEADER = "X-PersonaAct-Token"  # the page sends its per-session token; another site cannot read or guess it
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
OnFinish = Callable[[InterviewAgent], str]  # returns the persona card (Markdown) to show


class InterviewPageError(RuntimeError, PersonaActError):
    """The interview page cannot be served (e.g. its port is taken)."""


class InterviewWebApp:
    """The page's state and actions around one agent; a lock serialises model calls."""

    def __init__(self, agent: InterviewAgent, on_finish: OnFinish | None = None) -> None:
        self.agent = agent
        self.on_finish = on_finish
        self.persona_card: str | None = None
        self.token = secrets.token_urlsafe(32)
        self.lock = threading.Lock()
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(resources.files("personas.data"))),
                                 autoescape=True)
        self.template = env.get_template(TEMPLATE)

    def page(self) -> str:
        """The HTML page."""
        return self.template.render(examples=[self._example(c) for c in self.agent.catalogue],
                                    outline=self.agent.outline.name, token=self.token, token_header=TOKEN_HEADER)

    def token_ok(self, presented: str | None) -> bool:
        """Whether a request carries this session's token (compared in constant time)."""
        return presented is not None and hmac.compare_digest(presented.encode(), self.token.encode())

    def state(self) -> dict[str, Any]:
        """Turns, the pending question and, at the end, the persona card; asks the next question if due."""
        with self.lock:
            pending = self.agent.next_question()
            if pending is None and self.on_finish is not None and self.persona_card is None:
                self.persona_card = self.on_finish(self.agent)
            return self._snapshot()

    def answer(self, turn_id: Any, text: Any) -> dict[str, Any]:
        """Save an answer to the pending question, then return the new state."""
        with self.lock:
            pending = self.agent.state.pending
            if pending is None or pending.turn_id != turn_id:
                raise ValueError(f"turn {turn_id!r} is not the question waiting for an answer; reload the page")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("text must be the answer as a non-empty string")  # never saved as a blank answer
            self.agent.answer(text)
        return self.state()

    def frame(self, example_id: str) -> tuple[bytes, str] | None:
        """The key frame of a cited example (only catalogue frames are ever served)."""
        cited = self.agent.example(example_id)
        path = Path(cited.example.frame) if cited and cited.example.frame else None
        if path is None or not path.is_file() or path.suffix.lower() not in _IMAGE_TYPES:
            return None
        return path.read_bytes(), _IMAGE_TYPES[path.suffix.lower()]

    def _snapshot(self) -> dict[str, Any]:
        section = self.agent.current_section
        return {"turns": [t.to_dict() for t in self.agent.turns], "finished": self.agent.finished,
                "section": section.title if section else None, "persona_card": self.persona_card}

    def _example(self, cited: CitedExample) -> dict[str, Any]:
        has_frame = cited.example.frame is not None and Path(cited.example.frame).is_file()
        return {"id": cited.id, "title": cited.title, "author": cited.example.author, "category": cited.example.category,
                "watch_s": cited.example.watch_s, "liked": cited.example.liked,
                "frame_url": f"/frames/{cited.id}" if has_frame else None}


def make_handler(app: InterviewWebApp, port_holder: dict[str, int]) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `app`."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "PersonaActInterview"
        timeout = 30  # seconds a client may stall mid-request (a body shorter than its Content-Length) before we hang up

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("web: " + fmt, *args)

        def do_GET(self) -> None:
            if not self._host_ok():
                return
            if self.path == "/":
                self._send(HTTPStatus.OK, app.page().encode("utf-8"), "text/html; charset=utf-8")
            elif self.path == "/api/state":
                if self._token_ok():
                    self._act(app.state)
            elif self.path.startswith("/frames/"):
                found = app.frame(self.path.rsplit("/", 1)[-1])
                if found is None:
                    self._json(HTTPStatus.NOT_FOUND, {"error": "no such frame"})
                else:
                    self._send(HTTPStatus.OK, found[0], found[1])
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {self.path}"})

        def do_POST(self) -> None:
            if not self._host_ok():
                return
            if self.path != "/api/answer":
                return self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {self.path}"})
            if not self._token_ok():
                return
            # Only JSON: a cross-site form or text/plain "simple request" is refused before it is read.
            if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != "application/json":
                return self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send the answer as application/json"})
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": f"body must be 1..{MAX_BODY} bytes of JSON"})
            try:
                body = json.loads(self.rfile.read(length))
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object with turn_id and text")
            except (ValueError, RecursionError) as err:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": f"not valid JSON: {err}"})
            self._act(lambda: app.answer(body.get("turn_id"), body.get("text")))

        def _act(self, action: Callable[[], dict[str, Any]]) -> None:
            """Run an app action; a wrong turn is the client's error, a failing chat model the server's (no traceback)."""
            try:
                self._json(HTTPStatus.OK, action())
            except PersonaActError as err:  # e.g. the chat backend is down: say so on the page, keep serving
                log.warning("interview page: %s", err)
                self._json(HTTPStatus.BAD_GATEWAY, {"error": str(err)})
            except ValueError as err:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(err)})

        def _token_ok(self) -> bool:
            if not app.token_ok(self.headers.get(TOKEN_HEADER)):
                self._json(HTTPStatus.FORBIDDEN, {"error": "missing or wrong session token; reload the page"})
                return False
            return True

        def _host_ok(self) -> bool:
            # Only the loopback names are accepted, so a web page elsewhere cannot reach us via DNS rebinding.
            # A browser names the page that sent a request in Origin: it must be this page itself.
            host = (self.headers.get("Host") or "").lower()
            allowed = {f"{name}:{port_holder['port']}" for name in (LOOPBACK, "localhost")}
            origin = self.headers.get("Origin")
            if host not in allowed or (origin is not None and origin.lower() not in {f"http://{a}" for a in allowed}):
                self._json(HTTPStatus.FORBIDDEN, {"error": "only http://127.0.0.1 may use this page"})
                return False
            return True

        def _json(self, status: HTTPStatus, data: Any) -> None:
            self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")  # no framing by another site (clickjacking)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def make_server(app: InterviewWebApp, port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server for the page on 127.0.0.1 (port 0 picks a free one; read it from server.server_port)."""
    holder = {"port": port}
    try:
        server = ThreadingHTTPServer((LOOPBACK, port), make_handler(app, holder))
    except (OSError, OverflowError) as err:  # the port is taken, or not a port at all
        reason = getattr(err, "strerror", None) or err
        raise InterviewPageError(f"cannot serve the interview page on {LOOPBACK}:{port} ({reason}); "
                                 "pick another --port, or 0 for any free one") from err
    holder["port"] = server.server_port
    return server
