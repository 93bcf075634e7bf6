"""`personaact interview demo` end to end with the real embedded chat model (SmolLM2-135M, CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from personaact.cli import app
from personas.interview.small_model import repeated_sentence_count
from personas.interview.transcript import TranscriptStore
from personas.models import ModelUnavailableError


@pytest.fixture(scope="module")
def embedded_available() -> None:
    from personas.models.embedded import find_embedded_gguf

    try:
        find_embedded_gguf()
    except ModelUnavailableError as err:
        pytest.skip(f"embedded chat model not installed: {err}")


@pytest.mark.slow
def test_demo_with_the_embedded_model(tmp_path: Path, public_data: Path, embedded_available: None,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["interview", "demo", "--data", str(public_data), "--out", str(tmp_path),
                                      "--sections", "2", "--hidden", "night-owl-gamer"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "interview"
    persona = json.loads((folder / "persona.json").read_text())
    assert (folder / "persona.md").is_file() and persona["persona_id"] == "sim-night-owl-gamer"
    assert "Persona sim-night-owl-gamer" in result.output and "hidden traits recovered" in result.output
    turns = TranscriptStore(folder).replay().turns
    assert len(turns) == 2 and all(t.answered for t in turns)
    assert any(t.source != "fallback" for t in turns), [t.source for t in turns]
    assert all(repeated_sentence_count(t.answer or "") < 3 for t in turns), [t.answer for t in turns]
    assert persona["source"]["synthesis"].startswith(("model", "interview"))
