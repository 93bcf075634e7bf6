"""Auditable LLM exchanges of creators: a JSONL exchange log, a recording model wrapper, batched JSON asks."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from personas.models.base import (
    ChatBackendError,
    ChatModel,
    Conversation,
    GenerationOptions,
    Message,
    assistant,
    check_conversation,
    user,
)
from personas.models.json_mode import (
    JSONAttempt,
    JSONExtractError,
    JSONModeError,
    chat_json,
    extract_json_object,
    retry_prompt,
)

Validator = Callable[[dict[str, Any]], None]


def prompt_hash(messages: Conversation) -> str:
    """SHA-256 of a conversation's roles and texts (the key that identifies a prompt in the log).

    >>> prompt_hash([user("hi")]) == prompt_hash([user("hi")]) != prompt_hash([user("ho")])
    True
    """
    payload = json.dumps([[m.role, m.text] for m in messages], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ExchangeLog:
    """Every LLM exchange (tag, prompt hash, options, reply), in memory and appended to a JSONL file."""

    def __init__(self, path: str | Path | None = None, keep_prompts: bool = True) -> None:
        self.path = Path(path) if path is not None else None
        self.keep_prompts = keep_prompts
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"]  # locks do not copy; a copy gets its own
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def record(self, model: str, tag: dict[str, Any], messages: Conversation, options: GenerationOptions | None,
               reply: str) -> None:
        """Append one exchange (flushed at once, so a killed run keeps what it asked and heard)."""
        opts = options or GenerationOptions()
        entry: dict[str, Any] = {"model": model, **tag, "prompt_sha256": prompt_hash(messages),
                                 "temperature": opts.temperature, "seed": opts.seed, "reply": reply}
        if self.keep_prompts:
            entry["prompt"] = [{"role": m.role, "content": m.text} for m in messages]
        with self._lock:
            entry["seq"] = len(self.records)
            self.records.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")


class RecordingChatModel(ChatModel):
    """Wraps a chat model so every call (including chat_json's retries) lands in an ExchangeLog."""

    def __init__(self, inner: ChatModel, log: ExchangeLog) -> None:
        self.inner, self.log = inner, log
        self.name = inner.name
        self._tags: list[dict[str, Any]] = [{}]

    @contextmanager
    def tagged(self, **tag: Any) -> Iterator[None]:
        """Label the exchanges made inside the block (creator, step, stage)."""
        self._tags.append(tag)
        try:
            yield
        finally:
            self._tags.pop()

    def chat(self, messages: Conversation, options: GenerationOptions | None = None) -> str:
        """Ask the wrapped model and record the exchange."""
        reply = self.inner.chat(messages, options)
        self.log.record(self.name, self._tags[-1], check_conversation(messages), options, reply)
        return reply

    def chat_batch(self, conversations: Sequence[Conversation], options: GenerationOptions | None = None,
                   tags: Sequence[dict[str, Any]] | None = None) -> list[str]:
        """Ask the wrapped model in one batch and record each exchange with its own tag."""
        replies = self.inner.chat_batch(conversations, options)
        labels = tags if tags is not None else [self._tags[-1]] * len(conversations)
        for messages, reply, tag in zip(conversations, replies, labels):
            self.log.record(self.name, tag, check_conversation(messages), options, reply)
        return replies

    def close(self) -> None:
        """Close the wrapped model."""
        self.inner.close()


def _check(reply: str, validate: Validator) -> dict[str, Any] | str:
    """The parsed, valid object, or the error text to send back to the model."""
    try:
        obj = extract_json_object(reply)
        validate(obj)
    except JSONExtractError as err:
        return str(err)
    except (ValueError, TypeError, KeyError) as err:
        return f"the JSON object was rejected: {err.args[0] if err.args else err}"
    return obj


def batch_chat_json(model: RecordingChatModel, conversations: Sequence[list[Message]], options: GenerationOptions,
                    validators: Sequence[Validator], tags: Sequence[dict[str, Any]],
                    max_retries: int) -> list[dict[str, Any] | JSONModeError]:
    """First attempts in one batch; each rejected reply gets `chat_json`'s bounded re-ask loop on its own."""
    try:
        replies = model.chat_batch(conversations, options, tags=tags)
    except ChatBackendError as err:
        return [JSONModeError([JSONAttempt("", f"backend failed: {err}")]) for _ in conversations]
    results: list[dict[str, Any] | JSONModeError] = []
    for conversation, reply, validate, tag in zip(conversations, replies, validators, tags):
        checked = _check(reply, validate)
        if isinstance(checked, dict):
            results.append(checked)
            continue
        first = JSONAttempt(reply, checked)
        if max_retries == 0:
            results.append(JSONModeError([first]))
            continue
        retry = [*conversation, assistant(reply), user(retry_prompt(checked))]
        with model.tagged(**tag, retry=True):
            try:
                results.append(chat_json(model, retry, options, validate, max_retries - 1))
            except JSONModeError as err:
                results.append(JSONModeError([first, *err.attempts]))
            except ChatBackendError as err:
                results.append(JSONModeError([first, JSONAttempt("", f"backend failed: {err}")]))
    return results
