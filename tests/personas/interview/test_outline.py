"""The shipped outline loads; malformed outlines are rejected with the section and field named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from personas.interview.outline import OutlineError, default_outline_path, load_outline

SECTIONS = ["usage_context", "content_preferences", "creator_affinity", "attention", "engagement_logic",
            "exploration", "emotion_regulation", "avoidance", "self_reflection"]


def test_shipped_outline_has_every_section_with_goals_and_budget() -> None:
    outline = load_outline()
    assert [s.id for s in outline.sections] == SECTIONS
    assert all(s.goals and s.directions and 1 <= s.turn_budget <= 5 for s in outline.sections)
    assert outline.total_budget == sum(s.turn_budget for s in outline.sections)


def test_limited_copy_caps_sections_and_budgets() -> None:
    short = load_outline().limited(max_sections=3, max_budget=1)
    assert [s.id for s in short.sections] == SECTIONS[:3] and short.total_budget == 3


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "outline.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "message"), [
    ({"turn_budget": 0}, "turn_budget must be an integer in [1, 20]"),
    ({"goals": []}, "goals must be a non-empty list"),
    ({"id": "Bad Id"}, "must be snake_case"),
    ({"extra": 1}, "unknown key 'extra'"),
])
def test_bad_section_names_file_section_and_field(tmp_path: Path, change: dict, message: str) -> None:
    data = load_outline().to_dict()
    data["sections"][1].update(change)
    with pytest.raises(OutlineError, match="outline.yaml") as err:
        load_outline(_write(tmp_path, data))
    assert message in str(err.value) and "sections[1]" in str(err.value)


def test_duplicate_ids_and_missing_file_are_clear(tmp_path: Path) -> None:
    data = load_outline().to_dict()
    data["sections"][2]["id"] = data["sections"][0]["id"]
    with pytest.raises(OutlineError, match="duplicate section id"):
        load_outline(_write(tmp_path, data))
    with pytest.raises(OutlineError, match="not found"):
        load_outline(tmp_path / "missing.yaml")
    assert default_outline_path().is_file()
