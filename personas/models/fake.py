"""A scripted chat model for tests: canned replies in order (or a function), every call recorded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from personas.models.base import ChatModel, Conversation, GenerationOptions, Message, check_conversation

Responder = Callable[[list[Message]], str]


class ScriptExhaustedError(AssertionError):
    """A `ScriptedChatModel` was asked more often than its script has replies (a test bug, not a model error)."""


@dataclass(frozen=True)
class ChatCall:
    """One recorded request: the conversation as sent and the options in force."""

    messages: tuple[Message, ...]
    options: GenerationOptions

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (what a test usually wants to check)."""
        return next((m.text for m in reversed(self.messages) if m.role == "user"), "")


class ScriptedChatModel(ChatModel):
    """Answers from a list of replies (in order) or a callable(messages) -> str; records every call."""

    name = "scripted"

    def __init__(self, script: Sequence[str] | Responder, default_options: GenerationOptions | None = None) -> None:
        if isinstance(script, str):
            raise TypeError("script must be a list of replies or a callable, not a single string")
        self._responder: Responder | None = script if callable(script) else None
        self._replies: tuple[str, ...] = () if callable(script) else tuple(script)
        self.default_options = default_options or GenerationOptions()
        self.calls: list[ChatCall] = []
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        """Replies left in a list script (0 for a callable script)."""
        return max(len(self._replies) - len(self.calls), 0) if self._responder is None else 0

    def chat(self, messages: Conversation, options: GenerationOptions | None = None) -> str:
        """Record the call and return the next scripted reply."""
        items = check_conversation(messages)
        with self._lock:
            index = len(self.calls)
            self.calls.append(ChatCall(tuple(items), options or self.default_options))
            if self._responder is not None:
                return self._responder(list(items))
            if index >= len(self._replies):
                raise ScriptExhaustedError(
                    f"ScriptedChatModel ran out of replies: call {index + 1} but the script has "
                    f"{len(self._replies)}; last user message: {self.calls[-1].last_user_text[:200]!r}"
                )
            return self._replies[index]
