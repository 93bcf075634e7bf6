"""The Persona schema: validation, JSON round trip, card, `persona show`; synthesis checks quotes and falls back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from personaact.cli import app
from personas.analysis import analyse
from personas.interview.transcript import Turn
from personas.models import ScriptedChatModel
from personas.persona import Evidence, Persona, PersonaError, Trait, load_persona, save_persona
from personas.synthesis import synthesise
from tests.builders import make_trace

LEVELS = {"content_vs_creator": "creator", "emotion_regulation": "high", "novelty_tolerance": "low",
          "social_sensitivity": "medium"}


def _persona() -> Persona:
    traits = {n: Trait(n, lvl, "because", (Evidence("quote", "I love cats", 2), Evidence("behaviour", "likes 20%")))
              for n, lvl in LEVELS.items()}
    return Persona("P01", "I watch to unwind.", traits, analyse([make_trace(6)]))


def test_round_trip_save_load_and_card(tmp_path: Path) -> None:
    path = save_persona(_persona(), tmp_path / "p" / "persona.json")
    loaded = load_persona(path)
    assert loaded.to_dict() == _persona().to_dict() | {"created_at": loaded.created_at}
    card = (tmp_path / "p" / "persona.md").read_text()
    assert "| novelty tolerance | **low** |" in card and "(turn 2): I love cats" in card and "## Behaviour" in card
    result = CliRunner().invoke(app, ["persona", "show", str(path), "--markdown"])
    assert result.exit_code == 0 and "# Persona P01" in result.output


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["traits"].pop("novelty_tolerance"), "missing novelty_tolerance"),
    (lambda d: d["traits"]["emotion_regulation"].update(level="extreme"), "emotion_regulation.level"),
    (lambda d: d.update(schema_version=99), "schema_version"),
    (lambda d: d["traits"]["social_sensitivity"]["evidence"].append({"kind": "quote", "text": "x"}), "turn_id"),
])
def test_invalid_persona_files_name_the_field(tmp_path: Path, change, message: str) -> None:
    data = _persona().to_dict()
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PersonaError, match=message):
        load_persona(path)
    result = CliRunner().invoke(app, ["persona", "show", str(path)])
    assert result.exit_code == 2 and "bad.json" in result.output


def test_synthesis_drops_invented_quotes_and_keeps_real_ones() -> None:
    turns = [Turn(1, "attention", "Why swipe?", answer="Anything slow loses me within a second."),
             Turn(2, "exploration", "New topics?", answer="I avoid new topics.")]
    traits = {n: {"level": lvl, "rationale": "r", "quotes": [{"turn": 1, "text": "anything slow loses me"},
                                                              {"turn": 2, "text": "I adore novelty"}]}
              for n, lvl in LEVELS.items()}
    reply = json.dumps({"narrative": "I watch in bed to calm down after work.", "traits": traits})
    persona = synthesise(ScriptedChatModel([reply]), turns, analyse([make_trace(6)]), "P9")
    quotes = [e for e in persona.traits["novelty_tolerance"].evidence if e.kind == "quote"]
    assert [(q.turn_id, q.text) for q in quotes] == [(1, "anything slow loses me")]
    assert persona.level("content_vs_creator") == "creator" and persona.source["synthesis"] == "model"


def test_synthesis_falls_back_to_behaviour_after_bounded_retries() -> None:
    model = ScriptedChatModel(['{"narrative": "too short"}', "nonsense", '{"traits": {"novelty_tolerance": {"level": "high"}}}'])
    persona = synthesise(model, [], analyse([make_trace(6)]), "P9", retries=2)
    assert len(model.calls) == 3 and persona.source["synthesis"] == "model+behaviour-rules"
    assert persona.level("novelty_tolerance") == "high"  # the model's valid part is kept
    assert persona.traits["social_sensitivity"].rationale.startswith("estimated from behaviour")
    assert persona.narrative.startswith("I mostly watch Knowledge")
