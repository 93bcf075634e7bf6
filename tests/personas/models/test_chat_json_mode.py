"""JSON extraction and the bounded re-ask loop, driven by the scripted chat model."""

from __future__ import annotations

import doctest
import logging
from typing import Any

import pytest

from personas.models import ScriptedChatModel, json_mode, user
from personas.models import base as base_module
from personas.models.json_mode import JSONExtractError, JSONModeError, chat_json, extract_json_object


def test_doctests_of_pure_helpers() -> None:
    for module in (json_mode, base_module):
        result = doctest.testmod(module, raise_on_error=False)
        assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Here you go:\n```json\n{"name": "Ann", "tags": ["x", "y"]}\n```\nAnything else?', {"name": "Ann", "tags": ["x", "y"]}),
        ("```\n{'a': 'b', 'n': [1, 2, ], }\n```", {"a": "b", "n": [1, 2]}),
        ('{"outer": {"inner": {"deep": true}}} and {"second": 2}', {"outer": {"inner": {"deep": True}}}),
        ('prose with {braces} first, then {"k": "v { not a brace }"}', {"k": "v { not a brace }"}),
        ('{"quote": "she said \\"hi\\""}', {"quote": 'she said "hi"'}),
        ("{'it': 'it\\'s fine', 'none': None}", {"it": "it's fine", "none": None}),
        ('{"unicode": "caf\\u00e9 \u4e2d\u6587"}', {"unicode": "caf\u00e9 \u4e2d\u6587"}),
    ],
)
def test_extract_json_object(text: str, expected: dict[str, Any]) -> None:
    assert extract_json_object(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nothing here", "no '{' found"),
        ('{"a": 1', "never closed"),
        ("{not json at all}", "invalid JSON"),
    ],
)
def test_extract_json_object_errors(text: str, message: str) -> None:
    with pytest.raises(JSONExtractError, match=message):
        extract_json_object(text)


def test_extract_ignores_arrays_and_scans_boundedly() -> None:
    assert extract_json_object('[1, 2] {"ok": 1}') == {"ok": 1}
    huge = "{" * 500_000
    with pytest.raises(JSONExtractError):
        extract_json_object(huge)


def test_chat_json_retries_with_the_exact_error(caplog: pytest.LogCaptureFixture) -> None:
    model = ScriptedChatModel(["Sure! name is Ann", '{"name": "Ann"}', '```json\n{"name": "Ann", "age": 30}\n```'])
    caplog.set_level(logging.WARNING, logger="personas.models.json_mode")
    result = chat_json(model, [user("Give name and age as JSON")], validate=["name", "age"], max_retries=2)
    assert result == {"name": "Ann", "age": 30}
    assert len(model.calls) == 3
    second, third = model.calls[1].messages, model.calls[2].messages
    # The bad answer goes back as the assistant turn, followed by a user turn naming the exact error.
    assert second[-2].role == "assistant" and second[-2].text == "Sure! name is Ann"
    assert "no '{' found" in second[-1].text and second[-1].role == "user"
    assert "missing required key(s): 'age'" in third[-1].text
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_chat_json_gives_up_with_all_attempts() -> None:
    model = ScriptedChatModel(["no", "still no", "nope"])
    with pytest.raises(JSONModeError) as caught:
        chat_json(model, [user("json please")], max_retries=2)
    error = caught.value
    assert [a.reply for a in error.attempts] == ["no", "still no", "nope"]
    assert all("no '{' found" in a.error for a in error.attempts)
    assert "3 attempt(s)" in str(error)


def test_chat_json_with_callable_validator() -> None:
    def adult(obj: dict[str, Any]) -> None:
        if obj.get("age", 0) < 18:
            raise ValueError("age must be at least 18")

    model = ScriptedChatModel(['{"age": 9}', '{"age": 40}'])
    assert chat_json(model, [user("x")], validate=adult) == {"age": 40}
    assert "age must be at least 18" in model.calls[1].messages[-1].text


def test_chat_json_zero_retries_does_not_reask() -> None:
    model = ScriptedChatModel(["bad"])
    with pytest.raises(JSONModeError):
        chat_json(model, [user("x")], max_retries=0)
    assert len(model.calls) == 1


def test_chat_json_single_required_key_string() -> None:
    model = ScriptedChatModel(['{"other": 1}', '{"label": "a"}'])
    assert chat_json(model, [user("x")], validate="label") == {"label": "a"}
    assert "'label'" in model.calls[1].messages[-1].text
