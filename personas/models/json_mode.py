"""Getting a JSON object out of a chat model: tolerant extraction plus a bounded re-ask loop."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from personas.models.base import ChatBackendError, ChatModel, Conversation, GenerationOptions, Message
from recorder.errors import PersonaActError

logger = logging.getLogger(__name__)

Validator: TypeAlias = Callable[[dict[str, Any]], None]

# Bounds keep a pathological reply (megabytes of braces) from costing more than a moment.
MAX_SCAN_CHARS = 200_000
MAX_CANDIDATES = 32
_VALIDATION_ERRORS = (ValueError, TypeError, KeyError, AssertionError)
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}


class JSONExtractError(ValueError, PersonaActError):
    """No JSON object could be read from a model reply; the message says why."""


@dataclass(frozen=True)
class JSONAttempt:
    """One try at getting JSON: the model's raw reply and what was wrong with it."""

    reply: str
    error: str


class JSONModeError(ChatBackendError):
    """The model gave no valid JSON object within the allowed retries; `attempts` holds every try."""

    def __init__(self, attempts: Sequence[JSONAttempt]) -> None:
        self.attempts: tuple[JSONAttempt, ...] = tuple(attempts)
        last = self.attempts[-1].error if self.attempts else "no attempt made"
        super().__init__(f"no valid JSON object after {len(self.attempts)} attempt(s); last error: {last}")


def extract_json_object(text: str) -> dict[str, Any]:
    """Return the first balanced `{...}` in `text` that parses (after a light repair) as a JSON object.

    >>> extract_json_object('Sure! ```json\\n{"a": 1, "b": [1, 2,],}\\n``` hope it helps')
    {'a': 1, 'b': [1, 2]}
    >>> extract_json_object("I think {'name': 'Ann', 'ok': True} fits")
    {'name': 'Ann', 'ok': True}
    >>> extract_json_object('use {placeholder} then {"x": "a } b"}')
    {'x': 'a } b'}
    >>> extract_json_object("no object here")
    Traceback (most recent call last):
    ...
    personas.models.json_mode.JSONExtractError: no '{' found: the reply contains no JSON object
    """
    scan = text[:MAX_SCAN_CHARS]
    start = scan.find("{")
    if start < 0:
        raise JSONExtractError("no '{' found: the reply contains no JSON object")
    first_error = ""
    for _ in range(MAX_CANDIDATES):
        end = _matching_brace(scan, start)
        if end is None:
            first_error = first_error or f"the object starting at character {start} is never closed (unbalanced braces)"
        else:
            parsed, error = _parse_candidate(scan[start : end + 1])
            if parsed is not None:
                return parsed
            first_error = first_error or error
        start = scan.find("{", start + 1)
        if start < 0:
            break
    raise JSONExtractError(first_error)


def _matching_brace(text: str, start: int) -> int | None:
    """Index of the `}` closing the `{` at `start`, skipping braces inside quoted strings."""
    depth = 0
    quote = ""
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def _parse_candidate(candidate: str) -> tuple[dict[str, Any] | None, str]:
    """Parse strictly, then once more after `repair_json`; return (object or None, error text)."""
    try:
        value = json.loads(candidate)
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    except json.JSONDecodeError as err:
        try:
            value = json.loads(repair_json(candidate))
        except (json.JSONDecodeError, RecursionError):
            return None, f"invalid JSON: {err.msg} at line {err.lineno} column {err.colno}"
    if not isinstance(value, dict):
        return None, f"expected a JSON object, got {type(value).__name__}"
    return value, ""


def repair_json(text: str) -> str:
    """Fix the slips small models make: single-quoted strings, trailing commas, Python literals.

    >>> repair_json("{'a': 'it\\\\'s', 'b': [1, 2,], 'c': None,}")
    '{"a": "it\\'s", "b": [1, 2], "c": null}'
    """
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in "\"'":
            end = _string_end(text, index)
            out.append(_as_double_quoted(text[index : end + 1]))
            index = end + 1
        elif char == "," and _next_significant(text, index + 1) in ("}", "]"):
            index += 1
        elif char.isalpha():
            end = index
            while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                end += 1
            word = text[index:end]
            out.append(_PY_LITERALS.get(word, word))
            index = end
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _string_end(text: str, start: int) -> int:
    """Index of the quote closing the string opened at `start` (or the last index if unclosed)."""
    quote = text[start]
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            return index
        index += 1
    return len(text) - 1


def _as_double_quoted(literal: str) -> str:
    """Re-encode a quoted string literal as a JSON double-quoted string."""
    if literal.startswith('"'):
        return literal
    body = literal[1:-1] if len(literal) >= 2 and literal.endswith("'") else literal[1:]
    body = body.replace("\\'", "'")
    try:
        # Reuse JSON's own escape handling for \n, \t, \uXXXX inside the single-quoted body.
        decoded = json.loads(f'"{body}"')
    except json.JSONDecodeError:
        decoded = body
    return json.dumps(decoded, ensure_ascii=False)


def _next_significant(text: str, start: int) -> str:
    """The next non-whitespace character at or after `start`, or '' at the end."""
    for char in text[start:]:
        if not char.isspace():
            return char
    return ""


def required_keys_validator(keys: Sequence[str]) -> Validator:
    """A validator that rejects objects missing any of `keys`.

    >>> required_keys_validator(["a", "b"])({"a": 1})
    Traceback (most recent call last):
    ...
    ValueError: missing required key(s): 'b'
    """
    wanted = tuple(keys)

    def validate(obj: dict[str, Any]) -> None:
        missing = [key for key in wanted if key not in obj]
        if missing:
            raise ValueError("missing required key(s): " + ", ".join(repr(k) for k in missing))

    return validate


def chat_json(
    model: ChatModel,
    messages: Conversation,
    options: GenerationOptions | None = None,
    validate: Validator | Sequence[str] | None = None,
    max_retries: int = 2,
) -> dict[str, Any]:
    """Ask `model` for a JSON object; on a bad reply, show it the exact error and ask again (bounded).

    `validate` is a callable raising ValueError/TypeError/KeyError/AssertionError on a bad object,
    or a list of keys the object must have. Raises `JSONModeError` after `max_retries` re-asks.
    """
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    check = _as_validator(validate)
    conversation = list(messages)
    attempts: list[JSONAttempt] = []
    for attempt in range(max_retries + 1):
        reply = model.chat(conversation, options)
        error = _check_reply(reply, check)
        if isinstance(error, dict):
            return error
        attempts.append(JSONAttempt(reply=reply, error=error))
        logger.warning("JSON reply rejected (attempt %d of %d): %s", attempt + 1, max_retries + 1, error)
        conversation += [Message("assistant", reply), Message("user", retry_prompt(error))]
    raise JSONModeError(attempts)


def _as_validator(validate: Validator | Sequence[str] | None) -> Validator | None:
    if validate is None or callable(validate):
        return validate
    if isinstance(validate, str):
        # A bare string would otherwise be read as a sequence of one-letter keys.
        return required_keys_validator([validate])
    return required_keys_validator(validate)


def _check_reply(reply: str, check: Validator | None) -> dict[str, Any] | str:
    """The parsed object if the reply is acceptable, else the error text to send back."""
    try:
        obj = extract_json_object(reply)
    except JSONExtractError as err:
        return str(err)
    if check is not None:
        try:
            check(obj)
        except _VALIDATION_ERRORS as err:
            detail = err.args[0] if isinstance(err, KeyError) and err.args else err
            return f"the JSON object was rejected: {detail}"
    return obj


def retry_prompt(error: str) -> str:
    """The user message that tells the model what was wrong with its last reply.

    >>> retry_prompt("missing required key(s): 'age'")[:71]
    "Your previous answer could not be used: missing required key(s): 'age'."
    """
    return (
        f"Your previous answer could not be used: {error.rstrip('.')}. "
        "Reply again with only one valid JSON object, no other text."
    )
