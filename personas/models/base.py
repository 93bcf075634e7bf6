"""The chat-model interface shared by every backend: messages, options, errors, `ChatModel`."""

from __future__ import annotations

import abc
import base64
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from recorder.errors import PersonaActError

Role: TypeAlias = Literal["system", "user", "assistant"]
ROLES: tuple[str, ...] = ("system", "user", "assistant")


class ModelUnavailableError(RuntimeError, PersonaActError):
    """A model cannot be loaded or reached; the message names the config option that fixes it."""


class ChatBackendError(RuntimeError, PersonaActError):
    """A backend failed while answering (bad server reply, HTTP error, generation failure)."""


@dataclass(frozen=True)
class TextPart:
    """A piece of text inside a multi-part message."""

    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError(f"TextPart.text must be a str, got {type(self.text).__name__}")


@dataclass(frozen=True)
class ImagePart:
    """An image inside a message: a file `path`, or raw `data` bytes with their `mime` type."""

    path: Path | None = None
    data: bytes | None = None
    mime: str | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.data is None):
            raise ValueError("ImagePart needs exactly one of path= or data=")
        if self.path is not None and not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))
        if self.data is not None and not isinstance(self.data, bytes):
            raise TypeError("ImagePart.data must be bytes")
        if self.data is not None and not self.mime:
            raise ValueError("ImagePart with data= needs mime=, e.g. 'image/png'")
        if self.mime is not None and not self.mime.startswith("image/"):
            raise ValueError(f"ImagePart.mime must be an image/* type, got {self.mime!r}")

    def media_type(self) -> str:
        """The MIME type: the given one, else guessed from the file suffix, else image/png."""
        if self.mime:
            return self.mime
        guessed, _ = mimetypes.guess_type(str(self.path))
        return guessed if guessed and guessed.startswith("image/") else "image/png"

    def read_bytes(self) -> bytes:
        """The image bytes, read from disk when the part holds a path."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def data_url(self) -> str:
        """The image as a base64 `data:` URL (the form OpenAI-compatible servers accept)."""
        encoded = base64.b64encode(self.read_bytes()).decode("ascii")
        return f"data:{self.media_type()};base64,{encoded}"


Part: TypeAlias = TextPart | ImagePart


@dataclass(frozen=True)
class Message:
    """One chat turn: a role and either plain text or a tuple of text/image parts."""

    role: Role
    content: str | tuple[Part, ...]

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Message.role must be one of {ROLES}, got {self.role!r}")
        if isinstance(self.content, list):
            # Lists are convenient to write; store a tuple so the message stays hashable.
            object.__setattr__(self, "content", tuple(self.content))
        if isinstance(self.content, str):
            return
        if not isinstance(self.content, tuple):
            raise TypeError(f"Message.content must be str or a tuple of parts, got {type(self.content).__name__}")
        for part in self.content:
            if not isinstance(part, (TextPart, ImagePart)):
                raise TypeError(f"Message.content parts must be TextPart or ImagePart, got {part!r}")
        if self.role != "user" and any(isinstance(p, ImagePart) for p in self.content):
            raise ValueError(f"only user messages may carry images (got one in a {self.role} message)")

    @property
    def text(self) -> str:
        """The text of the message, parts joined with newlines (images left out)."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def has_images(self) -> bool:
        """Whether any part of the message is an image."""
        return not isinstance(self.content, str) and any(isinstance(p, ImagePart) for p in self.content)


def system(text: str) -> Message:
    """A system message."""
    return Message("system", text)


def user(text: str) -> Message:
    """A user message."""
    return Message("user", text)


def assistant(text: str) -> Message:
    """An assistant message."""
    return Message("assistant", text)


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling settings for one request; temperature 0 means greedy decoding."""

    temperature: float = 0.0
    max_tokens: int = 256
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.stop, (list, str)):
            object.__setattr__(self, "stop", (self.stop,) if isinstance(self.stop, str) else tuple(self.stop))
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be within [0, 2], got {self.temperature}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if any(not isinstance(s, str) or not s for s in self.stop):
            raise ValueError(f"stop must hold non-empty strings, got {self.stop!r}")


Conversation: TypeAlias = Sequence[Message]


def check_conversation(messages: Conversation) -> list[Message]:
    """Validate a conversation (non-empty, all `Message`s) and return it as a list."""
    items = list(messages)
    if not items:
        raise ValueError("a chat request needs at least one message")
    for item in items:
        if not isinstance(item, Message):
            raise TypeError(f"expected Message objects, got {type(item).__name__}")
    return items


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut `text` at the earliest stop string, if any occurs.

    >>> truncate_at_stop("yes. END more", ("END",))
    'yes. '
    >>> truncate_at_stop("no stop here", ())
    'no stop here'
    """
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=len(text))
    return text[:cut]


class ChatModel(abc.ABC):
    """A chat model: conversation in, assistant text out."""

    name: str = "chat-model"

    @abc.abstractmethod
    def chat(self, messages: Conversation, options: GenerationOptions | None = None) -> str:
        """Answer one conversation with the assistant's reply text."""

    def chat_batch(
        self, conversations: Sequence[Conversation], options: GenerationOptions | None = None
    ) -> list[str]:
        """Answer many conversations, in order; backends that can run them concurrently override this."""
        return [self.chat(messages, options) for messages in conversations]

    def close(self) -> None:
        """Release resources (connections, model memory); the default holds none."""

    def __enter__(self) -> ChatModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
