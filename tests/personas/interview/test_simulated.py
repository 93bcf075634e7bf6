"""Synthesis from a simulated interview recovers the hidden persona's traits (scripted model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from personas.interview.agent import InterviewAgent
from personas.interview.demo import interview_simulated
from personas.interview.outline import load_outline
from personas.interview.simulated import HiddenPersona, SimulatedInterviewee, load_hidden_personas, trait_recovery
from personas.persona import PersonaError
from personas.synthesis import synthesise


@pytest.mark.parametrize("hidden", load_hidden_personas(), ids=lambda h: h.persona_id)
def test_synthesis_recovers_hidden_traits(tmp_path: Path, features, scripted, hidden: HiddenPersona) -> None:
    agent = InterviewAgent.start(scripted, tmp_path / "iv", load_outline(), features)
    interviewee = SimulatedInterviewee(scripted, hidden)
    interview_simulated(agent, interviewee, echo=False)
    persona = synthesise(scripted, agent.turns, features, f"sim-{hidden.persona_id}")
    recovery = trait_recovery(hidden, persona)
    assert recovery.score >= 3, recovery.missed
    # The role prompt carried the hidden persona's description (not its id); quotes point at real turns.
    assert any(hidden.description in c.messages[0].text for c in scripted.calls)
    quotes = [e for t in persona.traits.values() for e in t.evidence if e.kind == "quote"]
    answers = {t.turn_id: t.answer for t in agent.turns}
    assert quotes and all(q.text in answers[q.turn_id] for q in quotes)


def test_recovery_counts_misses_and_hidden_personas_validate() -> None:
    with pytest.raises(PersonaError, match="traits.novelty_tolerance must be one of"):
        HiddenPersona("x", {"content_vs_creator": "content", "emotion_regulation": "low",
                            "novelty_tolerance": "huge", "social_sensitivity": "low"})
